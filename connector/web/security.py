"""The console's guards: who is signed in (server-side sessions), which roles a page admits,
CSRF tokens on every state-changing request, and strict browser headers on every response.

Every console route declares exactly one rule, as API routes do (`console(...)` or
`CONSOLE_PUBLIC`); a test walks the routes. A refusal is logged and audited like an API one.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from starlette.concurrency import run_in_threadpool

from connector.errors import Forbidden, Unauthenticated
from connector.identity.auth import acting, log_refusal
from connector.identity.schemas import Role
from connector.identity.sessions import Limits, SignedIn, resolve, touch
from connector.runtime import get_connector
from connector.storage import session_scope

COOKIE = "gemello_session"
LOGIN_CSRF_COOKIE = "gemello_signin"
LANG_COOKIE = "gemello_lang"
PREFIX = "/console"
PORTAL = "/public"  # the transparency portal: no sign-in, the same shell and headers

# No inline script or style, nothing from another origin, no framing, forms post only here.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class SignInNeeded(Exception):
    """No live session: a page sends the browser to the sign-in form (with why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConsoleRefused(Forbidden):
    """A console request refused: a role the page does not admit, or a forged form (a page
    with status 403, the reason in the audit log)."""


def limits(request: Request) -> Limits:
    """The session lifetimes from the connector's settings."""
    s = get_connector(request).settings
    return Limits(
        idle=timedelta(minutes=s.console_idle_minutes),
        absolute=timedelta(hours=s.console_session_hours),
    )


def _signed_in(request: Request) -> SignedIn:
    conn = get_connector(request)
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise SignInNeeded("signin")
    me = conn.identity.own_member()
    now = conn.identity.clock()
    try:
        with session_scope(conn.engine) as session:
            signed = resolve(session, secret, me.participant_id, me.id, now, limits(request))
    except Unauthenticated as exc:
        log_refusal(request, exc)
        raise SignInNeeded("expired") from None
    if signed.renew:  # at most once a minute: page views take no write lock otherwise
        with session_scope(conn.engine, write=True) as session:
            touch(session, signed.session_id, now)
    return signed


class ConsoleAccess:
    """A console route's rule: the roles it admits; for a POST, a valid CSRF token too."""

    def __init__(self, *roles: Role) -> None:
        if not roles:
            raise ValueError("a console rule must admit a role; use CONSOLE_PUBLIC for open pages")
        self.roles = frozenset(roles)

    async def __call__(self, request: Request) -> SignedIn:
        signed = await run_in_threadpool(_signed_in, request)
        acting(signed.principal)  # here, in the request's own context, as the API does
        if signed.principal.role not in self.roles:
            accepted = ", ".join(sorted(r.value for r in self.roles))
            exc = ConsoleRefused(
                f"role '{signed.principal.role.value}' may not open this page; accepted: "
                f"{accepted}",
                "role_not_allowed",
            )
            await run_in_threadpool(log_refusal, request, exc)
            raise exc
        if request.method not in ("GET", "HEAD"):
            await check_csrf(request, signed.csrf)
        request.state.signed_in = signed
        return signed


async def check_csrf(request: Request, expected: str) -> None:
    """The request's CSRF token (form field `csrf` or header `X-CSRF-Token`) must match."""
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    if not given or not secrets.compare_digest(given, expected):
        exc = ConsoleRefused("missing or wrong CSRF token", "csrf_invalid")
        await run_in_threadpool(log_refusal, request, exc)
        raise exc


def console(*roles: Role) -> DependsParam:
    """The dependency a console route declares once."""
    return Depends(ConsoleAccess(*roles))


def console_public() -> None:
    """Marker: this console route needs no session (sign-in, assets, language)."""


CONSOLE_PUBLIC = Depends(console_public)


def portal_page() -> None:
    """Marker: a page of the public portal (anyone may read it; it shows no person)."""


def public_page() -> DependsParam:
    """The dependency every portal route declares."""
    return Depends(portal_page)


EVERY_ROLE = tuple(Role)


class ConsoleHeaders:
    """ASGI middleware: strict security headers on every console response."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http" or not scope["path"].startswith((PREFIX, PORTAL)):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in HEADERS if k not in names
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
