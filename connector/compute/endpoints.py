"""Model stage runs over HTTP: other members' gateways start, follow and cancel them here."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from connector.compute import service
from connector.compute.repository import RunRepository
from connector.compute.schemas import RUN_ID, RunRequest, RunState
from connector.deps import SessionDep
from connector.errors import Forbidden, Problem
from connector.identity.auth import AUTH_RESPONSES, PrincipalDep, access
from connector.identity.schemas import Principal, Role
from connector.privacy.service import Caller
from connector.runtime import get_connector
from models import MODELS

runs = APIRouter(
    prefix="/compute",
    tags=["compute"],
    dependencies=[access(Role.steward, Role.admin, peers=True)],
    responses=AUTH_RESPONSES,
)
catalogue = APIRouter(
    prefix="/compute",
    tags=["compute"],
    dependencies=[access(Role.researcher, Role.steward, Role.auditor, Role.admin, peers=True)],
    responses=AUTH_RESPONSES,
)
ledger = APIRouter(
    prefix="/compute",
    tags=["compute"],
    dependencies=[access(Role.steward, Role.auditor, Role.admin)],
    responses=AUTH_RESPONSES,
)


class ModelOut(BaseModel):
    """An installed model: what a policy names by hash."""

    name: str
    version: str
    title: str
    hash: str
    stages: list[dict[str, Any]]
    parameters: dict[str, Any] = Field(description="JSON schema of the scenario")


ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem, "description": "refused by the policy, or budget exhausted"},
    404: {"model": Problem},
    409: {"model": Problem},
    422: {"model": Problem, "description": "unknown model or stage, invalid scenario"},
}


def _out(run: Any) -> dict[str, Any]:
    return service.run_view(run).model_dump(mode="json")


def _caller(principal: Principal) -> Caller:
    if principal.kind != "connector":
        raise Forbidden(
            "model runs are started by another member's gateway; use POST /jobs on your own "
            "connector",
            "not_a_connector",
        )
    return Caller(principal.organisation, principal.subject, principal.role.value)


def _org(principal: Principal) -> str | None:
    return principal.organisation if principal.kind == "connector" else None


WaitQuery = Annotated[
    float,
    Query(ge=0, le=30, description="long poll: answer when the run ends, at most this many s"),
]


async def _settled(request: Request, run_id: str, org: str | None, wait: float) -> Any:
    """The run, once it left `running` or `wait` seconds passed (long polling). A run of this
    process wakes its long polls as it ends; one of another server process (`serve_workers`
    > 1) is looked at again every quarter second."""
    deadline = time.monotonic() + wait
    engine = get_connector(request).engine
    rt = get_connector(request).compute
    while True:
        ended = rt.watch(run_id)
        try:
            run = await run_in_threadpool(service.get_run, engine, run_id, org)
            left = deadline - time.monotonic()
            if run.state != "running" or left <= 0:
                return run
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), min(left, 0.25))
        finally:
            rt.unwatch(run_id, ended)


@runs.post(
    "/runs",
    status_code=202,
    response_model=RunState,
    responses={200: {"model": RunState, "description": "the run already exists"}, **ERRORS},
)
async def start_run(
    body: RunRequest, principal: PrincipalDep, request: Request, wait: WaitQuery = 0
) -> JSONResponse:
    """Run one stage of a model on this connector's data, for another member's job: decided by
    the policy (action `compute`, model hash, purpose), epsilon reserved, run in the
    background; follow it with GET. Repeating a run id returns that run."""
    caller = _caller(principal)
    app = get_connector(request)
    run, admission = await run_in_threadpool(
        service.admit, app.engine, app.compute, app.contracts.policies, caller, body
    )
    if admission is None:
        return JSONResponse(_out(run), status_code=200)
    threading.Thread(
        target=service.execute_admitted,
        args=(app.engine, app.compute, admission),
        name=f"run-{run.id}",
        daemon=True,
    ).start()
    if wait > 0:
        run = await _settled(request, run.id, caller.organisation, wait)
    return JSONResponse(_out(run), status_code=202)


@runs.get("/runs/{run_id}", response_model=RunState, responses=ERRORS)
async def show_run(
    run_id: Annotated[str, Path(pattern=RUN_ID)],
    principal: PrincipalDep,
    request: Request,
    wait: WaitQuery = 0,
) -> dict[str, Any]:
    """A run's state; its signed partial once it succeeded. With `wait`, the answer comes as
    soon as the run ends (long polling), so a caller learns of it without a polling delay."""
    return _out(await _settled(request, run_id, _org(principal), wait))


@runs.delete("/runs/{run_id}", response_model=RunState, responses=ERRORS)
async def cancel_run(
    run_id: Annotated[str, Path(pattern=RUN_ID)], principal: PrincipalDep, request: Request
) -> dict[str, Any]:
    """Cancel a run: its worker stops and its reserved budget is given back."""
    state = get_connector(request)
    run = await run_in_threadpool(
        service.cancel, state.engine, state.compute, run_id, _org(principal)
    )
    return _out(run)


@ledger.get("/runs", response_model=list[RunState])
def list_runs(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """The latest model runs on this connector (stewards and auditors)."""
    return [_out(r) for r in RunRepository(session).recent(limit)]


@catalogue.get("/models", response_model=list[ModelOut])
def list_models() -> list[ModelOut]:
    """The models installed on this connector, with the code hash policies name."""
    return [
        ModelOut(
            name=m.name,
            version=m.version,
            title=m.title,
            hash=m.hash,
            stages=[
                {"name": s.name, "datasets": list(s.datasets), "min_holders": s.min_holders}
                for s in m.stages
            ],
            parameters=m.params.model_json_schema(),
        )
        for m in MODELS.values()
    ]
