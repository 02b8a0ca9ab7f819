"""OGC API – Processes documents for the installed models (issue 30, first part).

One process per installed model version: its id is the model's name, its version the model's,
its inputs the fields of the model's pydantic scenario, described as OpenAPI 3.0 schema
objects (what the standard's `schema.yaml` allows), plus the run's `purpose` (required, as for
`POST /jobs`) and its `epsilon`. Its outputs are the per-area figures as a GeoJSON
FeatureCollection of the statistical areas and the other figures as JSON.

Pydantic writes JSON Schema 2020-12; OGC API – Processes 1.0 describes inputs with OpenAPI
3.0 schema objects. `oas30` converts: `$defs` inlined, a numeric `exclusiveMinimum` becomes
`minimum` with `exclusiveMinimum: true`, `anyOf [X, null]` becomes X with `nullable: true`,
and keywords OpenAPI 3.0 lacks (`const`, `$schema`, `examples`) are dropped or rewritten.

The HTTP face (`/ogcapi`) is not built yet; these documents are what it will serve.
"""

from __future__ import annotations

from typing import Any

from models.base import Model
from models.cards import card
from policy.vocabulary import PURPOSES
from privacy import EPSILON_UNIT

CONFORMANCE_BASE = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
DROPPED = ("$schema", "examples", "$id", "$comment")


def oas30(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pydantic JSON Schema (2020-12) as an OpenAPI 3.0 schema object, `$defs` inlined."""
    defs = {**(defs or {}), **schema.get("$defs", {})}
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        merged = {**defs[name], **{k: v for k, v in schema.items() if k != "$ref"}}
        return oas30(merged, defs)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in DROPPED or key == "$defs":
            continue
        if key == "anyOf":
            kept = [v for v in value if v.get("type") != "null"]
            if len(kept) < len(value):
                out["nullable"] = True
            if len(kept) == 1:
                out.update(oas30(kept[0], defs))
            else:
                out["anyOf"] = [oas30(v, defs) for v in kept]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "const":
            out["enum"] = [value]
        elif key in ("properties", "patternProperties"):
            out[key] = {k: oas30(v, defs) for k, v in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = oas30(value, defs)
        elif key in ("allOf", "oneOf"):
            out[key] = [oas30(v, defs) for v in value]
        else:
            out[key] = value
    return out


def _input(schema: dict[str, Any], title: str, description: str, required: bool) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "minOccurs": 1 if required else 0,
        "maxOccurs": 1,
        "schema": schema,
    }


def inputs(model: Model) -> dict[str, Any]:
    """The process's inputs: `purpose`, `epsilon`, then every field of the scenario."""
    full = model.params.model_json_schema()
    defs = full.get("$defs", {})
    needed = set(full.get("required", []))
    out = {
        "purpose": _input(
            {"type": "string", "enum": list(PURPOSES)},
            "Purpose",
            "why the run is made; every input holder's usage policy decides on it",
            True,
        ),
        "epsilon": _input(
            {"type": "number", "minimum": EPSILON_UNIT, "default": 1.0},
            "Privacy budget (ε)",
            "the ε the run may spend on each protected dataset it reads",
            False,
        ),
    }
    for name, prop in full.get("properties", {}).items():
        schema = oas30(prop, defs)
        title = str(schema.pop("title", name))
        description = str(schema.pop("description", ""))
        out[name] = _input(schema, title, description, name in needed)
    return out


def outputs() -> dict[str, Any]:
    """The process's outputs (the same for every model)."""
    return {
        "areas": {
            "title": "Figures per statistical area",
            "description": "a GeoJSON FeatureCollection of Bologna's 90 statistical areas, "
            "with each per-area figure as baseline, scenario and change",
            "schema": {"type": "object", "contentMediaType": "application/geo+json"},
        },
        "figures": {
            "title": "Other figures",
            "description": "headline figures, series and tables, with their units",
            "schema": {"type": "object", "contentMediaType": "application/json"},
        },
    }


def summary(model: Model, base: str) -> dict[str, Any]:
    """A process summary (for the process list)."""
    c = card(model.name)
    return {
        "id": model.name,
        "version": model.version,
        "title": c.title("en"),
        "description": c.method("en"),
        "keywords": [model.name, model.hash],
        "jobControlOptions": ["async-execute", "sync-execute"],
        "outputTransmission": ["value"],
        "links": [
            {
                "href": f"{base}/processes/{model.name}",
                "rel": "self",
                "type": "application/json",
                "title": "process description",
            }
        ],
    }


def description(model: Model, base: str) -> dict[str, Any]:
    """A process description: the summary, the inputs and the outputs."""
    return {**summary(model, base), "inputs": inputs(model), "outputs": outputs()}


def process_list(models: list[Model], base: str) -> dict[str, Any]:
    """The list of processes."""
    return {
        "processes": [summary(m, base) for m in models],
        "links": [{"href": f"{base}/processes", "rel": "self", "type": "application/json"}],
    }


def conformance(classes: tuple[str, ...]) -> dict[str, Any]:
    """The conformance declaration: only the classes implemented and tested."""
    return {"conformsTo": [CONFORMANCE_BASE + c for c in classes]}


def landing(base: str, title: str) -> dict[str, Any]:
    """The landing page."""
    return {
        "title": title,
        "description": "The federated what-if models of the Bologna digital twin, run where "
        "the data is held, under each holder's usage policy, with DP-protected outputs.",
        "links": [
            {"href": base, "rel": "self", "type": "application/json"},
            {
                "href": f"{base}/api",
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
            },  # fmt: skip
            {
                "href": f"{base}/conformance",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                "type": "application/json",
            },  # fmt: skip
            {
                "href": f"{base}/processes",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
                "type": "application/json",
            },  # fmt: skip
        ],
    }
