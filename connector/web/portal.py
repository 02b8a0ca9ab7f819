"""The public transparency portal at `/public`: no sign-in, Italian and English, the console's
shell and assets. It shows what the running system says about itself, aggregated, with no
person's name: the algorithm register (ATRS v3.0 records generated from the registry, the
model cards, the reviewed records and the runs in the audit log) with JSON and CSV exports in
the standard's attribute names and the JSON Schema they follow; and the data-use register
(who used each dataset held here, for what, how often, how much epsilon, and when); and the
results researchers published here, each at a stable address, drawn from the frozen copy of
what was released (the same noisy aggregates), with no person named.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from catalog.model import Publisher
from catalog.rdf import add_derived, new_graph
from connector.audit import public
from connector.audit import repository as store
from connector.errors import NotFound, ServiceUnavailable
from connector.gateway import publications
from connector.identity.schemas import Principal, Role
from connector.publishing import algorithms, datause
from connector.publishing.atrs import AtrsField, AtrsMissing, json_schema, read_fields, table_path
from connector.runtime import Connector, get_connector
from connector.storage import session_scope
from connector.storage.tables import PublishedResult
from connector.timestamps import as_utc
from connector.web import charts, i18n
from connector.web.audit import ask_members
from connector.web.runs import SHOWS, download_file, drawn_chart, result_view, scenario_words
from connector.web.security import PORTAL, public_page
from connector.web.shell import language, render
from models.cards import card
from models.registry import MODELS

portal = APIRouter(prefix=PORTAL, include_in_schema=False, dependencies=[public_page()])
CATEGORY_ORDER = ("Metadata", "Title Information", "Tier 1 Information")


def _fields(conn: Connector) -> list[AtrsField]:
    try:
        return read_fields(table_path(conn.settings.shared_dir))
    except AtrsMissing as exc:
        raise ServiceUnavailable(f"the algorithm register cannot be written: {exc}") from None


def _publisher(request: Request) -> algorithms.Publisher:
    conn = get_connector(request)
    trust = conn.contracts.trust()
    base = str(request.base_url).rstrip("/") + PORTAL
    return algorithms.Publisher(
        conn.settings.partner,
        conn.settings.legal_name or conn.settings.partner,
        base,
        {pid: m.id for pid, m in trust.by_participant.items()},
    )


def _register(request: Request, lang: str) -> tuple[list[AtrsField], list[algorithms.Entry]]:
    conn = get_connector(request)
    fields = _fields(conn)
    with session_scope(conn.engine) as session:
        entries = algorithms.register(session, fields, _publisher(request), lang, date.today())
    return fields, entries


@portal.get("")
@portal.get("/")
def portal_home(request: Request) -> Response:
    """The portal's front page: what it publishes and how to check it."""
    return render(request, "portal_home.html")


@portal.get("/algorithms")
def algorithm_register(request: Request) -> Response:
    """Every installed model version, with its code hash and its use."""
    lang = language(request)
    _, entries = _register(request, lang)
    return render(
        request,
        "portal_algorithms.html",
        entries=[
            {
                "model": e.model,
                "title": e.atrs["title"],
                "version": e.version,
                "hash": e.code_hash,
                "runs": e.usage.runs if e.usage else 0,
                "phase": e.atrs["phase"],
                "filled": len(e.sources),
                "left": len(e.left_to_people),
            }
            for e in entries
        ],
    )


def _export_lang(request: Request) -> str:
    return "it" if request.query_params.get("lang") == "it" else "en"


@portal.get("/algorithms.json")
def register_json(request: Request) -> Response:
    """The register as JSON: one object per record, keyed by the ATRS attribute names (English
    by default, `?lang=it` for Italian)."""
    _, entries = _register(request, _export_lang(request))
    return JSONResponse([e.atrs for e in entries])


@portal.get("/algorithms.csv")
def register_csv(request: Request) -> Response:
    """The register as CSV: a header of ATRS attribute names, a row per record."""
    fields, entries = _register(request, _export_lang(request))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f.attribute for f in fields])
    writer.writerows([[e.atrs[f.attribute] for f in fields] for e in entries])
    named = {"Content-Disposition": 'attachment; filename="algorithms.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=named)


@portal.get("/algorithms/schema.json")
def register_schema(request: Request) -> Response:
    """The JSON Schema each exported record follows, written from the ATRS field table."""
    schema = json_schema(_fields(get_connector(request)))
    return Response(json.dumps(schema, indent=2), media_type="application/schema+json")


@portal.get("/data-use")
def data_use_register(request: Request) -> Response:
    """Each dataset held here: who used it, for which purposes, how often, how much epsilon,
    and when; and the budget raises and resets, with their reasons."""
    conn = get_connector(request)
    names = _publisher(request).names
    with session_scope(conn.engine) as session:
        datasets = datause.data_use(session, names)
    lang = language(request)
    return render(
        request,
        "portal_data_use.html",
        datasets=[
            {
                "id": d.dataset,
                "uses": [
                    {
                        **u.__dict__,
                        "purpose_code": u.purpose,
                        "epsilon": i18n.number(u.epsilon, 2, lang),
                        "purpose": i18n.purpose_label(u.purpose, lang) if u.purpose != "—" else "—",
                    }
                    for u in sorted(d.uses.values(), key=lambda u: (u.organisation, u.purpose))
                ],  # fmt: skip
                "acts": d.acts,
            }
            for d in datasets
        ],
    )


@portal.get("/algorithms/{model}")
def algorithm_record(request: Request, model: str) -> Response:
    """One model version's record: every ATRS field with where its text came from."""
    lang = language(request)
    fields, entries = _register(request, lang)
    entry = next((e for e in entries if e.model == model), None)
    if entry is None:
        raise NotFound(f"no model '{model}' in the register")
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in fields:
        groups.setdefault(f.category, []).append(
            {
                "reference": f.reference,
                "attribute": f.attribute,
                "name": f.name,
                "value": entry.atrs[f.attribute],
                "source": entry.sources.get(f.attribute, "people"),
                "required": f.required,
            }
        )
    usage = entry.usage
    names = _publisher(request).names
    return render(
        request,
        "portal_algorithm.html",
        entry=entry,
        groups=list(groups.items()),
        left=entry.left_to_people,
        usage={
            "runs": usage.runs if usage else 0,
            "organisations": [(names.get(o, o), n) for o, n in usage.organisations.most_common()]
            if usage
            else [],
            "purposes": [(i18n.purpose_label(p, lang), n) for p, n in usage.purposes.most_common()]
            if usage
            else [],
            "last": usage.last if usage else "",
        },
    )


PUBLIC_DOWNLOADS = ("areas.csv", "areas.geojson", "prov.jsonld")


def _publication(request: Request, publication_id: str) -> PublishedResult:
    conn = get_connector(request)
    with session_scope(conn.engine) as session:
        row = publications.published(session, publication_id)
        if row is None:
            raise NotFound(f"no published result '{publication_id}'")
        session.expunge(row)
    return row


def _organisation(request: Request, participant: str) -> tuple[str, str]:
    """(handle, legal name) of a member."""
    member = get_connector(request).contracts.trust().by_participant.get(participant)
    if member is None:
        return participant, participant
    return member.id, member.legal_name


@portal.get("/results")
def published_results(request: Request) -> Response:
    """The results researchers of this organisation published, newest first."""
    lang = language(request)
    conn = get_connector(request)
    with session_scope(conn.engine) as session:
        rows = publications.all_published(session)
    return render(
        request,
        "portal_results.html",
        results=[
            {
                "id": r.id,
                "title": r.title,
                "model": card(r.model).title(lang),
                "organisation": _organisation(request, r.organisation)[1],
                "purpose": i18n.purpose_label(r.purpose, lang),
                "day": r.published_at.strftime("%Y-%m-%d"),
            }
            for r in rows
        ],
    )


@portal.get("/results/{publication_id}")
def published_result(
    request: Request,
    publication_id: str,
    figure: Annotated[str, Query(max_length=40)] = "",
    show: Annotated[str, Query(max_length=10)] = "change",
) -> Response:
    """A published result at its stable address: the title and note, what was released
    (maps, districts, every area, charts), its caveats, provenance with no person named, the
    epsilon it spent, the agreements and decisions it ran and was published under."""
    lang = language(request)
    row = _publication(request, publication_id)
    job = publications.as_job(row)
    _, legal = _organisation(request, row.organisation)
    view = result_view(request, job, lang, figure, show if show in SHOWS else "change")
    t = i18n.translator(lang)
    view["provenance"]["requested_by"] = t("pub.researcher_of").format(org=legal)
    return render(
        request,
        "portal_result.html",
        pub=row,
        job=job,
        base=f"{PORTAL}/results/{row.id}",
        stable_url=f"{get_connector(request).identity.own_member().connector_url}{PORTAL}/results/{row.id}",
        public=True,
        title=row.title,
        model_title=card(row.model).title(lang),
        scenario=scenario_words(job, lang),
        publisher_name=legal,
        purpose=i18n.purpose_label(row.purpose, lang),
        epsilon=i18n.number(float(job.epsilon or 0), 3, lang),
        published=row.published_at.strftime("%Y-%m-%d %H:%M"),
        decisions=row.decisions,
        **view,
    )


@portal.get("/results/{publication_id}/release.json")
def published_release(request: Request, publication_id: str) -> Response:
    """Exactly what the publication holds: the released outputs, scenario, model and code
    hash, epsilon, holders' datasets, agreements and decisions, and the provenance."""
    row = _publication(request, publication_id)
    body = {
        "id": row.id,
        "title": row.title,
        "note": row.note,
        "publisher": row.organisation,
        "published_at": row.published_at.isoformat(),
        "decisions": row.decisions,
        "run": row.released,
    }
    return JSONResponse(body)


@portal.get("/results/{publication_id}/charts/{key}.svg")
def published_chart(request: Request, publication_id: str, key: str) -> Response:
    """One chart of a published result, as an SVG image."""
    row = _publication(request, publication_id)
    job = publications.as_job(row)
    svg = drawn_chart(f"pub:{row.id}", key, language(request), lambda: job)
    return Response(svg, media_type="image/svg+xml", headers=charts.SVG_HEADERS)


@portal.get("/results/{publication_id}/download/{kind}")
def published_download(request: Request, publication_id: str, kind: str) -> Response:
    """A published result as a file: `areas.csv`, `areas.geojson` or `prov.jsonld`."""
    row = _publication(request, publication_id)
    return download_file(request, publications.as_job(row), kind, PUBLIC_DOWNLOADS)


@portal.get("/results/{publication_id}/dcat")
def published_dcat(request: Request, publication_id: str) -> Response:
    """The publication's DCAT-AP entry (Turtle): a dataset derived from the run's inputs, as
    the publisher's catalogue lists it."""
    row = _publication(request, publication_id)
    me = get_connector(request).identity.own_member()
    publisher = Publisher(
        participant_id=me.participant_id,
        name=me.legal_name or me.id,
        connector_url=me.connector_url,
    )
    graph = new_graph()
    add_derived(graph, publications.as_derived(row, me.connector_url), publisher)
    return Response(graph.serialize(format="turtle"), media_type="text/turtle")


# --- verify it yourself ---------------------------------------------------------------------


def _portal_principal(conn: Connector) -> Principal:
    """Who the portal asks other members as: this connector, for no person."""
    me = conn.identity.own_member()
    return Principal(
        kind="user", organisation=me.participant_id, partner=me.id, subject="public-portal",
        role=Role.auditor, credential="internal",
    )  # fmt: skip


async def _bundle(request: Request, seqs: list[int]) -> Response:
    """The proofs a reader's browser checks: the head the other members co-signed (asked of
    them now), and each entry's public fields, leaf hash and audit path in that head's tree."""
    conn = get_connector(request)
    principal = _portal_principal(conn)
    answers = await ask_members(request, "/audit/members/witnessed", {}, principal)
    names = _publisher(request).names

    def work() -> dict[str, Any]:
        store.integrate_all(conn.audit.engine)
        with session_scope(conn.engine) as session:
            return public.bundle(session, seqs, public.Witnessed.of(answers), names)

    body = await run_in_threadpool(work)
    body["log"] = conn.identity.own_member().participant_id
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@portal.get("/data-use/proofs")
async def data_use_proofs(
    request: Request,
    dataset: Annotated[str, Query(max_length=120)],
    organisation: Annotated[str, Query(max_length=200)] = "",
    purpose: Annotated[str, Query(max_length=40)] = "",
    acts: bool = False,
) -> Response:
    """Inclusion proofs of the audit entries one row of the data-use register was counted from
    (a dataset's uses by one organisation for one purpose, or its budget acts)."""
    conn = get_connector(request)
    names = _publisher(request).names

    def seqs() -> list[int]:
        with session_scope(conn.engine) as session:
            found = {d.dataset: d for d in datause.data_use(session, names)}
        d = found.get(dataset)
        if d is None:
            raise NotFound(f"no recorded use of '{dataset}'")
        if acts:
            return [int(a["seq"]) for a in d.acts]
        use = d.uses.get((organisation, purpose or "—"))
        if use is None:
            raise NotFound(f"no use of '{dataset}' by '{organisation}' for '{purpose}'")
        return use.seqs

    return await _bundle(request, await run_in_threadpool(seqs))


@portal.get("/results/{publication_id}/proofs")
async def published_proofs(request: Request, publication_id: str) -> Response:
    """Inclusion proofs of a published result's audit entries in this connector's log: the
    run as it started and ended, and its publication."""
    conn = get_connector(request)
    row = _publication(request, publication_id)

    def seqs() -> list[int]:
        store.integrate_all(conn.audit.engine)
        with session_scope(conn.engine) as session:
            found = store.entries(session, limit=1000, filters={"correlation": row.job_id})
        return [
            e.seq
            for e in found
            if e.action == "compute.job" or (e.action == "publish.run" and e.target == row.id)
        ]

    return await _bundle(request, await run_in_threadpool(seqs))


# --- the federation on one page (the comune's portal) ---------------------------------------

FEDERATION_TIMEOUT_S = 5.0


def _results_doc(request: Request) -> list[dict[str, Any]]:
    conn = get_connector(request)
    me = conn.identity.own_member()
    with session_scope(conn.engine) as session:
        rows = publications.all_published(session)
    return [
        {"id": r.id, "title": r.title, "model": r.model, "purpose": r.purpose,
         "published_at": as_utc(r.published_at).isoformat(),
         "url": f"{me.connector_url}{PORTAL}/results/{r.id}"}
        for r in rows
    ]  # fmt: skip


def _data_use_doc(request: Request) -> list[dict[str, Any]]:
    conn = get_connector(request)
    with session_scope(conn.engine) as session:
        found = datause.data_use(session, _publisher(request).names)
    return [
        {
            "dataset": d.dataset,
            "uses": [
                {k: v for k, v in u.__dict__.items() if k != "seqs"}
                for u in sorted(d.uses.values(), key=lambda u: (u.organisation, u.purpose))
            ],
            "acts": [{k: v for k, v in a.items() if k != "seq"} for a in d.acts],
        }
        for d in found
    ]


@portal.get("/results.json")
def published_results_json(request: Request) -> Response:
    """The results published here, newest first, as JSON (what the federation page reads)."""
    return JSONResponse(_results_doc(request))


@portal.get("/data-use.json")
def data_use_json(request: Request) -> Response:
    """The data-use register as JSON: per dataset held here, its uses by organisation and
    purpose and its budget acts (what the federation page reads)."""
    return JSONResponse(_data_use_doc(request))


@portal.get("/federation")
async def federation_page(request: Request) -> Response:
    """Every member's published results and data use on one page, read from their portals
    now (only where `portal_federation` is on: the comune's)."""
    conn = get_connector(request)
    if not conn.settings.portal_federation:
        raise NotFound("this connector's portal does not show the federation: see the comune's")
    lang = language(request)
    me = conn.identity.own_member()
    members = sorted(conn.contracts.trust().by_handle.values(), key=lambda m: m.id)

    async def one(client: httpx.AsyncClient, member: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"id": member.id, "name": member.legal_name,
                               "portal": f"{member.connector_url}{PORTAL}"}  # fmt: skip
        if member.id == me.id:
            results = await run_in_threadpool(_results_doc, request)
            use = await run_in_threadpool(_data_use_doc, request)
            return out | {"results": results, "use": use, "error": ""}
        try:
            base = f"{member.connector_url}{PORTAL}"
            r1, r2 = await asyncio.gather(
                client.get(f"{base}/results.json"), client.get(f"{base}/data-use.json")
            )
            r1.raise_for_status()
            r2.raise_for_status()
            return out | {"results": r1.json(), "use": r2.json(), "error": ""}
        except (httpx.HTTPError, ValueError) as exc:
            return out | {"results": [], "use": [], "error": str(exc)[:160] or type(exc).__name__}

    async with httpx.AsyncClient(timeout=FEDERATION_TIMEOUT_S) as client:
        found = await asyncio.gather(*(one(client, m) for m in members))
    for m in found:
        for r in m["results"]:
            r["model_title"] = card(r["model"]).title(lang) if r["model"] in MODELS else r["model"]
            r["purpose_label"] = i18n.purpose_label(r["purpose"], lang)
            r["day"] = str(r["published_at"])[:10]
        for d in m["use"]:
            for u in d["uses"]:
                u["epsilon_text"] = i18n.number(float(u["epsilon"]), 2, lang)
                u["purpose_label"] = (
                    i18n.purpose_label(u["purpose"], lang) if u["purpose"] != "—" else "—"
                )
    return render(request, "portal_federation.html", members=found)


@portal.get("/algorithms/{model}/proofs")
async def algorithm_proofs(request: Request, model: str) -> Response:
    """Inclusion proofs of the runs an algorithm record counts: the `compute.job` entries of
    this model version's finished federated runs in this connector's log (the latest 100)."""
    conn = get_connector(request)
    if model not in MODELS:
        raise NotFound(f"no model '{model}' in the register")
    code = MODELS[model].hash

    def seqs() -> list[int]:
        store.integrate_all(conn.audit.engine)
        with session_scope(conn.engine) as session:
            found = store.entries(session, limit=1_000_000, filters={"action": "compute.job"})
        return [
            e.seq
            for e in found
            if e.outcome in ("succeeded", "partial") and e.detail_map.get("model_hash") == code
        ]

    return await _bundle(request, await run_in_threadpool(seqs))
