"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from connector.errors import Problem, ServiceUnavailable
from connector.identity.auth import PUBLIC
from connector.identity.trustlist import TrustListInvalid
from connector.runtime import get_connector
from connector.storage import current_revision, head_revision

# Probes answer anyone: orchestrators do not hold tokens.
router = APIRouter(tags=["system"], dependencies=[PUBLIC])


class Health(BaseModel):
    """The process is up."""

    status: Literal["alive"] = "alive"
    partner: str
    version: str


class Ready(BaseModel):
    """Every dependency answered."""

    status: Literal["ready"] = "ready"
    database: str
    schema_revision: str
    policy_engine: str
    policy_revision: str
    participant_id: str
    trust_list_revision: int


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    """Liveness: answers as long as the process serves HTTP."""
    from connector import __version__

    return Health(partner=get_connector(request).settings.partner, version=__version__)


@router.get("/ready", response_model=Ready, responses={503: {"model": Problem}})
def ready(request: Request) -> Ready:
    """Readiness: database at the current schema, policy engine loaded, trust list verified."""
    state = get_connector(request)
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(state.engine)
    except Exception as exc:
        raise ServiceUnavailable(f"database unreachable: {type(exc).__name__}") from exc
    if revision != head_revision():
        raise ServiceUnavailable(f"database schema at {revision}, expected {head_revision()}")
    if not state.pdp.ready():
        raise ServiceUnavailable("policy engine loaded but its probe evaluation failed")
    ctx = state.identity
    try:
        me = ctx.own_member()
        revision_tl = ctx.trust.current().space.revision
    except TrustListInvalid as exc:
        raise ServiceUnavailable(f"trust list not usable: {exc}") from exc
    kid, _key = ctx.signer.active_key()
    if kid not in {k.kid for k in me.keys}:
        raise ServiceUnavailable(
            f"this connector's signing key {kid} is not on the trust list; other members "
            "would refuse its calls (run `gemello init` or `gemello keys rotate`)"
        )
    return Ready(
        participant_id=me.participant_id,
        trust_list_revision=revision_tl,
        database=state.engine.dialect.name,
        schema_revision=revision,
        policy_engine=state.settings.pdp_backend,
        policy_revision=state.pdp.revision,
    )
