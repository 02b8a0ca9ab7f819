"""Federated jobs over HTTP: a researcher asks their own connector to run a model everywhere."""

from __future__ import annotations

import asyncio
import difflib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from connector.compute.service import ModelRefused
from connector.deps import SessionDep
from connector.errors import BadRequest, Conflict, Problem
from connector.gateway import provenance, publications, report, shares
from connector.gateway.catalog_endpoints import gazetteer
from connector.gateway.index import inputs_by_synthetic
from connector.gateway.jobs import JOB_USERS, JobRunner, job_view, my_job
from connector.gateway.repository import JobRepository
from connector.identity.auth import AUTH_RESPONSES, PrincipalDep, access
from connector.identity.schemas import Principal
from connector.runtime import get_connector
from connector.storage import session_scope
from connector.storage.tables import FederatedJob
from connector.timestamps import as_utc
from models import Model, get
from models.cards import caveats
from policy.offers import PUBLIC_PURPOSES
from privacy import EPSILON_UNIT, at_least_one_unit

router = APIRouter(
    prefix="/jobs",
    tags=["jobs"],
    dependencies=[access(*JOB_USERS)],
    responses=AUTH_RESPONSES,
)
JOB_ID = r"^job-[0-9a-f\-]{36}$"
JobId = Annotated[str, Path(pattern=JOB_ID)]


class JobIn(BaseModel):
    """A federated model run."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(max_length=80, description="an installed model (GET /compute/models)")
    params: dict[str, Any] = Field(default_factory=dict, description="the scenario")
    purpose: str = Field(
        min_length=1, max_length=40, description=f"e.g. {', '.join(PUBLIC_PURPOSES)}"
    )
    epsilon: float = Field(
        1.0,
        gt=0,
        le=10,
        description="privacy budget each protected dataset spends (>= 0.000001)",
        json_schema_extra={"minimum": EPSILON_UNIT},
    )

    @field_validator("epsilon")
    @classmethod
    def _chargeable(cls, value: float) -> float:
        return at_least_one_unit(value)


class JobOut(BaseModel):
    """A job: its state, each holder's part, and (when done) the headline figures."""

    model_config = ConfigDict(extra="allow")

    id: str
    model: str
    model_hash: str
    params: dict[str, Any]
    purpose: str
    epsilon: float
    state: str = Field(description="running, succeeded, partial (k of n), failed")
    stage: int
    holders: list[dict[str, Any]]
    error: str
    created_at: str
    finished_at: str | None
    summary: dict[str, Any] | None


def _runner(request: Request) -> JobRunner:
    runner: JobRunner | None = get_connector(request).jobs
    if runner is None:
        raise BadRequest("this connector is not ready to run jobs yet")
    return runner


_job = my_job


def _scenario_error(error: Any, fields: dict[str, Any]) -> str:
    """One validation error of a scenario; an unknown top-level name gets the closest known
    one, or the list of them."""
    where = ".".join(map(str, error["loc"]))
    text = f"{where}: {error['msg']}"
    if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
        close = difflib.get_close_matches(where, fields, n=1)
        text += f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(fields)})"
    return text


def scenario(name: str, given: dict[str, Any]) -> tuple[Model, dict[str, Any]]:
    """The installed model and the scenario, validated (422 saying what is wrong)."""
    try:
        model = get(name)
    except KeyError as exc:
        raise ModelRefused(str(exc.args[0])) from None
    try:
        params = model.parse(given).model_dump(mode="json")
    except ValidationError as exc:
        raise ModelRefused(
            f"invalid scenario for {model.name}: "
            + "; ".join(_scenario_error(e, model.params.model_fields) for e in exc.errors())
        ) from None
    return model, params


@router.post("", status_code=202, response_model=JobOut, responses={422: {"model": Problem}})
async def create_job(body: JobIn, principal: PrincipalDep, request: Request) -> dict[str, Any]:
    """Run a model across the federation: the datasets are found in the federated catalogue,
    agreements reused or negotiated, every holder runs its stage next to its data, and the
    partials are combined here. Follow it with GET /jobs/{id}."""
    model, params = scenario(body.model, body.params)
    runner = _runner(request)
    job = await run_in_threadpool(
        runner.create, model, params, body.purpose, body.epsilon, principal
    )
    runner.start(job.id)
    return job_view(job)


@router.get("", response_model=list[JobOut])
def list_jobs(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    """My latest jobs on this connector."""
    return [job_view(j) for j in JobRepository(session).recent(limit, principal.subject)]


def _read_job(request: Request, job_id: str, principal: Principal) -> FederatedJob:
    with session_scope(get_connector(request).engine) as session:
        return _job(session, job_id, principal)


@router.get("/{job_id}", response_model=JobOut, responses={404: {"model": Problem}})
async def show_job(
    job_id: JobId,
    request: Request,
    principal: PrincipalDep,
    wait: Annotated[
        float,
        Query(ge=0, le=30, description="seconds to wait for a running job to end (long poll)"),
    ] = 0,
) -> dict[str, Any]:
    """A job's state and each holder's part (poll this for progress; with `wait`, the answer
    comes as soon as the job ends, or after `wait` seconds)."""
    job = await run_in_threadpool(_read_job, request, job_id, principal)
    if wait > 0 and job.state == "running":
        runner = get_connector(request).jobs
        task = runner.tasks.get(job_id) if runner is not None else None
        if task is not None:  # driven by this process: wake when it ends
            await asyncio.wait({task}, timeout=wait)
            job = await run_in_threadpool(_read_job, request, job_id, principal)
        else:  # driven by another server process: look again now and then
            deadline = time.monotonic() + wait
            while job.state == "running" and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                job = await run_in_threadpool(_read_job, request, job_id, principal)
    view = job_view(job)
    if job.state != "running":  # what the figures rest on, said beside them
        engine = get_connector(request).engine
        synthetic, _ = await run_in_threadpool(inputs_by_synthetic, engine, job.holders)
        view |= {"synthetic_inputs": synthetic, "caveats": caveats(job.model)}
    return view


@router.get("/{job_id}/result", responses={404: {"model": Problem}, 409: {"model": Problem}})
def job_result(job_id: JobId, session: SessionDep, principal: PrincipalDep) -> JSONResponse:
    """The combined result (arrays wire-encoded), with its provenance."""
    job = _job(session, job_id, principal)
    if job.result is None:
        raise Conflict(f"job {job_id} has no result ({job.state}: {job.error or 'running'})")
    return JSONResponse(job_view(job, with_result=True) | {"provenance": job.provenance})


@router.get(
    "/{job_id}/report",
    response_class=HTMLResponse,
    responses={404: {"model": Problem}, 200: {"content": {"text/html": {}}}},
)
def job_report(
    job_id: JobId, session: SessionDep, request: Request, principal: PrincipalDep
) -> HTMLResponse:
    """A short HTML report: headline figures, plots, maps by statistical area, holders and
    provenance."""
    job = _job(session, job_id, principal)
    areas = gazetteer(request).areas
    synthetic, _ = inputs_by_synthetic(get_connector(request).engine, job.holders)
    view = job_view(job, with_result=True)
    return HTMLResponse(report.render(view, job.provenance, areas, synthetic))


@router.get(
    "/{job_id}/provenance",
    responses={
        404: {"model": Problem},
        200: {"content": {"application/ld+json": {}, "text/turtle": {}}},
    },
)
def job_provenance(
    job_id: JobId,
    session: SessionDep,
    principal: PrincipalDep,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """The result's W3C PROV-O provenance: JSON-LD, or Turtle when asked for."""
    job = _job(session, job_id, principal)
    if job.provenance is None:
        raise Conflict(f"job {job_id} has no provenance yet ({job.state})")
    if accept and "text/turtle" in accept:
        graph = provenance.as_graph(job.provenance)
        return Response(graph.serialize(format="turtle"), media_type="text/turtle")
    return JSONResponse(job.provenance, media_type="application/ld+json")


class ShareIn(BaseModel):
    """Who to share a finished run with."""

    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(max_length=40, description="a member handle (own: a colleague)")
    user: str = Field(default="", max_length=120, description="a user name; '' for everyone")
    note: str = Field(default="", max_length=2000)


class ShareOut(BaseModel):
    """A share made: to whom, and the holders' decisions that allowed it."""

    id: str
    job_id: str
    organisation: str
    recipient: str
    note: str
    decisions: list[dict[str, Any]]
    created_at: str


@router.post(
    "/{job_id}/shares",
    status_code=201,
    response_model=ShareOut,
    responses={403: {"model": Problem}, 404: {"model": Problem}, 502: {"model": Problem}},
)
async def share_job(
    job_id: JobId, body: ShareIn, request: Request, principal: PrincipalDep
) -> ShareOut:
    """Share a finished run: with a colleague (always allowed), or with another organisation
    (every input dataset's holder decides the ODRL `share` action; one refusal refuses it,
    naming the dataset and the rule). Recipients see the same released aggregates."""
    job = await run_in_threadpool(_read_job, request, job_id, principal)
    conn = get_connector(request)
    row = await shares.share_run(
        conn.contracts, conn.peer_client(), principal, job, body.organisation, body.user, body.note
    )
    return ShareOut(
        id=row.id,
        job_id=row.job_id,
        organisation=row.organisation,
        recipient=row.recipient,
        note=row.note,
        decisions=list(row.decisions),
        created_at=as_utc(row.created_at).isoformat(),
    )


class PublishIn(BaseModel):
    """What a publication says about the run."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=5, max_length=200, description="shown as the page's title")
    note: str = Field(default="", max_length=4000, description="what the result shows, in words")


class PublishOut(BaseModel):
    """A publication made: its stable address and the holders' decisions that allowed it."""

    id: str
    job_id: str
    title: str
    url: str = Field(description="the public page, stable")
    decisions: list[dict[str, Any]]
    published_at: str


@router.post(
    "/{job_id}/publications",
    status_code=201,
    response_model=PublishOut,
    responses={
        400: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem},
        502: {"model": Problem},
    },
)  # fmt: skip
async def publish_job(
    job_id: JobId, body: PublishIn, request: Request, principal: PrincipalDep
) -> PublishOut:
    """Publish a finished run on this connector's public portal, with a title and a note:
    its released (noised) outputs, scenario, provenance with no person named, the model's
    code hash, epsilon and agreements. Every input dataset's holder decides the ODRL
    `publish` action (denied by default for personal data); one refusal refuses it, naming
    the dataset and the rule."""
    job = await run_in_threadpool(_read_job, request, job_id, principal)
    conn = get_connector(request)
    row = await publications.publish_run(
        conn.contracts, conn.peer_client(), principal, job, body.title, body.note
    )
    return PublishOut(
        id=row.id,
        job_id=row.job_id,
        title=row.title,
        url=f"{conn.identity.own_member().connector_url}/public/results/{row.id}",
        decisions=list(row.decisions),
        published_at=as_utc(row.published_at).isoformat(),
    )
