"""The web console's pages (server-rendered, Jinja2). Each page asks the connector's own
services and hands the template plain values: no business logic lives in a template.

Sign-in takes an API token and opens a server-side session (`identity.sessions`); every other
page declares the roles it admits (`web.security.console`), and every POST carries the
session's CSRF token.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from catalog.dsp import G
from catalog.model import Theme
from connector.contracts import consumer
from connector.contracts.schemas import CONTRACT_USERS as REQUESTERS
from connector.errors import BadRequest, GemelloError, NotFound, Unauthenticated
from connector.gateway import index, shares
from connector.gateway import jobs as gateway_jobs
from connector.gateway.gazetteer import Gazetteer
from connector.identity.auth import log_refusal
from connector.identity.sessions import SignedIn, end_session, open_session
from connector.privacy import remote
from connector.runtime import get_connector
from connector.storage import session_scope
from connector.web import i18n
from connector.web.admin import pages as admin_pages
from connector.web.ask import ask
from connector.web.audit import pages as audit_pages
from connector.web.maps import CityMap, city_map
from connector.web.policy_words import explain
from connector.web.portal import portal
from connector.web.runs import runs
from connector.web.security import (
    CONSOLE_PUBLIC,
    COOKIE,
    EVERY_ROLE,
    LOGIN_CSRF_COOKIE,
    PORTAL,
    PREFIX,
    ConsoleRefused,
    SignInNeeded,
    console,
    limits,
)
from connector.web.shell import language, period, render, text
from connector.web.steward import pages as steward_pages
from models.cards import card
from policy.odrl import PolicyInvalid, parse_policy
from policy.vocabulary import PURPOSES

HERE = Path(__file__).parent

router = APIRouter(prefix=PREFIX, include_in_schema=False)
public_router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[CONSOLE_PUBLIC])
pages = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[console(*EVERY_ROLE)])


def _safe_next(target: str | None) -> str:
    """Only a console path may follow sign-in (no open redirect)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/discover"


@public_router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None, why: str | None = None) -> Response:
    """The sign-in form (a fresh anti-forgery value in a cookie and in the form)."""
    nonce = secrets.token_urlsafe(24)
    response = render(
        request,
        "sign_in.html",
        next=_safe_next(next),
        nonce=nonce,
        notice={"expired": "signin.expired", "signedout": "signedout"}.get(why or ""),
        error=None,
    )
    _sign_in_nonce(request, response, nonce)
    return response


def _sign_in_nonce(request: Request, response: Response, nonce: str) -> None:
    """The sign-in form's anti-forgery value, also in a short-lived cookie (double submit)."""
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce, httponly=True, samesite="strict", path=PREFIX,
                        secure=request.url.scheme == "https", max_age=3600)  # fmt: skip


@public_router.post("/sign-in")
def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Check the token and open a session; the form again with the reason otherwise."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf, expected):
        exc = ConsoleRefused("missing or wrong sign-in form token", "csrf_invalid")
        log_refusal(request, exc)
        raise exc
    conn = get_connector(request)
    me = conn.identity.own_member()
    try:
        with session_scope(conn.engine, write=True) as session:
            secret, signed = open_session(
                session, token, me.participant_id, me.id, conn.identity.clock(), limits(request)
            )
    except Unauthenticated as exc:
        log_refusal(request, exc)
        nonce = secrets.token_urlsafe(24)
        form = render(request, "sign_in.html", status=401, next=_safe_next(next),
                      nonce=nonce, notice=None, error=exc.detail)  # fmt: skip
        _sign_in_nonce(request, form, nonce)
        return form
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=PREFIX,
        max_age=int(limits(request).absolute.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out", dependencies=[console(*EVERY_ROLE)])
def sign_out(request: Request) -> Response:
    """End the session now (its cookie is cleared too)."""
    conn = get_connector(request)
    with session_scope(conn.engine, write=True) as session:
        end_session(session, request.cookies.get(COOKIE, ""), conn.identity.clock())
    response = RedirectResponse(f"{PREFIX}/sign-in?why=signedout", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@public_router.get("")
@public_router.get("/")
def home() -> Response:
    """The console's front door: the catalogue search (sign-in first if needed)."""
    return RedirectResponse(f"{PREFIX}/discover", status_code=303)


def _areas(places: Gazetteer) -> list[dict[str, Any]]:
    """Districts, each with its statistical areas, for the area picker."""
    districts: dict[str, list[str]] = {}
    for a in sorted(places.areas, key=lambda a: (a.district, a.name)):
        districts.setdefault(a.district, []).append(a.name)
    return [{"district": d, "areas": names} for d, names in sorted(districts.items())]


@pages.get("/discover")
def discover(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    theme: Annotated[str, Query(max_length=8)] = "",
    member: Annotated[str, Query(max_length=40)] = "",
    area: Annotated[str, Query(max_length=120)] = "",
    start: Annotated[str, Query(max_length=10)] = "",
    end: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """Search every member's datasets (the connector's federated index)."""
    conn = get_connector(request)
    places = Gazetteer.cached(conn.settings)
    lang = language(request)
    error = None
    found = None
    try:
        themes = [Theme(theme)] if theme else None
        query = index.search_query(
            places,
            q or None,
            themes,
            [member] if member else None,
            area or None,
            None,
            _day(start, "start"),
            _day(end, "end"),
        )
        found = index.search(conn.engine, query, 0, 200)
    except ValueError:
        error = f"'{theme}' is not an EU data theme"
    except GemelloError as exc:
        error = exc.detail
    results = [
        {
            "partner": e.partner,
            "dataset_id": e.dataset_id,
            "title": text(e.document.get("dct:title"), lang) or e.title,
            "themes": [i18n.theme_label(c, lang) for c in e.themes.split()],
            "privacy": i18n.privacy_label(e.privacy_class, lang),
            "period": period(e.start_date, e.end_date),
            "stale": e.stale,
        }
        for e in (found.entries if found else [])
    ]
    sources = [
        {
            "partner": s.partner,
            "status": s.status,
            "last": s.last_success_at.strftime("%Y-%m-%d %H:%M") if s.last_success_at else "—",
        }
        for s in (found.sources if found else [])
    ]
    members = sorted({s["partner"] for s in sources} | set(conn.contracts.trust().by_handle))
    form = {"q": q, "theme": theme, "member": member, "area": area, "start": start, "end": end}
    return render(
        request,
        "discover.html",
        status=400 if error else 200,
        form=form,
        city=_area_picker(city_map(conn.settings), form),
        themes=[(c.value, i18n.theme_label(c.value, lang)) for c in Theme],
        members=members,
        districts=_areas(places),
        results=results,
        total=found.total if found else 0,
        sources=sources,
        error=error,
    )


def _area_picker(city: CityMap, form: dict[str, str]) -> dict[str, Any]:
    """The map of the areas as search links: each area's link keeps the other fields and
    picks that area (the chosen one, or its district's areas, are marked)."""
    chosen = form["area"].strip().lower()
    kept = {k: v for k, v in form.items() if v and k != "area"}
    return {
        "width": city.width,
        "height": city.height,
        "areas": [
            {
                "name": a.name,
                "district": a.district,
                "d": a.d,
                "href": f"{PREFIX}/discover?" + urlencode({**kept, "area": a.name}),
                "selected": bool(chosen)
                and chosen in (a.name.lower(), a.district.lower(), str(a.code)),
            }
            for a in city.areas
        ],
    }


def _day(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name} '{text}' is not a date (YYYY-MM-DD)") from None


def _policies(document: dict[str, Any], lang: str, members: dict[str, str]) -> list[dict[str, Any]]:
    """The dataset's ODRL offers in plain language, in the reader's language (the rules as
    the holder's PDP compiles them; purposes and members named in words)."""
    offers = document.get("hasPolicy") or document.get("odrl:hasPolicy") or []
    names = {
        "purpose": {p: i18n.purpose_label(p, lang) for p in PURPOSES},
        "recipient": members,
    }
    out = []
    for offer in offers if isinstance(offers, list) else [offers]:
        try:
            policy = parse_policy({k: v for k, v in offer.items() if k != "@context"})
            lines = explain(policy, lang, names)
        except PolicyInvalid as exc:
            lines = [i18n.MESSAGES["policy.invalid"][lang], *exc.errors]
        out.append({"id": offer.get("@id", ""), "lines": lines})
    return out


@pages.get("/datasets/{partner}/{dataset_id}")
def dataset_page(request: Request, partner: str, dataset_id: str) -> Response:
    """One dataset of the federated catalogue: its DCAT-AP fields and its usage policy."""
    conn = get_connector(request)
    lang = language(request)
    rows = index.find(conn.engine, dataset_id, partner)
    if not rows:
        raise NotFound(f"the federated catalogue has no dataset '{dataset_id}' of '{partner}'")
    row = rows[0]
    doc: dict[str, Any] = row.document
    members = {pid: m.id for pid, m in conn.contracts.trust().by_participant.items()}
    publisher = text(doc.get("dct:publisher"), lang)
    keywords = [
        str(k.get("@value", "")) if isinstance(k, dict) else str(k)
        for k in doc.get("dcat:keyword") or []
        if not isinstance(k, dict) or k.get("@language") in (None, lang)
    ]
    yes_no = {True: i18n.MESSAGES["yes"][lang], False: i18n.MESSAGES["no"][lang]}

    def flag(key: str) -> str:
        value = doc.get(G + key)
        return yes_no[value] if isinstance(value, bool) else ""

    fields = [
        ("field.description", text(doc.get("dct:description"), lang)),
        ("field.publisher", members.get(publisher, publisher)),
        ("field.themes", ", ".join(i18n.theme_label(c, lang) for c in row.themes.split())),
        ("field.keywords", ", ".join(keywords)),
        ("field.period", period(row.start_date, row.end_date)),
        (
            "field.frequency",
            i18n.frequency_label(
                text(doc.get("dct:accrualPeriodicity"), lang).rsplit("/", 1)[-1], lang
            ),
        ),
        ("field.modified", row.modified.strftime("%Y-%m-%d") if row.modified else ""),
        ("field.privacy", i18n.privacy_label(row.privacy_class, lang)),
        ("field.personal", flag("containsPersonalData")),
        ("field.synthetic", flag("synthetic")),
        ("field.license", i18n.licence_label(text(doc.get("dct:license"), lang))),
        ("field.identifier", row.dataset_iri),
    ]
    own = row.partner == conn.settings.partner
    provider = conn.contracts.trust().by_handle.get(row.partner)
    with session_scope(conn.engine) as session:
        held = (
            []
            if own or provider is None
            else consumer.held_agreements(session, provider.participant_id, row.dataset_id)
        )
    agreements = [
        {
            "id": a.id,
            "purpose": i18n.purpose_label(a.purpose, lang),
            "uses": a.use_count,
            "agreed": a.agreed_at.strftime("%Y-%m-%d %H:%M"),
            "revoked": a.revoked_at is not None,
        }
        for a in held
    ]
    signed: SignedIn = request.state.signed_in
    with session_scope(conn.engine) as session:
        budget = remote.last_budget(session, row.partner, row.dataset_id)
    return render(
        request,
        "dataset.html",
        own=own,
        agreements=agreements,
        budget=budget,
        can_ask=not own
        and any(not a["revoked"] for a in agreements)
        and G + "queryProfile" in doc
        and signed.principal.role in remote.QUERY_USERS,
        can_request=not own and signed.principal.role in REQUESTERS,
        purposes=[(p, i18n.purpose_label(p, lang)) for p in PURPOSES],
        title=text(doc.get("dct:title"), lang) or row.title,
        holder=row.partner,
        dataset_id=row.dataset_id,
        stale=row.stale,
        fields=[(k, v) for k, v in fields if v],
        policies=_policies(doc, lang, members),
    )


@router.post("/datasets/{partner}/{dataset_id}/request", dependencies=[console(*REQUESTERS)])
async def request_access(
    request: Request,
    partner: str,
    dataset_id: str,
    purpose: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Ask the holder for an agreement (a DSP negotiation), then follow it on its own page."""
    signed: SignedIn = request.state.signed_in
    if purpose not in PURPOSES:
        raise BadRequest(f"'{purpose}' is not a purpose of the dataspace's list")
    conn = get_connector(request)
    out = await consumer.request_agreement(
        conn.contracts, signed.principal, partner, dataset_id, purpose
    )
    return RedirectResponse(f"{PREFIX}/negotiations/{quote(out.id)}", status_code=303)


FINAL = {"FINALIZED", "TERMINATED"}
# DSP gives a consumer no signal that the provider waits for a person: a request still
# unanswered after this long is shown as possibly waiting for a steward.
STEWARD_WAIT = timedelta(seconds=10)


@pages.get("/negotiations/{pid}")
def negotiation_page(request: Request, pid: str) -> Response:
    """One request for an agreement as it moves (the page refreshes itself until it ends)."""
    conn = get_connector(request)
    lang = language(request)
    signed: SignedIn = request.state.signed_in
    with session_scope(conn.engine) as session:
        n = consumer.my_negotiation(session, signed.principal, pid)
    holder = conn.contracts.trust().by_participant.get(n.counterparty)
    waiting = n.state not in FINAL and conn.identity.clock() - n.created_at > STEWARD_WAIT
    if n.state == "FINALIZED":
        state_key = "neg.agreed"
    elif n.state == "TERMINATED":
        state_key = "neg.refused"
    else:
        state_key = "neg.steward" if waiting else "neg.moving"
    return render(
        request,
        "negotiation.html",
        n=n,
        holder=holder.id if holder else n.counterparty,
        purpose=i18n.purpose_label(n.purpose, lang),
        state_key=state_key,
        final=n.state in FINAL,
        refresh=n.state not in FINAL,
    )


STATE_KEYS = {
    "running": "state.running",
    "succeeded": "state.succeeded",
    "partial": "state.partial",
    "failed": "state.failed",
    "dismissed": "state.dismissed",
}


@pages.get("/work")
def my_work(request: Request) -> Response:
    """My jobs and requests for access, and my organisation's agreements, with their states."""
    conn = get_connector(request)
    lang = language(request)
    signed: SignedIn = request.state.signed_in
    trust = conn.contracts.trust()
    t = i18n.translator(lang)

    def handle(participant: str) -> str:
        member = trust.by_participant.get(participant)
        return member.id if member else participant

    with session_scope(conn.engine) as session:
        jobs = gateway_jobs.my_jobs(session, signed.principal.subject)
        queries = remote.my_queries(session, signed.principal.subject)
        received = shares.shared_with(
            session, signed.principal, conn.identity.own_member().participant_id
        )
        negotiations = consumer.my_negotiations(session, signed.principal)
        held = consumer.held_by_us(session)
    return render(
        request,
        "work.html",
        shared=[
            {
                "id": r.id,
                "model": card(r.job.model).title(lang),
                "by": r.shared_by,
                "from": handle(r.sender),
                "note": r.note,
                "when": r.created_at.strftime("%Y-%m-%d %H:%M"),
            }
            for r in received
        ],
        queries=[
            {
                "id": q.id,
                "dataset": q.dataset_id,
                "holder": q.partner,
                "what": f"{q.query.get('aggregate')} {q.query.get('column') or ''}".strip()
                + (
                    f" · {', '.join(q.query.get('group_by') or [])}"
                    if q.query.get("group_by")
                    else ""
                ),
                "epsilon": q.query.get("epsilon"),
                "state": t("state.refused") if q.status >= 400 else t("state.answered"),
                "created": q.created_at.strftime("%Y-%m-%d %H:%M"),
            }
            for q in queries
        ],
        jobs=[
            {
                "id": j.id,
                "model": j.model,
                "purpose": i18n.purpose_label(j.purpose, lang),
                "state": t(STATE_KEYS[j.state]) if j.state in STATE_KEYS else j.state,
                "created": j.created_at.strftime("%Y-%m-%d %H:%M"),
                "error": j.error,
            }
            for j in jobs
        ],
        negotiations=[
            {
                "id": n.id,
                "dataset": n.dataset_id,
                "holder": handle(n.counterparty),
                "purpose": i18n.purpose_label(n.purpose, lang),
                "state": n.state,
                "created": n.created_at.strftime("%Y-%m-%d %H:%M"),
            }
            for n in negotiations
        ],
        agreements=[
            {
                "id": a.id,
                "dataset": a.dataset_id,
                "holder": handle(a.provider),
                "purpose": i18n.purpose_label(a.purpose, lang),
                "uses": a.use_count,
                "agreed": a.agreed_at.strftime("%Y-%m-%d %H:%M"),
                "revoked": a.revoked_at is not None,
            }
            for a in held
        ],
    )


def error_page(request: Request, exc: Exception) -> Response:
    """A refusal or error on a console page, as a page (the API answers problem+json)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    if isinstance(exc, SignInNeeded):
        if request.method in ("GET", "HEAD"):
            query = f"?{request.url.query}" if request.url.query else ""
            target = quote(request.url.path + query, safe="/")
            why = "" if exc.reason == "signin" else "&why=expired"
            return RedirectResponse(f"{PREFIX}/sign-in?next={target}{why}", status_code=303)
        return render(request, "error.html", status=401, key="signin.expired", detail="")
    if isinstance(exc, RequestValidationError):
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return render(request, "error.html", status=400, key="error.bad", detail=detail)
    if isinstance(exc, StarletteHTTPException):
        key = "error.notfound" if exc.status_code == 404 else "error.bad"
        return render(request, "error.html", status=exc.status_code, key=key, detail="")
    assert isinstance(exc, GemelloError)
    reason = str(exc.extensions.get("reason", ""))
    key = {"role_not_allowed": "error.forbidden", "csrf_invalid": "error.csrf"}.get(
        reason, "error.notfound" if exc.status == 404 else "error.bad"
    )
    return render(request, "error.html", status=exc.status, key=key, detail=exc.detail)


def mount(app: Any) -> None:
    """Serve the console on an app: pages, assets, strict headers, and errors as pages (the
    API's problem+json handlers keep every other path)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from connector.web.security import ConsoleHeaders

    app.include_router(public_router)
    app.include_router(router)
    app.include_router(pages)
    app.include_router(runs)
    app.include_router(ask)
    app.include_router(audit_pages)
    app.include_router(admin_pages)
    app.include_router(steward_pages)
    app.include_router(portal)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.add_middleware(ConsoleHeaders)

    def on_console(kind: type[Exception]) -> Any:
        api = app.exception_handlers[kind]

        async def handle(request: Request, exc: Exception) -> Response:
            path = request.url.path
            if (path.startswith(PREFIX + "/") and not path.startswith(f"{PREFIX}/static")) or (
                path == PORTAL or path.startswith(PORTAL + "/")
            ):
                return error_page(request, exc)
            response: Response = await api(request, exc)
            return response

        return handle

    for kind in (GemelloError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, on_console(kind))
    app.add_exception_handler(SignInNeeded, lambda request, exc: error_page(request, exc))
