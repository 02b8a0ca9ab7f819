"""`gemello run` (a federated model run through your own connector, with live progress per
partner), `gemello jobs` (follow, show, fetch reports) and `gemello models` (what is installed,
with the code hashes policies name)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from connector.cli.kit import (
    HomeOpt,
    JsonOpt,
    TokenOpt,
    UrlOpt,
    YourPartnerOpt,
    connector_target,
    fail,
    out,
    print_json,
    short,
    unique_prefix,
)
from connector.terminal import STATE_STYLE, follow, progress_table, show_summary

if TYPE_CHECKING:
    import httpx
    from pydantic import BaseModel

jobs_app = typer.Typer(help="Federated model runs this connector drove: list, show, report.")


def _call(method: str, url: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    import httpx

    try:
        resp = httpx.request(method, url, headers=headers, timeout=60, **kw)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {url}: {exc}") from None
    if resp.status_code >= 400:
        try:
            doc = resp.json()
            raise fail(f"{doc.get('title', resp.status_code)}: {doc.get('detail')}", 3)
        except ValueError:
            raise fail(f"{url} answered {resp.status_code}", 3) from None
    return resp


def _value(text: str) -> Any:
    """A --param value: JSON when it parses (numbers, lists, objects), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(items: list[str]) -> dict[str, Any]:
    """`k=v` pairs into a scenario; `a.b=v` sets a nested key."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise fail(f"--param '{item}': write NAME=VALUE (VALUE may be JSON)")
        target = params
        *parents, leaf = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = _value(raw)
    return params


def run(
    model: Annotated[str, typer.Argument(help="an installed model (see `gemello models`)")],
    purpose: Annotated[str, typer.Option(help="why: research, public-policy, planning...")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="scenario NAME=VALUE, VALUE may be JSON (repeatable)"),
    ] = None,
    epsilon: Annotated[float, typer.Option(help="budget each protected dataset spends")] = 1.0,
    report: Annotated[Path | None, typer.Option(help="write the HTML report here")] = None,
    partner: YourPartnerOpt = "unibo",
    url: UrlOpt = None,
    token: TokenOpt = None,
    detach: Annotated[bool, typer.Option(help="print the job id and return")] = False,
    home: HomeOpt = None,
) -> None:
    """Run a model across the federation through your own connector, with live progress.

    Exit code 0 when every holder answered, 4 for a partial result, 3 when it failed."""
    base, headers = connector_target(partner, url, token, home)
    body = {
        "model": model,
        "params": parse_params(param or []),
        "purpose": purpose,
        "epsilon": epsilon,
    }
    job = _call("POST", f"{base}/jobs", headers, json=body).json()
    if detach:
        out.print(job["id"])
        return
    out.print(f"job {job['id']} ({model}, purpose {purpose})")
    job = follow(base, headers, job["id"])
    show_summary(job)
    if report is not None and job["state"] != "failed":
        report.write_text(_call("GET", f"{base}/jobs/{job['id']}/report", headers).text)
        out.print(f"report: {report}")
    if job["state"] == "failed":
        raise typer.Exit(3)
    if job["state"] == "partial":
        raise typer.Exit(4)


@jobs_app.command("list")
def list_jobs(
    partner: YourPartnerOpt = "unibo",
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Your latest jobs on your connector."""
    base, headers = connector_target(partner, url, token, home)
    jobs = _call("GET", f"{base}/jobs", headers).json()
    if as_json:
        print_json(jobs)
        return
    table = Table(title="Federated jobs")
    for name in ("id", "model", "purpose", "state", "created (UTC)"):
        table.add_column(name)
    for job in jobs:
        table.add_row(
            short(job["id"].removeprefix("job-")),
            job["model"],
            job["purpose"],
            STATE_STYLE.get(job["state"], job["state"]),
            job["created_at"][:19],
        )
    out.print(table)


def _job_id(base: str, headers: dict[str, str], given: str) -> str:
    """A full job id from its first characters (after `job-`, or with it)."""
    if given.startswith("job-") and len(given) == 40:
        return given
    ids = [j["id"] for j in _call("GET", f"{base}/jobs", headers, params={"limit": 500}).json()]
    stripped = {i.removeprefix("job-"): i for i in ids}
    return stripped[unique_prefix(given.removeprefix("job-"), list(stripped), "job of yours")]


@jobs_app.command("show")
def show_job(
    job_id: Annotated[str, typer.Argument(help="job-… (or its first characters)")],
    follow_: Annotated[bool, typer.Option("--follow", help="wait for it to end")] = False,
    partner: YourPartnerOpt = "unibo",
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """A job's holders and result (optionally following it live)."""
    base, headers = connector_target(partner, url, token, home)
    job_id = _job_id(base, headers, job_id)
    if follow_ and not as_json:
        job = follow(base, headers, job_id)
    else:
        params = {"wait": 30} if follow_ else {}
        job = _call("GET", f"{base}/jobs/{job_id}", headers, params=params).json()
        if as_json:
            print_json(job)
            return
        out.print(progress_table(job))
    show_summary(job)


@jobs_app.command("report")
def job_report(
    job_id: Annotated[str, typer.Argument(help="job-… (or its first characters)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")],
    provenance: Annotated[Path | None, typer.Option(help="also write the PROV-O (Turtle)")] = None,
    partner: YourPartnerOpt = "unibo",
    url: UrlOpt = None,
    token: TokenOpt = None,
    home: HomeOpt = None,
) -> None:
    """Save a job's HTML report (plots, holders, provenance), and its provenance as Turtle."""
    base, headers = connector_target(partner, url, token, home)
    job_id = _job_id(base, headers, job_id)
    output.write_text(_call("GET", f"{base}/jobs/{job_id}/report", headers).text)
    out.print(f"report: {output}")
    if provenance is not None:
        ttl = _call("GET", f"{base}/jobs/{job_id}/provenance", headers | {"Accept": "text/turtle"})
        provenance.write_text(ttl.text)
        out.print(f"provenance: {provenance}")


@jobs_app.command("publish")
def publish_job(
    job_id: Annotated[str, typer.Argument(help="job-… (or its first characters)")],
    title: Annotated[str, typer.Option(help="the public page's title (at least 5 characters)")],
    note: Annotated[str, typer.Option(help="what the result shows, in words")] = "",
    partner: YourPartnerOpt = "unibo",
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Publish a finished run on your connector's public portal, for anyone to read: its
    released (noised) results and provenance, without your name. Each input dataset's holder
    decides under its policy (results from personal data are refused unless it allows them)."""
    base, headers = connector_target(partner, url, token, home)
    job_id = _job_id(base, headers, job_id)
    made = _call(
        "POST", f"{base}/jobs/{job_id}/publications", headers, json={"title": title, "note": note}
    ).json()
    if as_json:
        print_json(made)
        return
    out.print(f"published: {made['url']}")
    for d in made["decisions"]:
        out.print(f"  {d['partner']} · {d['dataset']}: allowed ({d['decision_id']})")


def models(
    name: Annotated[
        str | None, typer.Argument(help="a model: list its scenario parameters")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The models installed here, with the code hash a policy names to allow each.

    With a model's name: its scenario parameters, with types, defaults, ranges and meaning
    (what `gemello run NAME --param NAME=VALUE` accepts)."""
    from models import MODELS

    if name is not None:
        model = MODELS.get(name)
        if model is None:
            raise fail(f"no model '{name}'; installed: {', '.join(MODELS)}")
        if as_json:
            print_json(model.params.model_json_schema())
            return
        out.print(parameter_table(model.name, model.version, model.params))
        return
    if as_json:
        print_json(
            [
                {"name": m.name, "version": m.version, "title": m.title, "hash": m.hash,
                 "stages": [{"name": s.name, "datasets": list(s.datasets)} for s in m.stages]}
                for m in MODELS.values()
            ]
        )  # fmt: skip
        return
    table = Table(title="Installed models")
    for column in ("name", "version", "stages (datasets)", "code hash"):
        table.add_column(column, overflow="fold")
    for m in MODELS.values():
        stages = "; ".join(f"{s.name} ({', '.join(s.datasets)})" for s in m.stages)
        table.add_row(m.name, m.version, stages, m.hash)
    out.print(table)
    out.print("[dim]`gemello models NAME` lists a model's scenario parameters.[/]")


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A JSON-schema property's type, as a researcher writes it on the command line."""
    if "$ref" in prop:
        ref = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
        fields = ", ".join(ref.get("properties", {}))
        return f"{{{fields}}}"
    if "anyOf" in prop:
        return " | ".join(_type(p, defs) for p in prop["anyOf"] if p.get("type") != "null")
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}), defs)}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"{{name: {_type(prop['additionalProperties'], defs)}}}"
    return {"number": "float", "integer": "int", "boolean": "bool", "string": "text"}.get(
        kind, str(kind)
    ) + (f" ({prop['format']})" if "format" in prop else "")


def _number(x: float) -> str:
    if not float(x).is_integer():
        return f"{x:g}"
    return f"{int(x):,}" if abs(x) >= 100_000 else str(int(x))


def _range(prop: dict[str, Any]) -> str:
    low = (f"≥ {_number(prop['minimum'])}" if "minimum" in prop else "") or (
        f"> {_number(prop['exclusiveMinimum'])}" if "exclusiveMinimum" in prop else ""
    )
    high = f"≤ {_number(prop['maximum'])}" if "maximum" in prop else ""
    items = f"at most {prop['maxItems']} items" if "maxItems" in prop else ""
    return ", ".join(p for p in (low, high, items) if p)


def parameter_table(name: str, version: str, params: type[BaseModel]) -> Table:
    """A model's scenario (its parameters' JSON schema and defaults) as a table."""
    from pydantic_core import to_json

    schema = params.model_json_schema()
    table = Table(title=f"{name} {version}: {schema.get('description', '')}", title_justify="left")
    for column in ("parameter", "type", "default", "range", "meaning"):
        table.add_column(column, overflow="fold")
    defs = schema.get("$defs", {})
    for key, prop in schema.get("properties", {}).items():
        field = params.model_fields[key]
        default = (
            "required"
            if field.is_required()
            else to_json(field.get_default(call_default_factory=True)).decode()
        )
        table.add_row(key, _type(prop, defs), default, _range(prop), prop.get("description", ""))
    return table
