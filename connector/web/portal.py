"""The public transparency portal at `/public`: no sign-in, Italian and English, the console's
shell and assets. It shows what the running system says about itself, aggregated, with no
person's name: the algorithm register (ATRS v3.0 records generated from the registry, the
model cards, the reviewed records and the runs in the audit log) with JSON and CSV exports in
the standard's attribute names and the JSON Schema they follow; and the data-use register
(who used each dataset held here, for what, how often, how much epsilon, and when).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connector.errors import NotFound, ServiceUnavailable
from connector.publishing import algorithms, datause
from connector.publishing.atrs import AtrsField, AtrsMissing, json_schema, read_fields, table_path
from connector.runtime import Connector, get_connector
from connector.storage import session_scope
from connector.web import i18n
from connector.web.security import PORTAL, public_page
from connector.web.shell import language, render

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
            "purposes": usage.purposes.most_common() if usage else [],
            "last": usage.last if usage else "",
        },
    )
