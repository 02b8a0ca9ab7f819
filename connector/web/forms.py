"""Scenario forms generated from a model's pydantic schema, and read back.

Each top-level field of the scenario's JSON Schema becomes one form control (or a small group):
numbers with their range, default and unit; yes/no; dates; text; a mapping with known keys as one
number per key; a list of known values as check boxes; a list of records as rows of sub-fields.
Labels and units come from the model's card (`models.cards`), descriptions from the schema.

Reading a submitted form gives the scenario as a dict and the errors by control name: first
what is not a number, then what the model's own schema refuses, each placed at its field. The
model validates; the form never decides what a valid scenario is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from connector.web.i18n import translator
from models import Model
from models.cards import card
from models.sweeps import MAX_POINTS

LIST_MARK = "_lists"  # hidden inputs naming the list controls present (no box ticked: [])
BLANK_ROWS = 3  # empty rows offered under a list of records


@dataclass
class Control:
    """One input of the form."""

    name: str  # the form field's name (dotted for nested values)
    label: str
    kind: str  # number, integer, boolean, date, text, choice
    unit: str = ""
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    default: Any = None
    value: str = ""
    checked: bool = False
    error: str = ""
    # select: (group label, [(value, label)]); a group without a label is plain options
    options: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    blank: str = ""  # select: the label of the empty first option


@dataclass
class FieldSpec:
    """One scenario field: a control, or a group of them (a mapping, a list)."""

    name: str
    label: str
    kind: str  # scalar, mapping, choices, records, sweep
    help: str = ""
    unit: str = ""
    controls: list[Control] = field(default_factory=list)
    rows: list[list[Control]] = field(default_factory=list)  # records
    error: str = ""


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        return dict(schema.get("$defs", {}).get(ref.rsplit("/", 1)[-1], {}))
    if "anyOf" in node:  # Optional[X]: the non-null branch
        branch: dict[str, Any] = next((b for b in node["anyOf"] if b.get("type") != "null"), {})
        return _resolve(schema, {**branch, **{k: v for k, v in node.items() if k != "anyOf"}})
    return node


def _scalar(name: str, label: str, node: dict[str, Any], unit: str, help: str) -> Control:
    kind = node.get("type", "string")
    if kind == "string" and node.get("format") == "date":
        kind = "date"
    elif kind not in ("number", "integer", "boolean"):
        kind = "text"
    low = node.get("minimum", node.get("exclusiveMinimum"))
    return Control(
        name,
        label,
        kind,
        unit=unit,
        help=help,
        minimum=low,
        maximum=node.get("maximum"),
        exclusive_min="exclusiveMinimum" in node,
        default=node.get("default"),
    )


def specs(model: Model, lang: str) -> list[FieldSpec]:
    """The form's fields for a model, empty (defaults shown as placeholders)."""
    schema = model.params.model_json_schema()
    c = card(model.name)
    out: list[FieldSpec] = []
    for name, raw in schema.get("properties", {}).items():
        node = _resolve(schema, raw)
        label = c.fields[name](lang) if name in c.fields else str(node.get("title", name))
        help = c.helps[name](lang) if name in c.helps else str(raw.get("description", ""))
        unit = c.units.get(name, "")
        options = c.options.get(name, ())
        kind = node.get("type")
        if name == "sweep" and options:
            out.append(_sweep_spec(model, label, options, lang))
        elif kind == "object" and options and isinstance(node.get("additionalProperties"), dict):
            item = _resolve(schema, node["additionalProperties"])
            spec = FieldSpec(name, label, "mapping", help, unit)
            for key in options:
                if item.get("type") == "object":  # a record per key (e.g. U-values per archetype)
                    for sub, sub_node in item.get("properties", {}).items():
                        sub_node = _resolve(schema, sub_node)
                        spec.controls.append(
                            _scalar(f"{name}.{key}.{sub}", f"{key} · {sub}", sub_node, unit, "")
                        )
                else:
                    spec.controls.append(_scalar(f"{name}.{key}", key, item, unit, ""))
            out.append(spec)
        elif kind == "array" and options:
            spec = FieldSpec(name, label, "choices", help, unit)
            default = set(raw.get("default") or _default(model, name) or ())
            spec.controls = [
                Control(name, key, "choice", checked=key in default, value=key) for key in options
            ]
            out.append(spec)
        elif kind == "array" and _resolve(schema, node.get("items", {})).get("type") == "object":
            item = _resolve(schema, node["items"])
            spec = FieldSpec(name, label, "records", help, unit)
            for sub, s in item.get("properties", {}).items():
                title, about = str(s.get("title", sub)), str(s.get("description", ""))
                spec.controls.append(_scalar(sub, title, _resolve(schema, s), "", about))
            out.append(spec)
        elif kind in ("object", "array"):
            continue  # no control without known keys: the model's default applies
        elif "enum" in node:  # one of a few values: a select, the default as its blank
            words = c.choices.get(name, {})
            items = [(str(v), words[v](lang) if v in words else str(v)) for v in node["enum"]]
            preset = str(node.get("default", ""))
            shown = dict(items).get(preset, preset)
            blank = f"{translator(lang)('scenario.default').capitalize()}: {shown}"
            ctl = Control(name, label, "select", unit=unit, help=help, options=[("", items)],
                          blank=blank)  # fmt: skip
            out.append(FieldSpec(name, label, "scalar", help, unit, [ctl]))
        else:
            out.append(
                FieldSpec(
                    name, label, "scalar", help, unit, [_scalar(name, label, node, unit, help)]
                )
            )
    return out


def _sweep_spec(model: Model, label: str, sweepable: tuple[str, ...], lang: str) -> FieldSpec:
    """A sweep over a range (decision 0033): the parameter (a mapping's key as `name.key`,
    labelled with the mapping's label), its first and last value and the step. A list of
    values or a Monte Carlo sample is for the API and the CLI."""
    t, c = translator(lang), card(model.name)
    options: list[tuple[str, list[tuple[str, str]]]] = []
    for name in sweepable:
        head, _, key = name.partition(".")
        words = c.fields[head](lang) if head in c.fields else head
        unit = f" ({c.units[head]})" if c.units.get(head) else ""
        group = words if key else ""  # a mapping's keys under its label
        if not options or options[-1][0] != group or not group:
            options.append((group, []))
        options[-1][1].append((name, f"{key or words}{unit}"))
    parameter = Control("sweep.parameter", t("scenario.sweep.parameter"), "select",
                        options=options, blank=t("scenario.sweep.none"))  # fmt: skip
    bounds = [Control(f"sweep.{k}", t(f"scenario.sweep.{k}"), "number")
              for k in ("start", "stop", "step")]  # fmt: skip
    return FieldSpec("sweep", label, "sweep", t("scenario.sweep.help"), "", [parameter, *bounds])


def _default(model: Model, name: str) -> Any:
    try:
        return getattr(model.params(), name)
    except ValidationError:
        return None


def fill(fields: list[FieldSpec], params: Mapping[str, Any]) -> None:
    """Show a scenario's values (a re-run, or a form sent back with errors)."""
    values = _flatten(params)
    for spec in fields:
        if spec.kind == "choices":
            chosen = set(params.get(spec.name) or []) if spec.name in params else None
            for ctl in spec.controls:
                if chosen is not None:
                    ctl.checked = ctl.value in chosen
        elif spec.kind == "records":
            rows = list(params.get(spec.name) or [])
            spec.rows = []
            for i in range(len(rows) + BLANK_ROWS):
                row = []
                for tpl in spec.controls:
                    ctl = Control(**{**tpl.__dict__, "name": f"{spec.name}.{i}.{tpl.name}"})
                    ctl.value = _text(values.get(ctl.name))
                    row.append(ctl)
                spec.rows.append(row)
        else:
            for ctl in spec.controls:
                v = values.get(ctl.name)
                if ctl.kind == "boolean":
                    ctl.checked = bool(v) if v is not None else bool(ctl.default)
                elif v is None and ctl.kind == "date" and ctl.default:
                    ctl.value = str(ctl.default)  # a date field shows no placeholder
                else:
                    ctl.value = _text(v)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flatten(v, f"{prefix}{k}.")
        return out
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        out = {}
        for i, v in enumerate(value):
            out |= _flatten(v, f"{prefix}{i}.")
        return out
    return {prefix[:-1]: value}


# pydantic's error types in Italian (a validator's own message stays as the model wrote it).
ITALIAN = {
    "less_than_equal": "deve essere al massimo {le}",
    "less_than": "deve essere minore di {lt}",
    "greater_than_equal": "deve essere almeno {ge}",
    "greater_than": "deve essere maggiore di {gt}",
    "int_parsing": "deve essere un numero intero",
    "int_from_float": "deve essere un numero intero",
    "float_parsing": "deve essere un numero",
    "date_from_datetime_parsing": "deve essere una data (AAAA-MM-GG)",
    "missing": "obbligatorio",
    "string_too_short": "troppo corto (almeno {min_length} caratteri)",
    "string_too_long": "troppo lungo (al massimo {max_length} caratteri)",
    "too_long": "troppi elementi (al massimo {max_length})",
    "extra_forbidden": "campo sconosciuto",
}
# A sweep's own refusals (models/sweeps.py) that the form can lead to, in Italian.
SWEEP_ITALIAN = {
    "a range needs start, stop and step": "servono primo valore, ultimo valore e passo",
    "the sweep has no scenario": "la serie non ha scenari: l'ultimo valore precede il primo",
    f"a sweep has at most {MAX_POINTS} scenarios": f"una serie ha al massimo {MAX_POINTS} scenari",
}
NOT_A_NUMBER = {"it": "'{text}' non è un numero", "en": "'{text}' is not a number"}
NOT_A_DATE = {
    "it": "'{text}' non è una data (AAAA-MM-GG)",
    "en": "'{text}' is not a date (YYYY-MM-DD)",
}


def _message(error: Mapping[str, Any], lang: str) -> str:
    if lang == "it" and error.get("type") in ITALIAN:
        try:
            ctx = {k: f"{v:g}" if isinstance(v, float) else v
                   for k, v in (error.get("ctx") or {}).items()}  # fmt: skip
            return ITALIAN[str(error["type"])].format(**ctx)
        except (KeyError, IndexError):
            pass
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return SWEEP_ITALIAN.get(message, message) if lang == "it" else message


def read(
    model: Model, fields: list[FieldSpec], form: Mapping[str, list[str]], lang: str = "en"
) -> tuple[dict[str, Any], dict[str, str]]:
    """The scenario a submitted form describes, and the errors by control name (a field's
    name for errors about the whole field, "" for errors about the whole scenario)."""
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    lists = set(form.get(LIST_MARK, []))

    def one(name: str) -> str:
        got = form.get(name) or [""]
        return got[-1].strip()

    def number(ctl: Control, text: str) -> Any:
        try:
            return int(text) if ctl.kind == "integer" else float(text.replace(",", "."))
        except ValueError:
            errors[ctl.name] = NOT_A_NUMBER[lang].format(text=text)
            return None

    for spec in fields:
        if spec.kind == "scalar":
            ctl = spec.controls[0]
            text = one(ctl.name)
            if ctl.kind == "boolean":
                params[spec.name] = text == "true"
            elif text == "":
                continue
            elif ctl.kind in ("number", "integer"):
                params[spec.name] = number(ctl, text)
            elif ctl.kind == "date":
                try:
                    params[spec.name] = date.fromisoformat(text).isoformat()
                except ValueError:
                    errors[ctl.name] = NOT_A_DATE[lang].format(text=text)
            else:
                params[spec.name] = text
        elif spec.kind == "mapping":
            mapping: dict[str, Any] = {}
            for ctl in spec.controls:
                text = one(ctl.name)
                if text == "":
                    continue
                path = ctl.name.split(".")[1:]
                target = mapping
                for key in path[:-1]:
                    target = target.setdefault(key, {})
                target[path[-1]] = number(ctl, text)
            if mapping:
                params[spec.name] = mapping
        elif spec.kind == "choices":
            if spec.name in lists:
                params[spec.name] = [v for v in form.get(spec.name, []) if v]
        elif spec.kind == "sweep":  # no parameter chosen: one scenario, whatever else is typed
            chosen = one("sweep.parameter")
            if chosen:
                sweep: dict[str, Any] = {"parameter": chosen}
                for ctl in spec.controls[1:]:
                    text = one(ctl.name)
                    if text != "":
                        sweep[ctl.name.split(".")[1]] = number(ctl, text)
                params["sweep"] = sweep
        else:  # records: rows whose every cell is blank are skipped
            rows = []
            i = 0
            while any(f"{spec.name}.{i}.{c.name}" in form for c in spec.controls):
                row: dict[str, Any] = {}
                for tpl in spec.controls:
                    name = f"{spec.name}.{i}.{tpl.name}"
                    text = one(name)
                    if text == "":
                        continue
                    if tpl.kind in ("number", "integer"):
                        row[tpl.name] = number(Control(**{**tpl.__dict__, "name": name}), text)
                    else:
                        row[tpl.name] = text
                if row:
                    rows.append(row)
                i += 1
            if rows:
                params[spec.name] = rows
    if errors:
        return params, errors
    try:
        return model.parse(params).model_dump(mode="json"), {}
    except ValidationError as exc:
        known = {c.name for s in fields for c in s.controls} | {s.name for s in fields}
        known |= {c.name for s in fields for row in s.rows for c in row}
        for e in exc.errors():
            loc = [str(p) for p in e["loc"]]
            name = ".".join(loc)
            while name and name not in known:
                loc = loc[:-1]
                name = ".".join(loc)
            message = _message(e, lang)
            errors[name] = f"{errors[name]}; {message}" if name in errors else message
        return params, errors


def place(fields: list[FieldSpec], errors: Mapping[str, str]) -> None:
    """Put each error at its control, or at its field."""
    for spec in fields:
        spec.error = errors.get(spec.name, "")
        for ctl in [*spec.controls, *(c for row in spec.rows for c in row)]:
            if ctl.name in errors and (ctl.name != spec.name or spec.kind == "scalar"):
                ctl.error = errors[ctl.name]


def echo(fields: list[FieldSpec], form: Mapping[str, list[str]]) -> None:
    """Show what was typed, as typed (a form sent back with errors keeps the reader's text)."""
    for spec in fields:
        for ctl in [*spec.controls, *(c for row in spec.rows for c in row)]:
            if ctl.kind in ("boolean", "choice"):
                continue
            got = form.get(ctl.name)
            if got:
                ctl.value = got[-1]


def summary(model: Model, params: Mapping[str, Any], lang: str) -> list[str]:
    """A scenario in words: each field that differs from the model's default, with its label
    and unit (an empty list: the defaults, i.e. the baseline)."""
    try:
        defaults = model.params().model_dump(mode="json")
    except ValidationError:
        defaults = {}
    c = card(model.name)
    out = []
    for name, value in params.items():
        if value == defaults.get(name) or value in (None, [], {}):
            continue
        label = c.fields[name](lang) if name in c.fields else name
        unit = c.units.get(name, "")
        if isinstance(value, dict):
            text = ", ".join(f"{k} {_text(v)}" for k, v in value.items() if v not in (None, [], {}))
        elif isinstance(value, list):
            text = "; ".join(
                ", ".join(f"{_text(x)}" for x in v.values()) if isinstance(v, dict) else str(v)
                for v in value
            )
        elif isinstance(value, bool):
            text = ("sì" if value else "no") if lang == "it" else ("yes" if value else "no")
        elif isinstance(value, str) and value in c.choices.get(name, {}):
            text = c.choices[name][value](lang)
        else:
            text = _text(value)
        out.append(f"{label}: {text}{f' {unit}' if unit and not isinstance(value, list) else ''}")
    return out
