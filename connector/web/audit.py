"""The auditor's console: browse this connector's tamper-evident log, follow one federated job
across every member it touched, and replay the whole log now ("Verify now"), with the signed
checkpoints and the heads other members co-signed.

The pages ask the audit room (`connector.audit`), as `GET /audit/entries` does; other members
are asked over signed requests as the signed-in auditor, whose role their own rules check.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from connector.audit import repository as store
from connector.audit import service as audit
from connector.audit.report import NAMES, Table, summarise
from connector.errors import BadRequest, NotFound
from connector.identity.sessions import SignedIn
from connector.runtime import get_connector
from connector.storage import session_scope
from connector.timestamps import as_utc
from connector.web import i18n
from connector.web.charts import SVG_HEADERS, bars
from connector.web.security import PREFIX, console
from connector.web.shell import language, render

pages = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[console(*audit.READERS)])
FILTERS = ("action", "actor", "organisation", "dataset", "purpose", "correlation")
Q = Annotated[str, Query(max_length=200)]
PEER_TIMEOUT_S = 10.0
Day = Annotated[str, Query(max_length=30)]
CHARTED = ("accesses", "purposes", "epsilon")


def _row(e: Any, names: dict[str, str]) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.strftime("%Y-%m-%d %H:%M:%S"),
        "action": e.action,
        "outcome": e.outcome,
        "organisation": names.get(e.organisation, e.organisation),
        "actor": e.actor,
        "purpose": e.purpose,
        "dataset": e.dataset,
        "target": e.target,
        "reason": e.reason,
        "correlation": e.correlation,
    }


def _when(text: str, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} '{text}' is not a date or time (YYYY-MM-DD[THH:MM])") from None
    return as_utc(moment)


@pages.get("/audit")
def log_browser(
    request: Request,
    action: Q = "",
    actor: Q = "",
    organisation: Q = "",
    dataset: Q = "",
    purpose: Q = "",
    correlation: Q = "",
    since: Annotated[str, Query(max_length=30)] = "",
    until: Annotated[str, Query(max_length=30)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """The log, newest first, filtered by exact values and a time window (a member may be
    given by its handle)."""
    conn = get_connector(request)
    trust = conn.contracts.trust()
    names = {pid: m.id for pid, m in trust.by_participant.items()}
    form = {
        "action": action,
        "actor": actor,
        "organisation": organisation,
        "dataset": dataset,
        "purpose": purpose,
        "correlation": correlation,
        "since": since,
        "until": until,
    }
    filters = {k: v.strip() for k, v in form.items() if k in FILTERS and v.strip()}
    if "organisation" in filters and filters["organisation"] in trust.by_handle:
        filters["organisation"] = trust.by_handle[filters["organisation"]].participant_id
    error = ""
    rows: list[dict[str, Any]] = []
    try:
        start, end = _when(since, "since"), _when(until, "until")
        store.integrate_all(conn.audit.engine)
        with session_scope(conn.engine) as session:
            found = store.entries(session, limit=limit, newest_first=True, filters=filters,
                                  since=start, until=end)  # fmt: skip
            rows = [_row(e, names) for e in found]
    except ValueError as exc:
        error = str(exc)
    kept = {k: v for k, v in form.items() if v}
    return render(
        request,
        "audit.html",
        status=400 if error else 200,
        form=form,
        rows=rows,
        error=error,
        limit=limit,
        more=f"?{urlencode(kept | {'limit': min(limit * 2, 1000)})}" if len(rows) == limit else "",
        members=sorted(trust.by_handle),
    )


async def ask_members(
    request: Request, path: str, params: dict[str, Any], principal: Any = None
) -> list[dict[str, Any]]:
    """GET `path` at every other member, signed as the signed-in person (or `principal`): their
    answers or why there is none."""
    conn = get_connector(request)
    if principal is None:
        signed: SignedIn = request.state.signed_in
        principal = signed.principal
    me = conn.identity.own_member()
    peers = conn.peer_client()
    others = [m for m in conn.contracts.trust().by_handle.values() if m.id != me.id]

    async def one(member: Any) -> dict[str, Any]:
        try:
            r = await peers.request("GET", member, path, principal, params=params,
                                    timeout=PEER_TIMEOUT_S)  # fmt: skip
        except httpx.HTTPError as exc:
            return {"member": member.id, "status": "unreachable", "detail": str(exc)[:200]}
        if r.status_code != 200:
            detail = (
                r.json().get("detail", "") if "json" in r.headers.get("content-type", "") else ""
            )
            return {"member": member.id, "status": f"refused ({r.status_code})", "detail": detail}
        return {"member": member.id, "status": "ok", "items": r.json()}

    return list(await asyncio.gather(*(one(m) for m in sorted(others, key=lambda m: m.id))))


@pages.get("/audit/follow/{correlation}")
async def follow(request: Request, correlation: str) -> Response:
    """One correlation (a federated job, an agreement) in every member's log: here, and at
    each member it touched."""
    conn = get_connector(request)
    names = {pid: m.id for pid, m in conn.contracts.trust().by_participant.items()}

    def here() -> list[dict[str, Any]]:
        store.integrate_all(conn.audit.engine)
        with session_scope(conn.engine) as session:
            found = store.entries(session, limit=1000, filters={"correlation": correlation})
            return [_row(e, names) for e in found]

    own = await run_in_threadpool(here)
    answers = await ask_members(request, "/audit/members/entries",
                                 {"correlation": correlation, "limit": 1000})  # fmt: skip
    members = [{"member": conn.identity.own_member().id, "status": "ok", "rows": own}]
    for a in answers:
        rows = [
            {**r, "at": str(r.get("at", ""))[:19].replace("T", " "),
             "organisation": names.get(r.get("organisation", ""), r.get("organisation", ""))}
            for r in a.get("items") or []
        ]  # fmt: skip
        members.append({"member": a["member"], "status": a["status"],
                        "detail": a.get("detail", ""), "rows": rows})  # fmt: skip
    return render(
        request,
        "audit_follow.html",
        correlation=correlation,
        members=members,
        touched=sum(1 for m in members if m["rows"]),
    )


# A report page asks for its tables four times (the page and its three charts): each period's
# tables are kept until the log grows, so the log is read once per page, not four times.
_REPORTS: dict[tuple[str, int, str, str], dict[str, Table]] = {}


def _report(request: Request, since: str, until: str) -> dict[str, Table]:
    """The report's tables for a period (the whole log when no dates are given)."""
    start, end = _when(since, "from"), _when(until, "until")
    conn = get_connector(request)
    store.integrate_all(conn.audit.engine)
    with session_scope(conn.engine) as session:
        key = (conn.settings.db_url, store.size(session), since, until)
        if key not in _REPORTS:
            rows = list(store.entries(session, limit=10_000_000, since=start, until=end))
            if len(_REPORTS) >= 8:
                _REPORTS.pop(next(iter(_REPORTS)))
            _REPORTS[key] = summarise(rows)
    return _REPORTS[key]


def _period_query(since: str, until: str) -> str:
    return urlencode({k: v for k, v in (("since", since), ("until", until)) if v})


@pages.get("/audit/report")
def report_page(request: Request, since: Day = "", until: Day = "") -> Response:
    """The audit report as a page: charts, the tables, and each table as CSV."""
    lang = language(request)
    try:
        tables = _report(request, since, until)
        problem = ""
    except ValueError as exc:
        tables, problem = {}, str(exc)
    query = _period_query(since, until)
    return render(
        request,
        "audit_report.html",
        status=400 if problem else 200,
        problem=problem,
        since=since,
        until=until,
        query=query,
        tables=[
            {
                "name": name,
                "title": i18n.MESSAGES[f"audit.r.{name}"][lang],
                "header": header,
                "rows": rows[:200],
                "count": len(rows),
            }  # fmt: skip
            for name, (header, rows) in tables.items()
        ],
        charts=[(name, i18n.MESSAGES[f"audit.r.{name}"][lang]) for name in CHARTED],
    )


@pages.get("/audit/report/{name}.csv")
def report_csv(request: Request, name: str, since: Day = "", until: Day = "") -> Response:
    """One of the report's tables as CSV (UTF-8, a header row)."""
    if name not in NAMES:
        raise NotFound(f"no report table '{name}'; known: {', '.join(NAMES)}")
    try:
        header, rows = _report(request, since, until)[name]
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    stamp = f"{since or 'start'}_{until or 'now'}".replace(":", "")
    filename = f"audit-{get_connector(request).settings.partner}-{name}-{stamp}.csv"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=disposition)


@pages.get("/audit/report/{name}.svg")
def report_chart(request: Request, name: str, since: Day = "", until: Day = "") -> Response:
    """A chart of the report: decisions per dataset and organisation, purposes, or epsilon."""
    if name not in CHARTED:
        raise NotFound(f"no report chart '{name}'; known: {', '.join(CHARTED)}")
    lang = language(request)
    try:
        _, rows = _report(request, since, until)[name]
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    trust = get_connector(request).contracts.trust()
    names = {pid: m.id for pid, m in trust.by_participant.items()}
    totals: dict[str, float] = {}
    for row in rows:
        if name == "accesses":  # dataset, organisation, outcome, decisions
            key = f"{row[0] or '—'} · {names.get(row[1], row[1])} · {row[2]}"
        elif name == "purposes":
            key = i18n.purpose_label(row[0], lang)
        else:  # dataset, organisation, epsilon
            key = f"{row[0]} · {names.get(row[1], row[1])}"
        totals[key] = totals.get(key, 0.0) + float(row[-1])
    unit = "ε" if name == "epsilon" else i18n.MESSAGES["audit.r.decisions"][lang]
    body = bars(list(totals), list(totals.values()), i18n.MESSAGES[f"audit.r.{name}"][lang], unit)
    return Response(body, media_type="image/svg+xml", headers=SVG_HEADERS)


@pages.get("/audit/verify")
async def verify_now(request: Request) -> Response:
    """Replay this connector's whole log now: every entry's hash, every tree node, every
    signed checkpoint, and the heads other members co-signed (asked of them now)."""
    conn = get_connector(request)
    lang = language(request)
    me = conn.identity.own_member()
    member = conn.contracts.trust().by_handle[me.id]
    keys = {k.kid: k.public_key() for k in member.keys}
    answers = await ask_members(request, "/audit/members/witnessed", {})
    heads = [
        {"size": int(h["size"]), "root": str(h["root"]), "witness": a["member"]}
        for a in answers
        for h in (a.get("items") or [])[:50]
    ]

    def replay() -> tuple[audit.Report, list[Any], float]:
        started = time.perf_counter()
        store.integrate_all(conn.audit.engine)
        with session_scope(conn.engine) as session:
            report = audit.verify(session, me.participant_id, keys, heads)
            checkpoints = list(store.checkpoints(session))[-5:]
        return report, checkpoints, time.perf_counter() - started

    report, checkpoints, took = await run_in_threadpool(replay)
    witnesses = []
    for a in answers:
        mine = [h for h in heads if h["witness"] == a["member"]]
        witnesses.append({
            "member": a["member"],
            "status": a["status"],
            "heads": len(mine),
            "largest": max((h["size"] for h in mine), default=0),
        })  # fmt: skip
    return render(
        request,
        "audit_verify.html",
        report=report,
        took=i18n.number(took, 2, lang),
        checkpoints=[
            {"size": c.size, "at": c.at.strftime("%Y-%m-%d %H:%M:%S"), "root": c.root}
            for c in reversed(checkpoints)
        ],
        witnesses=witnesses,
    )
