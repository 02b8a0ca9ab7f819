"""The admin's console: the members of the dataspace (the signed trust list this connector
trusts), the connector's users and API tokens — create a user (the token is shown once, and
only its digest is kept), issue another token, revoke one — its signing keys (age, rotation
with an overlap), and its health.

The pages call `connector.identity.service`, as the `/admin` API does, with the same role.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from connector.audit import repository as store
from connector.contracts.repository import OutboxRepository
from connector.errors import GemelloError
from connector.identity import service as users
from connector.identity.keys import KeyRing
from connector.identity.membership import rotate_keys as rotate
from connector.identity.schemas import IssuedToken, NewUser, Role
from connector.runtime import Connector, get_connector
from connector.settings import ConfigError
from connector.storage import Session, session_scope
from connector.storage.tables import utcnow
from connector.system import health
from connector.web import i18n
from connector.web.audit import ask_members
from connector.web.security import PREFIX, console
from connector.web.shell import language, render

pages = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[console(Role.admin)])
MAX_OVERLAP_S = 7 * 86400


def _page(
    request: Request,
    issued: IssuedToken | None = None,
    error: str = "",
    status: int = 200,
    rotated: str = "",
) -> Response:
    conn = get_connector(request)
    lang = language(request)
    trust = conn.contracts.trust()
    me = conn.identity.own_member()
    with session_scope(conn.engine) as session:
        people = users.list_users(session)
        tokens = users.list_tokens(session)
    ring = KeyRing.load(KeyRing.path_for(conn.settings.resolved_data_dir))
    now = utcnow()
    return render(
        request,
        "admin.html",
        status=status,
        keys=[
            {
                "kid": e.kid,
                "created": e.created[:16].replace("T", " "),
                "age": i18n.number((now - datetime.fromisoformat(e.created)).days, 0, lang),
                "retires": (e.not_after or "")[:16].replace("T", " "),
                "active": e.kid == ring.active,
            }
            for e in ring.entries
        ],
        rotated=rotated,
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


@pages.post("/admin/keys/rotate")
def rotate_keys(
    request: Request, overlap: Annotated[int, Form(ge=0, le=MAX_OVERLAP_S)] = 600
) -> Response:
    """A new signing key: published on the trust list with the old one, which stays valid for
    the overlap (requests already signed with it still verify), then signed with."""
    conn = get_connector(request)
    try:
        _, new, _ = rotate(conn.settings.home, conn.settings,
                                          timedelta(seconds=overlap))  # fmt: skip
    except (ConfigError, OSError) as exc:
        why = i18n.MESSAGES["admin.norotate"][language(request)]
        return _page(request, error=f"{why} ({exc})", status=409)
    return _page(request, rotated=new)


def _local_health(conn: Connector) -> tuple[list[health.Check], int]:
    """This connector's checks, and the size of its latest signed checkpoint."""
    with session_scope(conn.engine) as session:
        waiting = OutboxRepository(session).pending_count()
        size, queued = store.size(session), store.queued(session)
        latest = store.latest_checkpoint(session)
    compute = conn.__dict__.get("compute")  # built on a connector's first run
    checks = [
        health.database(conn.engine),
        health.policy_engine(conn.pdp.ready(), conn.settings.pdp_backend, conn.pdp.revision),
        health.executor(
            conn.settings.compute_executor,
            type(compute.light).__name__ if compute else None,
            type(compute.heavy).__name__ if compute else None,
            len(compute.cancels) if compute else 0,
        ),
        health.outbox(waiting),
        health.audit_log(size, queued, (latest.size, latest.at) if latest else None, utcnow()),
    ]
    return checks, latest.size if latest else 0


@pages.get("/admin/health")
async def health_page(request: Request) -> Response:
    """The connector's health: database, policy engine, executor, outbox, audit log, and how
    far each other member has co-signed this log (asked of them now)."""
    conn = get_connector(request)
    local, mine = await run_in_threadpool(_local_health, conn)
    answers = await ask_members(request, "/audit/members/witnessed", {})
    witnesses = []
    for a in answers:
        sizes = [int(h["size"]) for h in a.get("items") or []]
        witnesses.append(
            {
                "member": a["member"],
                "status": a["status"],
                "largest": max(sizes) if sizes else 0,
                "lag": mine - max(sizes) if sizes else mine,
            }  # fmt: skip
        )
    lang = language(request)
    return render(
        request,
        "admin_health.html",
        checks=[
            {
                "part": i18n.MESSAGES[f"health.{c.part}"][lang],
                "state": c.state,
                "detail": c.detail[lang],
            }
            for c in local
        ],
        witnesses=witnesses,
        checkpointed=mine,
    )
