"""The console's shell: the templates, the reader's language, and a page rendered with the
values every page shows (who is signed in, the CSRF token). Every page module renders here."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from connector import __version__
from connector.audit.service import READERS
from connector.gateway.jobs import JOB_USERS
from connector.identity.schemas import Role
from connector.identity.sessions import SignedIn
from connector.runtime import get_connector
from connector.web import i18n
from connector.web.security import LANG_COOKIE, PORTAL, PREFIX

HERE = Path(__file__).parent
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def language(request: Request) -> str:
    """The reader's language: `?lang=`, then the cookie, then Italian."""
    return i18n.pick(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A page in the reader's language, with the shell's values (who is signed in, CSRF)."""
    lang = language(request)
    conn = get_connector(request)
    signed: SignedIn | None = getattr(request.state, "signed_in", None)
    html = templates.get_template(name).render(
        t=i18n.translator(lang),
        lang=lang,
        other_lang="en" if lang == "it" else "it",
        path=request.url.path,
        portal=request.url.path.startswith(PORTAL),
        federation=conn.settings.portal_federation,
        partner=conn.settings.partner,
        organisation=conn.settings.legal_name or conn.settings.partner,
        version=__version__,
        user=signed.principal if signed else None,
        csrf=signed.csrf if signed else None,
        static=f"{PREFIX}/static",
        role=i18n.role_label(signed.principal.role.value, lang) if signed else "",
        can_audit=signed is not None and signed.principal.role in READERS,
        can_admin=signed is not None and signed.principal.role is Role.admin,
        can_steward=signed is not None and signed.principal.role in (Role.steward, Role.admin),
        can_run=signed is not None and signed.principal.role in JOB_USERS,
        **values,
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        where = PORTAL if request.url.path.startswith(PORTAL) else PREFIX
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict",
                            path=where, secure=request.url.scheme == "https")  # fmt: skip
    return response


def period(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return "—"
    return f"{start.isoformat() if start else '…'} – {end.isoformat() if end else '…'}"


def text(value: Any, lang: str) -> str:
    """A JSON-LD literal (a string, a language map, or a list of tagged values) as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "@value" in value:
            return str(value["@value"])
        if "@id" in value:
            return str(value["@id"])
        return str(value.get(lang) or value.get("it") or value.get("en") or "")
    if isinstance(value, list):
        tagged = [v for v in value if isinstance(v, dict) and v.get("@language") == lang]
        return text(tagged[0] if tagged else (value[0] if value else ""), lang)
    return "" if value is None else str(value)
