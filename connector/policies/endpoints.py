"""Usage-policy endpoints: read, set and reset a dataset's ODRL policy, try a request against it,
read it in plain language, and the decision records for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from catalog.model import Publisher
from connector.deps import SessionDep, WriteSessionDep
from connector.errors import BadRequest, Problem
from connector.identity.auth import ANY_LOCAL_ROLE, AUTH_RESPONSES, PrincipalDep, access
from connector.identity.schemas import Role
from connector.policies import service
from connector.policies.repository import DecisionRepository, PolicyRepository
from connector.policies.service import PolicyRuntime
from connector.runtime import get_connector
from connector.timestamps import UtcDateTime
from policy.compiler import describe
from policy.odrl import PolicyInvalid, parse_policy
from policy.request import UsageRequest

DatasetId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,119}$", description="dataset id")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem}}

router = APIRouter(
    prefix="/policies",
    tags=["usage policies"],
    dependencies=[access(*ANY_LOCAL_ROLE)],
    responses=AUTH_RESPONSES,
)
steward_router = APIRouter(
    prefix="/policies",
    tags=["usage policies"],
    dependencies=[access(Role.steward, Role.admin)],
    responses=AUTH_RESPONSES,
)
audit_router = APIRouter(
    tags=["usage policies"],
    dependencies=[access(Role.auditor, Role.steward, Role.admin)],
    responses=AUTH_RESPONSES,
)


def policy_runtime(request: Request) -> PolicyRuntime:
    """The app's policy runtime."""
    rt: PolicyRuntime = get_connector(request).contracts.policies
    return rt


RuntimeDep = Annotated[PolicyRuntime, Depends(policy_runtime)]


class PolicyOut(BaseModel):
    """A dataset's policy in force."""

    dataset_id: str
    target: str
    source: str = Field(description="'steward' (set on this connector) or 'default'")
    version: int = Field(description="0 for a default offer; bumped on every change")
    document: dict[str, Any]
    set_by: str | None
    set_at: UtcDateTime | None


class CheckRequest(BaseModel):
    """A request to try against a dataset's policy (recorded as a decision of kind 'check')."""

    model_config = {"extra": "forbid"}

    action: str = Field(description="use, read, aggregate or compute")
    organisation: str | None = Field(default=None, description="recipient participant id")
    role: str | None = Field(default=None, description="recipient role")
    purpose: str | None = None
    at: datetime | None = Field(default=None, description="default: now (needs a zone)")
    areas: list[str] | None = Field(default=None, description="statistical areas")
    uses: int | None = Field(default=None, ge=0, description="earlier uses")
    model: str | None = Field(default=None, description="model content hash")
    epsilon: float | None = Field(default=None, ge=0)
    spent: float | None = Field(default=None, ge=0, description="epsilon already spent")


class DecisionOut(BaseModel):
    """A decision with its reasons."""

    allow: bool
    decision_id: str
    reasons: list[str]
    obligations: list[dict[str, Any]]
    policy_revision: str


def _out(view: service.PolicyView) -> PolicyOut:
    return PolicyOut(**view.__dict__)


def _publisher(rt: PolicyRuntime) -> Publisher:
    return rt.publisher


@router.get("")
def list_policies(session: SessionDep, rt: RuntimeDep) -> list[PolicyOut]:
    """Every dataset's policy in force (a steward's, or its privacy class's default offer)."""
    ids = sorted(PolicyRepository(session).privacy_classes())
    return [_out(service.get_policy(session, _publisher(rt), d)) for d in ids]


@router.get("/{dataset_id}", responses=NOT_FOUND)
def get_policy(dataset_id: DatasetId, session: SessionDep, rt: RuntimeDep) -> PolicyOut:
    """One dataset's policy in force."""
    return _out(service.get_policy(session, _publisher(rt), dataset_id))


@router.get("/{dataset_id}/explain", responses=NOT_FOUND)
def explain_policy(dataset_id: DatasetId, session: SessionDep, rt: RuntimeDep) -> list[str]:
    """The policy in plain language, one sentence per line."""
    view = service.get_policy(session, _publisher(rt), dataset_id)
    try:
        return describe(parse_policy(view.document), view.target)
    except PolicyInvalid as exc:
        return ["This stored policy no longer passes the profile, so it denies everything:"] + [
            f"• {e}" for e in exc.errors
        ]


@steward_router.put(
    "/{dataset_id}",
    responses=NOT_FOUND | {422: {"model": Problem, "description": "every problem, with where"}},
)
def set_policy(
    dataset_id: DatasetId,
    document: Annotated[dict[str, Any], Body(description="an ODRL policy (compact JSON-LD)")],
    session: WriteSessionDep,
    principal: PrincipalDep,
    rt: RuntimeDep,
    request: Request,
) -> PolicyOut:
    """Set a dataset's policy. Anything outside the Gemello ODRL profile is refused (422, with
    every problem and where it is); it applies to the next decision."""
    who = principal.name or principal.subject
    trust = get_connector(request).identity.trust.current()
    members = {handle: m.participant_id for handle, m in trust.by_handle.items()}
    return _out(service.set_policy(session, _publisher(rt), dataset_id, document, who, members))


@steward_router.delete("/{dataset_id}", responses=NOT_FOUND)
def reset_policy(
    dataset_id: DatasetId, session: WriteSessionDep, rt: RuntimeDep, principal: PrincipalDep
) -> PolicyOut:
    """Drop the steward's policy: the dataset carries its privacy class's default offer again."""
    who = principal.name or principal.subject
    return _out(service.reset_policy(session, _publisher(rt), dataset_id, who))


@audit_router.post("/policies/{dataset_id}/check", responses=NOT_FOUND)
def check_policy(
    dataset_id: DatasetId, body: CheckRequest, session: WriteSessionDep, rt: RuntimeDep
) -> DecisionOut:
    """Try a request against the policy in force; the decision is recorded like any other."""
    view = service.get_policy(session, _publisher(rt), dataset_id)
    if body.at is not None and body.at.tzinfo is None:
        raise BadRequest("'at' needs a time zone, e.g. 2026-05-01T10:00:00+02:00")
    request = UsageRequest(
        target=view.target,
        action=body.action,
        at=body.at or service.utcnow(),
        purpose=body.purpose,
        recipient=body.organisation,
        recipient_role=body.role,
        spatial=tuple(body.areas) if body.areas is not None else None,
        use_count=body.uses,
        model_hash=body.model,
        epsilon=body.epsilon,
        epsilon_spent=body.spent,
    )
    decision = rt.decide(session, request, context="check", organisation=body.organisation or "")
    return DecisionOut(
        allow=decision.allow,
        decision_id=decision.decision_id,
        reasons=list(decision.reasons),
        obligations=[dict(o) for o in decision.obligations],
        policy_revision=decision.policy_revision,
    )


@audit_router.get("/decisions")
def list_decisions(
    session: SessionDep,
    dataset: Annotated[str | None, Query(description="dataset id")] = None,
    organisation: Annotated[str | None, Query(description="recipient participant id")] = None,
    allowed: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Decision records, newest first, in OPA's decision-log shape (the acting person erased)."""
    rows = DecisionRepository(session).search(dataset, organisation, allowed, limit)
    return [service.as_decision_log(r) for r in rows]
