"""DP aggregate queries and the epsilon ledger over HTTP.

`POST /privacy/queries` has two callers. Another member's connector, acting for one of its
researchers, is answered here under the agreement it names. A local researcher names an
agreement this connector holds as consumer; the query is forwarded, signed, to the provider, and
the provider's answer (or problem) comes back unchanged.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from connector.deps import SessionDep, WriteSessionDep
from connector.errors import (
    PROBLEM_MEDIA_TYPE,
    BadRequest,
    Problem,
    Unauthenticated,
)
from connector.identity.auth import (
    AUTH_RESPONSES,
    RECORDED_IN_UNIT_OF_WORK,
    PrincipalDep,
    access,
    log_refusal,
    unrecorded_token,
)
from connector.identity.schemas import Role
from connector.privacy import remote, service
from connector.runtime import get_connector
from privacy import AggregateQuery

queries = APIRouter(
    prefix="/privacy",
    tags=["privacy"],
    dependencies=[access(*remote.QUERY_USERS, peers=True)],
    responses=AUTH_RESPONSES,
)
ledger = APIRouter(
    prefix="/privacy",
    tags=["privacy"],
    dependencies=[access(Role.steward, Role.auditor, Role.admin)],
    responses=AUTH_RESPONSES,
)
steward_ledger = APIRouter(
    prefix="/privacy",
    tags=["privacy"],
    dependencies=[access(Role.steward, Role.admin)],
    responses=AUTH_RESPONSES,
)


class QueryRequest(BaseModel):
    """A DP query under an agreement."""

    model_config = ConfigDict(extra="forbid")

    agreement_id: str = Field(max_length=80, description="the agreement covering the dataset")
    query: AggregateQuery


class Budget(BaseModel):
    """An organisation's privacy budget on one dataset, in epsilon."""

    dataset_id: str
    organisation: str
    total: float
    spent: float
    reserved: float = Field(description="held by queries still running")
    remaining: float
    queries: int
    credit: float = Field(0.0, description="given back by stewards' raises and resets")


class BudgetAct(BaseModel):
    """A steward raises or resets an organisation's budget on a dataset, with a reason."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(max_length=120)
    organisation: str = Field(max_length=200, description="the organisation's participant id")
    kind: Literal["raise", "reset"]
    epsilon: float | None = Field(None, gt=0, le=100, description="for a raise: how much")
    reason: str = Field(min_length=10, max_length=2000, description="published with the act")


class BudgetActOut(BaseModel):
    """A recorded raise or reset."""

    id: str
    dataset_id: str
    organisation: str
    kind: str
    epsilon: float
    remaining_before: float
    remaining_after: float
    reason: str
    made_by: str
    made_at: datetime


class QueryAnswer(BaseModel):
    """Noisy cells, how they were made, and the budget left."""

    model_config = ConfigDict(extra="allow")

    query_id: str
    decision_id: str
    agreement_id: str
    dataset: str
    aggregate: str
    epsilon: float
    mechanisms: list[dict[str, Any]] = Field(
        description="each noisy measurement: mechanism, epsilon, sensitivity, noise scale"
    )
    cells: list[dict[str, Any]] = Field(
        description="per group: value, noisy count, standard error, or why it is suppressed"
    )
    budget: Budget


class ChargeOut(BaseModel):
    """One charge against a budget."""

    id: str
    dataset_id: str
    organisation: str
    epsilon: float
    state: str
    kind: str
    decision_id: str | None
    agreement_id: str | None
    summary: dict[str, Any]
    reason: str
    created_at: Any
    settled_at: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem, "description": "denied by the policy, or budget exhausted"},
    404: {"model": Problem},
    422: {"model": Problem, "description": "a query the privacy layer never answers"},
    502: {"model": Problem},
}


async def privacy_runtime(request: Request) -> service.PrivacyRuntime:
    """The app's privacy runtime."""
    rt: service.PrivacyRuntime = get_connector(request).privacy
    return rt


RuntimeDep = Annotated[service.PrivacyRuntime, Depends(privacy_runtime)]


RECORDED_IN_UNIT_OF_WORK.add(("POST", "/privacy/queries"))


@queries.post("/queries", response_model=QueryAnswer, responses=ERRORS)
async def ask(
    body: QueryRequest, principal: PrincipalDep, rt: RuntimeDep, request: Request
) -> JSONResponse:
    """Run a differentially private aggregate under an agreement (see the module text for who
    may call). Every answer spends epsilon from the caller's organisation's budget."""
    contracts = get_connector(request).contracts
    if principal.kind == "connector":
        caller = service.Caller(principal.organisation, principal.subject, principal.role.value)
        token = unrecorded_token(request)
        replay = get_connector(request).identity.replay
        try:
            answer = await run_in_threadpool(
                service.answer_query,
                contracts.engine,
                rt,
                contracts.policies,
                caller,
                body.agreement_id,
                body.query,
                None if token is None else functools.partial(replay.record, assertion=token),
            )
        except Unauthenticated as exc:  # the token was used before: nothing was done
            await run_in_threadpool(log_refusal, request, exc)
            raise
        # Built by us and documented by QueryAnswer: sent as is, not validated a second time.
        return JSONResponse(answer.as_dict())
    return await _forward(request, body, principal)


async def _forward(request: Request, body: QueryRequest, principal: Any) -> JSONResponse:
    conn = get_connector(request)
    query = body.query.model_dump(mode="json")
    status, payload, partner = await remote.ask_provider(
        conn.contracts, conn.peer_client(), principal, body.agreement_id, query
    )
    await run_in_threadpool(
        remote.record_asked,
        conn.engine,
        principal.subject,
        partner,
        body.agreement_id,
        query,
        status,
        payload,
    )
    media = PROBLEM_MEDIA_TYPE if status >= 400 else "application/json"
    return JSONResponse(payload, status_code=status, media_type=media)


@ledger.get("/budgets")
def list_budgets(
    session: SessionDep, dataset: Annotated[str | None, Query(max_length=120)] = None
) -> list[Budget]:
    """Every privacy budget on this connector (per dataset and organisation)."""
    return [Budget(**b) for b in service.budgets(session, dataset)]


@ledger.get("/budgets/acts")
def list_budget_acts(
    session: SessionDep, dataset: Annotated[str | None, Query(max_length=120)] = None
) -> list[BudgetActOut]:
    """Stewards' raises and resets of budgets, newest first, each with its reason."""
    return [BudgetActOut(**a) for a in service.adjustments(session, dataset)]


@steward_ledger.post("/budgets/acts", status_code=201, responses={400: {"model": Problem}})
def act_on_budget(
    body: BudgetAct, session: WriteSessionDep, principal: PrincipalDep, request: Request
) -> BudgetActOut:
    """Raise or reset an organisation's budget on a dataset of this connector: a recorded act,
    with its reason, in the audit log."""
    conn = get_connector(request)
    known = {m.participant_id for m in conn.contracts.trust().by_handle.values()}
    if body.organisation not in known:
        raise BadRequest(f"'{body.organisation}' is not a member of the dataspace")
    act = service.adjust_budget(
        session, body.dataset_id, body.organisation, body.kind, body.reason,
        principal.name or principal.subject, epsilon=body.epsilon,
        default_total=conn.settings.privacy_default_epsilon_total,
    )  # fmt: skip
    return BudgetActOut(**service.adjustment_view(act))


@ledger.get("/charges")
def list_charges(
    session: SessionDep,
    dataset: Annotated[str | None, Query(max_length=120)] = None,
    organisation: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ChargeOut]:
    """The latest charges against the budgets: reserved, committed, refunded or refused."""
    return [ChargeOut(**c) for c in service.charges(session, dataset, organisation, limit)]
