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

`ogc_endpoints` serves them under `/ogcapi`, with a job's status, its results (the areas as
GeoJSON, the rest as JSON, a link to the W3C PROV provenance) and the OpenAPI 3.0 definition of
the face (`openapi30`, from the app's own OpenAPI 3.1 document).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from connector.errors import BadRequest, Conflict, NotFound
from connector.gateway import readable
from connector.gateway.gazetteer import Area
from connector.storage.tables import FederatedJob
from connector.timestamps import as_utc
from models.base import Model
from models.cards import Words, card, caveats
from policy.vocabulary import PURPOSES
from privacy import EPSILON_UNIT

CONFORMANCE_BASE = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
DROPPED = ("$schema", "examples", "$id", "$comment")


def oas30(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pydantic JSON Schema (2020-12) as an OpenAPI 3.0 schema object, `$defs` inlined."""
    defs = {**(defs or {}), **schema.get("$defs", {})}
    if str(schema.get("$ref", "")).startswith("#/components/"):
        return {"$ref": schema["$ref"]}  # a component of the API document: kept (no siblings)
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


# --- jobs --------------------------------------------------------------------------------------

EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
REL_RESULTS = "http://www.opengis.net/def/rel/ogc/1.0/results"
REL_PROV = "http://www.w3.org/ns/prov#has_provenance"  # W3C PROV-AQ's link relation
# The gateway's job states, as OGC status codes (a partial result is a result: its message
# says which holder is missing).
STATUS = {
    "running": "running",
    "succeeded": "successful",
    "partial": "successful",
    "failed": "failed",
    "dismissed": "dismissed",
}


class NoSuchProcess(NotFound):
    """An unknown process id (the standard's exception type)."""

    @property
    def type_uri(self) -> str:
        return EXCEPTIONS + "no-such-process"


class NoSuchJob(NotFound):
    """An unknown job, or another person's."""

    @property
    def type_uri(self) -> str:
        return EXCEPTIONS + "no-such-job"


class ResultNotReady(NotFound):
    """The job is still running."""

    @property
    def type_uri(self) -> str:
        return EXCEPTIONS + "result-not-ready"


class JobFailed(Conflict):
    """The job ended without results (failed, refused by a holder, or dismissed)."""

    title, status, slug = "Job failed", 409, "job-failed"


class InvalidInput(BadRequest):
    """An execute request whose inputs the process does not take."""

    title, status, slug = "Invalid input", 400, "invalid-input"


def _iso(value: Any) -> str:
    return as_utc(value).isoformat()


def status_code(job: FederatedJob) -> str:
    """The job's OGC status: `accepted` until a holder has been asked."""
    if job.state == "running" and not job.holders:
        return "accepted"
    return STATUS.get(job.state, "failed")


def message(job: FederatedJob) -> str:
    """The status in words: the stage under way, who is missing, or why it failed."""
    if job.state == "running":
        holders = [h for h in job.holders if h.get("stage") == _stage_name(job)]
        busy = ", ".join(f"{h.get('partner')} {h.get('state')}" for h in holders)
        return f"stage {job.stage + 1} ({_stage_name(job)})" + (f": {busy}" if busy else "")
    if job.state == "partial":
        return f"partial result, a holder did not answer: {job.error}"
    if job.state == "succeeded":
        return "every holder answered"
    return job.error or job.state


def _stage_name(job: FederatedJob) -> str:
    names = list(dict.fromkeys(str(h.get("stage")) for h in job.holders))
    return names[-1] if names else "starting"


def job_links(job: FederatedJob, base: str, root: str) -> list[dict[str, Any]]:
    """Self, and once it succeeded, the results and the PROV provenance."""
    links = [{"href": f"{base}/jobs/{job.id}", "rel": "self", "type": "application/json",
              "title": "this job's status"}]  # fmt: skip
    if STATUS.get(job.state) == "successful":
        links.append({"href": f"{base}/jobs/{job.id}/results", "rel": REL_RESULTS,
                      "type": "application/json", "title": "the job's results"})  # fmt: skip
    if job.provenance is not None:
        links.append(provenance_link(job, root))
    return links


def provenance_link(job: FederatedJob, root: str) -> dict[str, Any]:
    """The result's W3C PROV-O document (JSON-LD; Turtle on request)."""
    return {"href": f"{root}/jobs/{job.id}/provenance", "rel": REL_PROV,
            "type": "application/ld+json",
            "title": "W3C PROV-O provenance of the result"}  # fmt: skip


def status_info(job: FederatedJob, base: str, root: str, percent: float) -> dict[str, Any]:
    """A job's status document (`statusInfo.yaml`)."""
    info: dict[str, Any] = {
        "processID": job.model,
        "type": "process",
        "jobID": job.id,
        "status": status_code(job),
        "message": message(job)[:2000],
        "created": _iso(job.created_at),
        "updated": _iso(job.updated_at),
        "progress": int(percent),
        "links": job_links(job, base, root),
    }
    if job.holders:
        info["started"] = _iso(job.created_at)
    if job.finished_at is not None:
        info["finished"] = _iso(job.finished_at)
    return info


def job_list(infos: list[dict[str, Any]], base: str) -> dict[str, Any]:
    """The caller's jobs (`jobList.yaml`)."""
    return {"jobs": infos, "links": [{"href": f"{base}/jobs", "rel": "self",
                                      "type": "application/json"}]}  # fmt: skip


def split_inputs(inputs: dict[str, Any]) -> tuple[str, float, dict[str, Any]]:
    """An execute request's inputs as the job's purpose, ε and scenario. A value may be given
    bare or qualified (`{"value": ..., "mediaType": ...}`); inputs by reference are refused
    (the connector fetches nothing on a caller's behalf)."""
    plain: dict[str, Any] = {}
    for name, given in inputs.items():
        if isinstance(given, dict) and "href" in given and "value" not in given:
            raise InvalidInput(f"input '{name}': inputs by reference are not supported; send "
                               "the value")  # fmt: skip
        if isinstance(given, dict) and "value" in given and set(given) <= QUALIFIED:
            given = given["value"]
        plain[name] = given
    purpose = plain.pop("purpose", None)
    if not isinstance(purpose, str) or not purpose:
        raise InvalidInput("input 'purpose' is required: why the run is made, e.g. research")
    epsilon = plain.pop("epsilon", 1.0)
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float):
        raise InvalidInput(f"input 'epsilon' must be a number, not {json.dumps(epsilon)[:40]}")
    return purpose, float(epsilon), plain


QUALIFIED = {"value", "mediaType", "encoding", "schema"}


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities as null, numpy numbers as Python ones."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if all(type(v) is float for v in value):  # a chart's series: the common, long case
            return [v if math.isfinite(v) else None for v in value]
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def field_name(key: str) -> str:
    """A short GIS field name for a figure's run: `alarm-hours.change` -> `alarm_hours_change`."""
    return re.sub(r"[^0-9A-Za-z_]", "_", key.replace(".", "_"))


def area_collection(reading: readable.Reading, areas: Sequence[Area]) -> str:
    """The statistical areas as a GeoJSON FeatureCollection (JSON text) whose properties are
    each figure's baseline, scenario and change under short field names (`vkm_baseline`), as
    GIS tools want them; `figures.fields` names them in words, with units. The outlines'
    JSON is made once per process (it is most of the document, and the same in every result)."""
    by_code = {r["code"]: r for r in readable.area_rows(reading, areas)}
    features = []
    for a in sorted(areas, key=lambda a: a.code):
        row = by_code.get(a.code)
        if row is None:
            continue
        props = {"code": a.code, "name": a.name, "district": a.district}
        props |= {field_name(k): v for k, v in row.items() if k not in props}
        features.append(
            f'{{"type":"Feature","id":{a.code},"geometry":{_geometry(a.outline)},'
            f'"properties":{_dump(props)}}}'
        )
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


@cache
def _geometry(outline: tuple[tuple[tuple[float, float], ...], ...]) -> str:
    """An outline as GeoJSON MultiPolygon text, lon/lat to 7 decimals (about a centimetre)."""
    rings = [[[[round(x, 7), round(y, 7)] for x, y in ring]] for ring in outline]
    return _dump({"type": "MultiPolygon", "coordinates": rings})


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _words(w: Words) -> dict[str, str]:
    return {"it": w.it, "en": w.en}


def figures(
    job: FederatedJob, model: Model, reading: readable.Reading, areas: Sequence[Area],
    synthetic: list[str],
) -> dict[str, Any]:  # fmt: skip
    """The result's other figures: the run, the headline figures, the fields of the areas'
    GeoJSON in words and units, each district (quartiere), and the chart series."""
    fields = {}
    for f in reading.areas:
        runs = ("baseline", "scenario", "change") if f.baseline is not None else ("scenario",)
        for run in runs:
            fields[field_name(f"{f.key}.{run}")] = {"title": _words(f.label), "run": run,
                                                "unit": f.unit}  # fmt: skip
    districts = [{field_name(k): v for k, v in row.items()}
                 for row in readable.by_district(reading, areas)]  # fmt: skip
    return _finite({
        "process": {"id": model.name, "version": model.version, "hash": job.model_hash},
        "scenario": job.params,
        "purpose": job.purpose,
        "epsilon": job.epsilon,
        "state": job.state,
        "synthetic_inputs": synthetic,
        "caveats": caveats(model.name),
        "headline": [{"title": _words(h.label), "unit": h.unit, "baseline": h.baseline,
                      "scenario": h.scenario} for h in reading.headline],
        "fields": fields,
        "districts": districts,
        "charts": [{"key": c.key, "title": _words(c.title), "x_label": _words(c.x_label),
                    "y_label": _words(c.y_label), "kind": c.kind, "x": c.x,
                    "series": [{"label": _words(s.label), "run": s.run, "values": s.values}
                               for s in c.series]} for c in reading.charts],
    })  # fmt: skip


OUTPUTS = ("areas", "figures")
MEDIA = {"areas": "application/geo+json", "figures": "application/json"}


def results(
    job: FederatedJob, model: Model, areas: Sequence[Area], root: str, synthetic: list[str],
    chosen: Sequence[str] = OUTPUTS, raw: bool = False,
) -> str:  # fmt: skip
    """The results document (`results.yaml`) as JSON text: the areas (GeoJSON), the figures
    (JSON) and the provenance (a link); with `raw`, the one chosen output's value alone."""
    reading = readable.read(job.model, job.params, (job.result or {}).get("outputs"))
    values = {
        "areas": lambda: area_collection(reading, areas),
        "figures": lambda: _dump(figures(job, model, reading, areas, synthetic)),
    }
    if raw:
        return values[chosen[0]]()
    parts = [f'"{name}":{{"value":{values[name]()},"mediaType":"{MEDIA[name]}"}}'
             for name in OUTPUTS if name in chosen]  # fmt: skip
    parts.append(f'"provenance":{_dump(provenance_link(job, root))}')
    return "{" + ",".join(parts) + "}"


# --- the API definition ------------------------------------------------------------------------

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def openapi30(full: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The OpenAPI 3.0 definition of the paths under `prefix`, from the app's OpenAPI 3.1
    document: every schema converted by `oas30`, and only the components they use."""
    paths: dict[str, Any] = {}
    for path, item in full.get("paths", {}).items():
        if not path.startswith(prefix):
            continue
        paths[path] = {m: _operation(op) for m, op in item.items() if m in METHODS}
    comps = full.get("components", {})
    schemas = comps.get("schemas", {})
    used: set[str] = set()
    todo = _refs(paths)
    while todo:
        name = todo.pop()
        if name in used or name not in schemas:
            continue
        used.add(name)
        todo |= _refs(schemas[name])
    components: dict[str, Any] = {"schemas": {n: oas30(schemas[n]) for n in sorted(used)}}
    if "securitySchemes" in comps:
        components["securitySchemes"] = comps["securitySchemes"]
    return {
        "openapi": "3.0.3",
        "info": {
            **full.get("info", {}),
            "title": full.get("info", {}).get("title", "") + " — OGC API - Processes",
        },  # fmt: skip
        "paths": paths,
        "components": components,
    }


def _refs(node: Any) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(node)))


def _operation(op: dict[str, Any]) -> dict[str, Any]:
    out = dict(op)
    params = op.get("parameters", [])
    out["parameters"] = [{**p, "schema": oas30(p["schema"])} if "schema" in p else p
                         for p in params]  # fmt: skip
    if not out["parameters"]:
        del out["parameters"]
    if "requestBody" in op:
        out["requestBody"] = _content(op["requestBody"])
    out["responses"] = {code: _content(r) for code, r in op.get("responses", {}).items()}
    return out


def _content(part: dict[str, Any]) -> dict[str, Any]:
    if "content" not in part:
        return part
    return {**part, "content": {media: {**body, "schema": oas30(body["schema"])}
                                if "schema" in body else body
                                for media, body in part["content"].items()}}  # fmt: skip
