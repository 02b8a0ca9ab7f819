"""The admin's console: the members of the dataspace (the signed trust list this connector
trusts), and the connector's users and API tokens — create a user (the token is shown once, and
only its digest is kept), issue another token, revoke one.

The pages call `connector.identity.service`, as the `/admin` API does, with the same role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from connector.errors import GemelloError
from connector.identity import service as users
from connector.identity.schemas import IssuedToken, NewUser, Role
from connector.runtime import get_connector
from connector.storage import Session, session_scope
from connector.web import i18n
from connector.web.security import PREFIX, console
from connector.web.shell import language, render

pages = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[console(Role.admin)])


def _page(
    request: Request, issued: IssuedToken | None = None, error: str = "", status: int = 200
) -> Response:
    conn = get_connector(request)
    lang = language(request)
    trust = conn.contracts.trust()
    me = conn.identity.own_member()
    with session_scope(conn.engine) as session:
        people = users.list_users(session)
        tokens = users.list_tokens(session)
    return render(
        request,
        "admin.html",
        status=status,
        members=[
            {
                "id": m.id,
                "name": m.legal_name,
                "participant": m.participant_id,
                "url": m.connector_url,
                "keys": [k.kid[:16] + "…" for k in m.keys],
                "own": m.id == me.id,
            }
            for m in sorted(trust.by_handle.values(), key=lambda m: m.id)
        ],
        people=[
            {"name": u.name, "role": i18n.role_label(u.role.value, lang), "active": u.active_tokens}
            for u in people
        ],
        tokens=[
            {
                "id": t.id,
                "user": t.user_name,
                "label": t.label,
                "created": t.created_at.strftime("%Y-%m-%d %H:%M"),
                "revoked": t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "",
            }
            for t in tokens
        ],
        roles=[(r.value, i18n.role_label(r.value, lang)) for r in Role],
        issued=issued,
        error=error,
    )


def _issue(request: Request, make: Callable[[Session], IssuedToken]) -> Response:
    """Make a token in one transaction and show it once (or the page with why not)."""
    try:
        with session_scope(get_connector(request).engine, write=True) as session:
            issued = make(session)
    except GemelloError as exc:
        return _page(request, error=exc.detail, status=exc.status)
    return _page(request, issued=issued, status=201)


@pages.get("/admin")
def admin_page(request: Request) -> Response:
    """Members, users and tokens."""
    return _page(request)


@pages.post("/admin/users")
def create_user(
    request: Request,
    name: Annotated[str, Form(max_length=80)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """A new user with a first token, shown on this page once."""
    try:
        new = NewUser.model_validate({"name": name.strip(), "role": role})
    except ValidationError as exc:
        why = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        return _page(request, error=why, status=400)
    return _issue(request, lambda session: users.add_user(session, new.name, new.role, "console"))


@pages.post("/admin/users/{name}/tokens")
def another_token(request: Request, name: str) -> Response:
    """Another token for a user, shown on this page once."""
    return _issue(request, lambda session: users.issue_token(session, name, "console"))


@pages.post("/admin/tokens/{token_id}/revoke")
def revoke(request: Request, token_id: str) -> Response:
    """Revoke a token: refused from its next request on (its console sessions end too)."""
    conn = get_connector(request)
    try:
        with session_scope(conn.engine, write=True) as session:
            users.revoke_token(session, token_id)
    except GemelloError as exc:
        return _page(request, error=exc.detail, status=exc.status)
    return RedirectResponse(f"{PREFIX}/admin#tokens-title", status_code=303)
