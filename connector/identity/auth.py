"""Authentication and per-router access rules.

Every request with a bearer token becomes a `Principal`: a local user (API token `gmo_...`) or
another connector (a signed JWT, see `assertions`). Each router declares who may call it, once:

    router = APIRouter(dependencies=[access(Role.steward, Role.admin)])
    router = APIRouter(dependencies=[access(Role.researcher, ..., peers=True)])
    router = APIRouter(dependencies=[PUBLIC])

A test walks the app's routes and fails if any route lacks exactly one such declaration.
Refusals are 401 (who are you?) or 403 (not you / not this), logged on `gemello.security` with
their reason code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from connector.errors import Forbidden, GemelloError, Problem, Unauthenticated
from connector.identity.acting import Actor, current
from connector.identity.assertions import AssertionVerifier, PeerAssertion, ReplayStore
from connector.identity.keys import Clock, KeyFileSigner
from connector.identity.schemas import Principal, Role
from connector.identity.service import TOKEN_PREFIX, authenticate_token
from connector.identity.sink import AuditSink, NoAudit
from connector.identity.trustlist import Member, TrustListInvalid, TrustStore
from connector.settings import Settings
from connector.storage import session_scope

security_log = logging.getLogger("gemello.security")

bearer = HTTPBearer(
    auto_error=False,
    description="A user's API token (`gmo_...`), or a connector's signed JWT (RFC 7523 style).",
)

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing or invalid credentials"},
    403: {"model": Problem, "description": "authenticated, but not allowed here"},
}


@dataclass
class IdentityContext:
    """What authentication needs at request time; built once per app in the lifespan."""

    settings: Settings
    engine: Engine
    trust: TrustStore
    signer: KeyFileSigner
    verifier: AssertionVerifier
    replay: ReplayStore
    clock: Clock
    audit: AuditSink

    @classmethod
    def create(
        cls, settings: Settings, engine: Engine, clock: Clock, audit: AuditSink | None = None
    ) -> IdentityContext:
        """Everything from settings: the trust list with its anchor, the key ring, the stores;
        refusals go to `audit` (the connector's log, injected by the composition root)."""
        trust = TrustStore(settings.trust_list_path, settings.trust_anchor_path)
        return cls(
            settings=settings,
            engine=engine,
            trust=trust,
            signer=KeyFileSigner(settings.resolved_data_dir),
            verifier=AssertionVerifier(trust, settings.partner, clock),
            replay=ReplayStore(engine, clock),
            clock=clock,
            audit=audit or NoAudit(),
        )

    def own_member(self) -> Member:
        """This connector's entry on the verified trust list."""
        member = self.trust.current().by_handle.get(self.settings.partner)
        if member is None:
            raise TrustListInvalid(f"'{self.settings.partner}' is not on the trust list")
        return member


def identity(request: Request) -> IdentityContext:
    """The app's identity context."""
    ctx: IdentityContext = request.app.state.connector.identity
    return ctx


# Routes whose unit of work records the peer token's id itself, first thing in its one write
# transaction (so the request commits once, not twice): their endpoint must take the token with
# `unrecorded_token` and pass it to `ReplayStore.record`. Only for endpoints that write nothing
# before that transaction; a replayed token then changes nothing and is refused there.
RECORDED_IN_UNIT_OF_WORK: set[tuple[str, str]] = set()


def unrecorded_token(request: Request) -> PeerAssertion | None:
    """The verified peer token of this request whose id its unit of work must record."""
    peer: PeerAssertion | None = getattr(request.state, "unrecorded_token", None)
    request.state.unrecorded_token = None
    return peer


def _authenticate(
    ctx: IdentityContext, token: str, defer: bool = False
) -> tuple[Principal, PeerAssertion | None]:
    """The caller, and its peer token when `defer` leaves recording its id to the endpoint."""
    if token.startswith(TOKEN_PREFIX):
        try:
            me = ctx.own_member()
        except TrustListInvalid as exc:
            raise Forbidden(f"the trust list is not valid: {exc}", "trust_list_invalid") from exc
        with session_scope(ctx.engine) as session:
            return authenticate_token(session, token, me.participant_id, me.id), None
    if token.count(".") == 2:
        peer = ctx.verifier.verify(token)
        if not defer:
            ctx.replay.remember(peer)
        principal = Principal(
            kind="connector",
            organisation=peer.issuer,
            partner=peer.partner,
            subject=peer.actor.sub,
            role=peer.actor.role,
            credential=peer.jti,
        )
        return principal, (peer if defer else None)
    raise Unauthenticated(
        "the bearer token is neither an API token nor a signed connector JWT", "token_malformed"
    )


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, or 401/403 problem+json with a reason the audit log can keep."""
    ctx = identity(request)
    try:
        if credentials is None:
            raise Unauthenticated(
                "no bearer token: send 'Authorization: Bearer <token>'", "no_token"
            )
        defer = (request.method, request.url.path) in RECORDED_IN_UNIT_OF_WORK
        principal, peer = _authenticate(ctx, credentials.credentials, defer)
    except (Unauthenticated, Forbidden) as exc:
        log_refusal(request, exc)
        raise
    request.state.unrecorded_token = peer
    request.state.principal = principal
    return principal


def log_refusal(request: Request, exc: GemelloError) -> None:
    """Audit (own transaction) and log a refused request."""
    client = request.client.host if request.client else "-"
    connector = getattr(request.app.state, "connector", None)  # absent before start-up
    ctx: IdentityContext | None = connector.identity if connector is not None else None
    if ctx is not None:
        with session_scope(ctx.engine, write=True) as session:
            ctx.audit.refusal(
                session,
                f"{request.method} {request.url.path}",
                exc.detail,
                {"reason": exc.extensions.get("reason"), "status": exc.status, "client": client},
            )
    security_log.warning(
        "refused %s %s from %s: %s (%s)",
        request.method,
        request.url.path,
        client,
        exc.extensions.get("reason"),
        exc.detail,
        extra={"reason": exc.extensions.get("reason"), "status": exc.status},
    )


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def acting(principal: Principal) -> Principal:
    """Name the principal as the actor of whatever this request writes to the audit log (a
    context variable: set here, in the request's own context, it reaches the endpoint and its
    worker threads)."""
    current.set(Actor(principal.subject, principal.organisation, principal.role.value))
    return principal


class Access:
    """A router's access rule: which local roles, and whether other connectors, may call it."""

    def __init__(self, *roles: Role, peers: bool = False) -> None:
        if not roles and not peers:
            raise ValueError("an access rule must admit someone; use PUBLIC for open routes")
        self.roles = frozenset(roles)
        self.peers = peers

    async def __call__(self, request: Request, principal: PrincipalDep) -> Principal:
        """Admit or refuse (403) the authenticated caller (async: a pure check needs no
        worker thread)."""
        if principal.kind == "connector":
            if not self.peers:
                exc = Forbidden(
                    "this endpoint serves local users only; connectors may not call it",
                    "peer_not_allowed",
                )
                await run_in_threadpool(log_refusal, request, exc)
                raise exc
            return acting(principal)
        if principal.role not in self.roles:
            accepted = ", ".join(sorted(r.value for r in self.roles)) or "none (connectors only)"
            exc = Forbidden(
                f"role '{principal.role.value}' may not call this endpoint; accepted: {accepted}",
                "role_not_allowed",
            )
            await run_in_threadpool(log_refusal, request, exc)
            raise exc
        return acting(principal)

    def __repr__(self) -> str:
        roles = ",".join(sorted(r.value for r in self.roles))
        return f"Access({roles}, peers={self.peers})"


def access(*roles: Role, peers: bool = False) -> DependsParam:
    """The dependency a router declares once."""
    return Depends(Access(*roles, peers=peers))


def public() -> None:
    """Marker dependency: this router needs no credentials."""


PUBLIC = Depends(public)

ANY_LOCAL_ROLE = tuple(Role)
