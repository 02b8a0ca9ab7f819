"""Scenarios in the console: a model's form (generated from its schema), the run's live
progress (server-sent events), its result (maps, districts, every area, charts, caveats,
provenance, downloads), and a side-by-side comparison of runs.

The pages ask the gateway (`gateway.jobs`) and read results through `gateway.readable`; the
same roles as `POST /jobs` may run and see runs.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from connector.errors import BadRequest, NotFound
from connector.gateway import index, publications, readable, report, shares
from connector.gateway import jobs as gateway_jobs
from connector.gateway.gazetteer import Gazetteer
from connector.gateway.jobs import JOB_USERS, job_view
from connector.identity.sessions import SignedIn
from connector.runtime import get_connector
from connector.storage import session_scope
from connector.storage.tables import FederatedJob
from connector.web import charts, forms, i18n
from connector.web.maps import choropleth, city_map
from connector.web.security import PREFIX, console
from connector.web.shell import language, render
from models import Model, get
from models.cards import card
from models.registry import EXAMPLES, MODELS
from policy.vocabulary import PURPOSES
from privacy import EPSILON_UNIT

runs = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[console(*JOB_USERS)])
EVENT_EVERY_S = 0.5
SHOWS = ("change", "scenario", "baseline")


def _model(name: str) -> Model:
    try:
        return get(name)
    except KeyError as exc:
        raise NotFound(str(exc.args[0])) from None


@runs.get("/models")
def model_list(request: Request) -> Response:
    """The installed models, each with what it does and a link to its form."""
    lang = language(request)
    return render(
        request,
        "models.html",
        models=[
            {
                "name": m.name,
                "title": card(m.name).title(lang),
                "method": card(m.name).method(lang),
                "example": _example(m.name, lang),
                "stages": [s.name for s in m.stages],
                "datasets": list(m.datasets),
            }
            for m in MODELS.values()
        ],
    )


def _example(model: str, lang: str) -> str:
    """The registry's example scenario in the reader's language."""
    words = card(model).example
    if words is not None:
        return words(lang)
    return EXAMPLES[model].what if model in EXAMPLES else ""


def _form_page(
    request: Request,
    model: Model,
    fields: list[forms.FieldSpec],
    purpose: str,
    epsilon: str,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    lang = language(request)
    forms.place(fields, errors)
    c = card(model.name)
    return render(
        request,
        "scenario.html",
        status=status,
        model=model,
        title=c.title(lang),
        method=c.method(lang),
        assumptions=[a(lang) for a in c.assumptions],
        limits=[w(lang) for w in c.limits],
        fields=fields,
        purposes=[(p, i18n.purpose_label(p, lang)) for p in PURPOSES],
        purpose=purpose,
        epsilon=epsilon,
        general=errors.get("", ""),
        errors=errors,
        list_mark=forms.LIST_MARK,
    )


@runs.get("/models/{name}/run")
def scenario_form(
    request: Request, name: str, from_: Annotated[str, Query(alias="from", max_length=60)] = ""
) -> Response:
    """A model's scenario form; `from` fills it with an earlier run's values (a re-run)."""
    model = _model(name)
    lang = language(request)
    fields = forms.specs(model, lang)
    params: dict[str, Any] = {}
    purpose, epsilon = "research", "1"
    if from_:
        conn = get_connector(request)
        signed: SignedIn = request.state.signed_in
        with session_scope(conn.engine) as session:
            job = gateway_jobs.my_job(session, from_, signed.principal)
        if job.model != model.name:
            raise BadRequest(f"run {from_} is of {job.model}, not of {model.name}")
        params, purpose, epsilon = dict(job.params), job.purpose, f"{job.epsilon:g}"
    forms.fill(fields, params)
    return _form_page(request, model, fields, purpose, epsilon, {})


@runs.post("/models/{name}/run")
async def run_scenario(request: Request, name: str) -> Response:
    """Check the scenario with the model's own schema (errors at their fields), then start the
    federated run and follow it."""
    model = _model(name)
    lang = language(request)
    form = await request.form()
    raw = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    fields = forms.specs(model, lang)
    params, errors = forms.read(model, fields, raw, lang)
    purpose = (raw.get("purpose") or [""])[-1]
    epsilon_text = (raw.get("epsilon") or ["1"])[-1].strip()
    if purpose not in PURPOSES:
        errors["purpose"] = f"'{purpose}' is not a purpose of the dataspace's list"
    try:
        epsilon = float(epsilon_text.replace(",", "."))
        if not EPSILON_UNIT <= epsilon <= 10:
            raise ValueError
    except ValueError:
        errors["epsilon"] = f"ε must be a number from {EPSILON_UNIT:g} to 10"
        epsilon = 0.0
    if errors:
        forms.fill(fields, params)
        forms.echo(fields, raw)
        return _form_page(request, model, fields, purpose, epsilon_text, errors, status=400)
    conn = get_connector(request)
    runner = conn.jobs
    if runner is None:
        raise BadRequest("this connector is not ready to run jobs yet")
    signed: SignedIn = request.state.signed_in
    job = await run_in_threadpool(runner.create, model, params, purpose, epsilon, signed.principal)
    runner.start(job.id)
    return RedirectResponse(f"{PREFIX}/runs/{job.id}", status_code=303)


def _load(request: Request, job_id: str) -> FederatedJob:
    conn = get_connector(request)
    signed: SignedIn = request.state.signed_in
    with session_scope(conn.engine) as session:
        job = gateway_jobs.my_job(session, job_id, signed.principal)
        session.expunge(job)
    return job


def _progress_view(job: FederatedJob, lang: str, now: Any) -> dict[str, Any]:
    p = gateway_jobs.progress(job, now)
    t = i18n.translator(lang)
    for stage in p["stages"]:
        stage["label"] = t(f"stage.{stage['state']}")
        for h in stage["holders"]:
            h["label"] = t(f"holder.{h['state']}") if h.get("state") else ""
    p["state_label"] = t(f"state.{p['state']}")
    return p


@runs.get("/runs/{job_id}")
def run_page(
    request: Request,
    job_id: str,
    figure: Annotated[str, Query(max_length=40)] = "",
    show: Annotated[str, Query(max_length=10)] = "change",
) -> Response:
    """A run: its progress while it runs, its result once it ends."""
    job = _load(request, job_id)
    return _page(request, job, f"{PREFIX}/runs/{job.id}", figure, show, None)


@runs.get("/shared/{share_id}")
def shared_page(
    request: Request,
    share_id: str,
    figure: Annotated[str, Query(max_length=40)] = "",
    show: Annotated[str, Query(max_length=10)] = "change",
) -> Response:
    """A run someone shared with me: the same result page, read-only."""
    shared = _shared(request, share_id)
    return _page(request, shared.job, f"{PREFIX}/shared/{share_id}", figure, show, shared)


def scenario_words(job: FederatedJob, lang: str) -> list[str]:
    """The run's scenario in words (its changes from the defaults)."""
    try:
        words = forms.summary(get(job.model), job.params, lang)
    except KeyError:
        words = []
    return words or [i18n.translator(lang)("run.defaults")]


def _shared(request: Request, share_id: str) -> shares.Shared:
    conn = get_connector(request)
    signed: SignedIn = request.state.signed_in
    me = conn.identity.own_member()
    with session_scope(conn.engine) as session:
        found = shares.one_shared(session, share_id, signed.principal, me.participant_id)
        if found.kind == "local":
            session.expunge(found.job)
    return found


def _page(
    request: Request,
    job: FederatedJob,
    base: str,
    figure: str,
    show: str,
    shared: shares.Shared | None,
) -> Response:
    conn = get_connector(request)
    lang = language(request)
    now = conn.identity.clock()
    trust = conn.contracts.trust()
    common: dict[str, Any] = {
        "job": job,
        "base": base,
        "title": card(job.model).title(lang),
        "progress": _progress_view(job, lang, now),
        "purpose": i18n.purpose_label(job.purpose, lang),
        "started": job.created_at.strftime("%Y-%m-%d %H:%M"),
        "scenario": scenario_words(job, lang),
        "shared": None
        if shared is None
        else {
            "by": shared.shared_by,
            "from": (
                m.legal_name if (m := trust.by_participant.get(shared.sender)) else shared.sender
            ),
            "note": shared.note,
        },
    }
    if job.state == "running" or job.result is None:
        return render(request, "run.html", **common)
    extra: dict[str, Any] = {}
    if shared is None:
        with session_scope(conn.engine) as session:
            made = shares.shares_of(session, job.id)
            published = publications.of_job(session, job.id)
        me = conn.identity.own_member()
        extra = {
            "shares": [
                {
                    "to": (
                        m.id if (m := trust.by_participant.get(s.organisation)) else s.organisation
                    ),
                    "user": s.recipient,
                    "note": s.note,
                    "when": s.created_at.strftime("%Y-%m-%d %H:%M"),
                }
                for s in made
            ],
            "members": [(m.id, m.legal_name) for m in trust.by_handle.values()],
            "published": [
                {"id": p.id, "title": p.title, "when": p.published_at.strftime("%Y-%m-%d %H:%M")}
                for p in published
            ],
            "own": me.id,
        }
    return render(
        request, "result.html", **common, **extra, **result_view(request, job, lang, figure, show)
    )


def result_view(
    request: Request, job: FederatedJob, lang: str, figure: str, show: str
) -> dict[str, Any]:
    """What a result page shows: headline figures, the chosen map, districts, every area,
    charts, caveats and provenance, in the reader's language."""
    conn = get_connector(request)
    places = Gazetteer.cached(conn.settings)
    reading = readable.read(job.model, job.params, (job.result or {}).get("outputs"))
    t = i18n.translator(lang)
    shown = None
    if reading.areas:
        chosen = next((f for f in reading.areas if f.key == figure), reading.areas[0])
        show = show if show in SHOWS else "change"
        if chosen.baseline is None:
            show = "scenario"
        values = {"change": chosen.change, "scenario": chosen.scenario,
                  "baseline": chosen.baseline}[show]  # fmt: skip
        assert values is not None
        shown = {
            "key": chosen.key,
            "label": chosen.label(lang),
            "show": show,
            "show_label": t(f"show.{show}"),
            "map": choropleth(
                city_map(conn.settings),
                {i + 1: float(v) for i, v in enumerate(values)},
                chosen.unit,
                # a change with both signs around white; one sign reads better in one ramp
                diverging=show == "change" and _both_signs(values),
                digits=chosen.digits,
                lang=lang,
            ),
            "choices": [
                {
                    "href": "?" + urlencode({"figure": f.key, "show": s}),
                    "label": f"{f.label(lang)} · {t('show.' + s)}",
                    "current": f.key == chosen.key and s == show,
                }
                for f in reading.areas
                for s in (SHOWS if f.baseline is not None else ("scenario",))
            ],
        }
    cols = readable.columns(reading, lang)
    return {
        "headline": [
            {
                "label": h.label(lang),
                "unit": h.unit,
                "baseline": _fmt(h.baseline, h.digits, lang),
                "scenario": _fmt(h.scenario, h.digits, lang),
                "change": _change(h.baseline, h.scenario, h.digits, lang),
            }
            for h in reading.headline
        ],
        "shown": shown,
        "columns": [h for _, h, _ in cols],
        "districts": [
            [r["district"], *((_fmt(r[k], d, lang), r[k]) for k, _, d in cols)]
            for r in readable.by_district(reading, places.areas)
        ],
        "rows": [
            [r["name"], r["district"], *((_fmt(r[k], d, lang), r[k]) for k, _, d in cols)]
            for r in readable.area_rows(reading, places.areas)
        ],
        "charts": [
            {"key": c.key, "title": c.title(lang), "table": _chart_table(c, lang)}
            for c in reading.charts
        ],
        "caveats": _caveats(conn, job, reading, lang),
        "provenance": _provenance(conn, job),
        "summary_missing": not reading.areas and not reading.headline,
        "summary": job_view(job).get("summary") or {},
        "sweep": _sweep_table(job_view(job).get("summary") or {}, lang),
    }


def _sweep_table(summary: dict[str, Any], lang: str) -> dict[str, Any] | None:
    """A sweep's curve or a Monte Carlo sample's bands as a table (decision 0033), the numbers
    written as the page writes them; None for a job of one scenario."""
    from connector.gateway.headline import figure_grid

    for key, kind in (("sweep_curve", "curve"), ("uncertainty_bands", "bands")):
        rows = summary.get(key)
        if not rows or not isinstance(rows, list) or not isinstance(rows[0], dict):
            continue
        grid = figure_grid(rows)
        if grid is None or grid[0] is None:
            return None
        columns = list(zip(*(r.values() for r in rows), strict=True))
        digits = [0 if all(_whole(v) for v in col) else 2 for col in columns]
        body = [[_cell(v, lang, d) for v, d in zip(r.values(), digits, strict=True)]
                for r in rows]  # fmt: skip
        return {"kind": kind, "head": grid[0], "rows": body}
    return None


def _whole(v: Any) -> bool:
    """Whether a sweep table's cell needs no decimals (text and blanks need none)."""
    return not isinstance(v, int | float) or isinstance(v, bool) or float(v).is_integer()


def _both_signs(values: Any) -> bool:
    finite = [float(v) for v in values if v == v]
    return bool(finite) and min(finite) < 0 < max(finite)


def _cell(v: Any, lang: str, digits: int) -> str:
    """A sweep table's cell: a number in the page's language with its column's decimals (none
    where every value of the column is whole), a dash for none, text as it is."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return "—" if v is None else str(v)
    return _fmt(float(v), digits, lang)


def _fmt(v: float | None, digits: int, lang: str) -> str:
    if v is None or v != v:
        return "—"
    return i18n.number(v, digits, lang)


def _change(b: float | None, s: float | None, digits: int, lang: str) -> str:
    if b is None or s is None or b != b or s != s:
        return ""
    pct = f" ({i18n.number(100 * (s / b - 1), 1, lang, sign=True)} %)" if b else ""
    return f"{i18n.number(s - b, digits, lang, sign=True)}{pct}"


def _chart_table(chart: readable.Chart, lang: str) -> dict[str, Any]:
    """A chart's numbers, for readers who cannot see it (at most 48 rows: a long series is
    sampled)."""
    n = len(chart.x)
    step = max(1, n // 48)
    idx = list(range(0, n, step))
    return {
        "head": [chart.x_label(lang), *(s.label(lang) for s in chart.series)],
        "rows": [
            [str(chart.x[i]), *(_fmt(s.values[i], 2, lang) for s in chart.series)] for i in idx
        ],
        "sampled": step > 1,
    }


def _caveats(conn: Any, job: FederatedJob, reading: readable.Reading, lang: str) -> dict[str, Any]:
    """What a reader must know: which inputs are synthetic, the model's assumptions and
    limits, and the noise added to protected outputs."""
    c = card(job.model)
    synthetic, real = index.inputs_by_synthetic(conn.engine, job.holders)
    noise = []
    for h in job.holders:
        for record in h.get("privacy") or []:
            for m in record.get("mechanisms") or []:
                name = str(m.get("output", ""))
                words = reading.outputs.get(name.partition(":")[0])
                std = m.get("std")
                noise.append(
                    {
                        "dataset": f"{record.get('dataset')} ({h.get('partner')})",
                        "figure": words(lang) if words else name,
                        "mechanism": m.get("mechanism", ""),
                        "epsilon": record.get("epsilon"),
                        "sd": _fmt(float(std), 1, lang) if isinstance(std, int | float) else "",
                    }
                )
    suppressed = sum(int(v) for h in job.holders for v in (h.get("suppressed") or {}).values())
    return {
        "synthetic": synthetic,
        "real": real,
        "assumptions": [a(lang) for a in c.assumptions],
        "limits": [w(lang) for w in c.limits],
        "validation": [w(lang) for w in c.validation],
        "noise": noise,
        "suppressed": suppressed,
        "missing": job.error if job.state == "partial" else "",
    }


def _provenance(conn: Any, job: FederatedJob) -> dict[str, Any]:
    """Who ran what on which data, in words: the model and its code hash, and per holder the
    datasets read (with their digests), the agreements and the policy decisions."""
    trust = conn.contracts.trust()
    holders = []
    for h in job.holders:
        member = trust.by_handle.get(str(h.get("partner")))
        holders.append(
            {
                "partner": h.get("partner"),
                "organisation": member.legal_name if member and hasattr(member, "legal_name")
                else h.get("partner"),
                "stage": h.get("stage"),
                "state": h.get("state"),
                "seconds": h.get("seconds"),
                "datasets": h.get("dataset_versions") or {},
                "agreements": h.get("agreements") or {},
                "decisions": h.get("decisions") or [],
                "digest": h.get("digest", ""),
            }
        )  # fmt: skip
    return {
        "model": job.model,
        "hash": job.model_hash,
        "requested_by": job.requested_by,
        "finished": job.finished_at.strftime("%Y-%m-%d %H:%M:%S") if job.finished_at else "",
        "holders": holders,
    }


@runs.get("/runs/{job_id}/events")
async def run_events(request: Request, job_id: str) -> Response:
    """The run's progress as server-sent events, until it ends (then one `done` event)."""
    lang = language(request)
    job = await run_in_threadpool(_load, request, job_id)
    conn = get_connector(request)

    async def stream() -> AsyncIterator[str]:
        current = job
        while True:
            view = _progress_view(current, lang, conn.identity.clock())
            yield f"data: {json.dumps(view, default=str)}\n\n"
            if current.state != "running":
                yield "event: done\ndata: {}\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_EVERY_S)
            current = await run_in_threadpool(_load, request, job_id)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


def _finished(request: Request, job_id: str) -> FederatedJob:
    job = _load(request, job_id)
    if job.result is None:
        raise BadRequest(f"run {job_id} has no result ({job.state})")
    return job


@runs.get("/runs/{job_id}/charts/{key}.svg")
def run_chart(request: Request, job_id: str, key: str) -> Response:
    """One chart of a result, as an SVG image."""
    conn = get_connector(request)
    signed: SignedIn = request.state.signed_in
    with session_scope(conn.engine) as session:  # who may see it, without reading the result
        if not gateway_jobs.my_finished_job_exists(session, job_id, signed.principal):
            _finished(request, job_id)  # says why: unknown, another's, or not finished
    svg = drawn_chart(job_id, key, language(request), lambda: _finished(request, job_id))
    return Response(svg, media_type="image/svg+xml", headers=charts.SVG_HEADERS)


@runs.get("/shared/{share_id}/charts/{key}.svg")
def shared_chart(request: Request, share_id: str, key: str) -> Response:
    """One chart of a run shared with me."""
    job = _shared(request, share_id).job
    svg = drawn_chart(f"{share_id}:{job.id}", key, language(request), lambda: job)
    return Response(svg, media_type="image/svg+xml", headers=charts.SVG_HEADERS)


# A finished run's result never changes: each chart is drawn once per language, then kept.
_DRAWN: OrderedDict[tuple[str, str, str], str] = OrderedDict()
DRAWN_KEPT = 64


def drawn_chart(job_id: str, key: str, lang: str, load: Callable[[], FederatedJob]) -> str:
    """One chart of a finished result as SVG, drawn once per language and kept."""
    cache_key = (job_id, key, lang)
    if cache_key in _DRAWN:
        _DRAWN.move_to_end(cache_key)
        return _DRAWN[cache_key]
    job = load()
    reading = readable.read(job.model, job.params, (job.result or {}).get("outputs"))
    chart = next((c for c in reading.charts if c.key == key), None)
    if chart is None:
        raise NotFound(f"run {job.id} has no chart '{key}'")
    svg = charts.svg([("", chart)], lang)
    _DRAWN[cache_key] = svg
    while len(_DRAWN) > DRAWN_KEPT:
        _DRAWN.popitem(last=False)
    return svg


@runs.get("/runs/{job_id}/download/{kind}")
def rundownload_file(request: Request, job_id: str, kind: str) -> Response:
    """The result as a file: `areas.csv`, `areas.geojson`, `report.html` or `prov.jsonld`."""
    return download_file(request, _finished(request, job_id), kind)


@runs.get("/shared/{share_id}/download/{kind}")
def shareddownload_file(request: Request, share_id: str, kind: str) -> Response:
    """A shared run's result as a file (as `run_download`)."""
    return download_file(request, _shared(request, share_id).job, kind)


def download_file(
    request: Request, job: FederatedJob, kind: str, kinds: tuple[str, ...] = ()
) -> Response:
    """A result as a file (`kinds`, when given, limits which)."""
    if kinds and kind not in kinds:
        raise NotFound(f"no download '{kind}': {', '.join(kinds)}")
    lang = language(request)
    conn = get_connector(request)
    places = Gazetteer.cached(conn.settings)
    outputs = (job.result or {}).get("outputs")
    stem = f"{job.model}-{job.id[4:12]}"
    if kind == "areas.csv":
        body = readable.to_csv(readable.read(job.model, job.params, outputs), places.areas, lang)
        media = "text/csv; charset=utf-8"
    elif kind == "areas.geojson":
        reading = readable.read(job.model, job.params, outputs)
        body = readable.geojson_text(reading, places.areas, lang)
        media = "application/geo+json"
    elif kind == "report.html":
        synthetic, _ = index.inputs_by_synthetic(conn.engine, job.holders)
        body = report.render(
            job_view(job, with_result=True), job.provenance, places.areas, synthetic
        )
        media = "text/html; charset=utf-8"
    elif kind == "prov.jsonld":
        body = json.dumps(job.provenance or {}, ensure_ascii=False, indent=1)
        media = "application/ld+json"
    else:
        raise NotFound(f"no download '{kind}': areas.csv, areas.geojson, report.html, prov.jsonld")
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}-{kind}"'},
    )


@runs.post("/runs/{job_id}/share")
async def share(request: Request, job_id: str) -> Response:
    """Share a finished run with a colleague or another organisation (their policies decide
    for another organisation; a refusal names the dataset and the rule)."""
    form = await request.form()

    def one(name: str, limit: int) -> str:
        value = form.get(name)
        return (value if isinstance(value, str) else "").strip()[:limit]

    job = await run_in_threadpool(_finished, request, job_id)
    conn = get_connector(request)
    signed: SignedIn = request.state.signed_in
    organisation = one("organisation", 40) or conn.identity.own_member().id
    await shares.share_run(
        conn.contracts, conn.peer_client(), signed.principal, job, organisation,
        one("user", 120), one("note", 2000),
    )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/runs/{job.id}?shared=1#share-title", status_code=303)


@runs.post("/runs/{job_id}/publish")
async def publish(request: Request, job_id: str) -> Response:
    """Publish a finished run on this connector's public portal (every input holder's policy
    decides; a refusal names the dataset and the rule), then open its public page."""
    form = await request.form()
    title, note = form.get("title"), form.get("note")
    job = await run_in_threadpool(_finished, request, job_id)
    conn = get_connector(request)
    signed: SignedIn = request.state.signed_in
    row = await publications.publish_run(
        conn.contracts, conn.peer_client(), signed.principal, job,
        title if isinstance(title, str) else "", note if isinstance(note, str) else "",
    )  # fmt: skip
    return RedirectResponse(f"/public/results/{row.id}", status_code=303)


def _runs_of(request: Request, ids: list[str]) -> list[FederatedJob]:
    """Finished runs of the reader's, of one model (what a comparison needs)."""
    found = [_finished(request, i) for i in dict.fromkeys(ids)]
    if len({j.model for j in found}) > 1:
        raise BadRequest("runs of different models cannot be compared")
    return found


def _run_name(job: FederatedJob, k: int) -> str:
    """A short name for a run in a comparison: a letter and its start time."""
    return f"{chr(ord('A') + k)} · {job.created_at.strftime('%d/%m %H:%M')}"


@runs.get("/compare")
def compare(
    request: Request,
    run: Annotated[list[str], Query(max_length=6)] = [],  # noqa: B006 (FastAPI's list query)
    figure: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Runs of one model side by side: each run's headline figures and their difference from
    the first, a map of the difference (each run minus the first, scenario values), and the
    charts overlaid. With one run, the reader picks the others."""
    lang = language(request)
    t = i18n.translator(lang)
    chosen = _runs_of(request, run) if run else []
    conn = get_connector(request)
    signed: SignedIn = request.state.signed_in
    model = chosen[0].model if chosen else ""
    with session_scope(conn.engine) as session:
        mine = [
            j
            for j in gateway_jobs.my_jobs(session, signed.principal.subject, 100)
            if j.result is not None and (not model or j.model == model)
        ]
    picks = [
        {
            "id": j.id,
            "label": f"{card(j.model).title(lang)} · {j.created_at.strftime('%Y-%m-%d %H:%M')}",
            "params": "; ".join(forms.summary(get(j.model), j.params, lang)) or t("run.defaults"),
            "checked": j.id in run,
        }
        for j in mine
    ]
    if len(chosen) < 2:
        return render(request, "compare.html", picks=picks, runs=[], title=t("compare.title"))
    readings = [readable.read(j.model, j.params, (j.result or {}).get("outputs")) for j in chosen]
    names = [_run_name(j, k) for k, j in enumerate(chosen)]
    headline = []
    for i, h in enumerate(readings[0].headline):
        values = [r.headline[i].scenario if i < len(r.headline) else None for r in readings]
        headline.append(
            {
                "label": h.label(lang),
                "unit": h.unit,
                "values": [_fmt(v, h.digits, lang) for v in values],
                "diffs": [_change(values[0], v, h.digits, lang) for v in values[1:]],
            }
        )
    shown = None
    first = readings[0]
    if first.areas:
        f0 = next((f for f in first.areas if f.key == figure), first.areas[0])
        f1 = readings[-1].area(f0.key)
        diff = f1.scenario - f0.scenario
        shown = {
            "key": f0.key,
            "label": f0.label(lang),
            "map": choropleth(
                city_map(conn.settings),
                {i + 1: float(v) for i, v in enumerate(diff)},
                f0.unit,
                diverging=_both_signs(diff),
                digits=f0.digits,
                lang=lang,
            ),
            "choices": [
                {
                    "href": "?" + urlencode([("run", j.id) for j in chosen] + [("figure", f.key)]),
                    "label": f.label(lang),
                    "current": f.key == f0.key,
                }
                for f in first.areas
            ],
        }
    query = urlencode([("run", j.id) for j in chosen] + [("lang", lang)])
    return render(
        request,
        "compare.html",
        title=t("compare.title"),
        picks=picks,
        runs=[
            {
                "id": j.id,
                "name": n,
                "params": "; ".join(forms.summary(get(j.model), j.params, lang))
                or t("run.defaults"),
            }
            for j, n in zip(chosen, names, strict=True)
        ],
        headline=headline,
        shown=shown,
        charts=[
            {"title": c.title(lang), "src": f"{PREFIX}/compare/charts/{c.key}.svg?{query}"}
            for c in first.charts
        ],
    )


@runs.get("/compare/charts/{key}.svg")
def compare_chart(
    request: Request,
    key: str,
    run: Annotated[list[str], Query(max_length=6)] = [],  # noqa: B006
) -> Response:
    """One chart with every compared run's series over each other."""
    lang = language(request)
    chosen = _runs_of(request, run)
    layers = []
    for k, job in enumerate(chosen):
        reading = readable.read(job.model, job.params, (job.result or {}).get("outputs"))
        chart = next((c for c in reading.charts if c.key == key), None)
        if chart is None:
            raise NotFound(f"no chart '{key}' in run {job.id}")
        if k > 0:  # the baselines are the same model's: draw the first run's only
            chart = readable.Chart(chart.key, chart.title, chart.x_label, chart.y_label,
                                   chart.x, [s for s in chart.series if s.run != "baseline"]
                                   or chart.series, chart.kind)  # fmt: skip
        layers.append((_run_name(job, k), chart))
    return Response(
        charts.svg(layers, lang), media_type="image/svg+xml", headers=charts.SVG_HEADERS
    )
