"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from connector.errors import Problem, ServiceUnavailable
from connector.storage import current_revision, head_revision

router = APIRouter(tags=["system"])


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


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    """Liveness: answers as long as the process serves HTTP."""
    from connector import __version__

    return Health(partner=request.app.state.settings.partner, version=__version__)


@router.get("/ready", response_model=Ready, responses={503: {"model": Problem}})
def ready(request: Request) -> Ready:
    """Readiness: the database answers at the current schema and the policy engine is loaded."""
    state = request.app.state
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
    return Ready(
        database=state.engine.dialect.name,
        schema_revision=revision,
        policy_engine=state.settings.pdp_backend,
        policy_revision=state.pdp.revision,
    )
