"""OGC API – Processes – Part 1: Core 1.0 under `/ogcapi`: the installed models as processes,
run as federated jobs (decision 0028).

A face over the gateway, not a second engine: an execution is `POST /jobs` (the same scenario
validation, roles, agreements, policy decisions, ε and audit entries), a job's status is the
gateway job's state, and dismissal stops the job at every holder. Landing page, conformance,
the API definition and the process descriptions are public, as the model register is; jobs
need a researcher's, steward's or admin's bearer token.

Conformance classes declared, each tested (tests/ogc): core, ogc-process-description, json,
oas30, job-list and dismiss. Not declared: html (the console is the HTML face) and callback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from connector.errors import NotFound, Problem
from connector.gateway import ogc
from connector.gateway.catalog_endpoints import gazetteer
from connector.gateway.index import inputs_by_synthetic
from connector.gateway.jobs import JOB_USERS, JobRunner, my_job, progress
from connector.gateway.jobs_endpoints import JobIn, scenario
from connector.gateway.repository import JobRepository
from connector.identity.auth import AUTH_RESPONSES, PUBLIC, PrincipalDep, access
from connector.identity.schemas import Principal
from connector.runtime import get_connector
from connector.storage import session_scope
from connector.storage.tables import FederatedJob, utcnow
from models import get
from models.registry import INSTALLED

PREFIX = "/ogcapi"
CLASSES = ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss")
TITLE = "Gemello — OGC API - Processes"
JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "an input the process does not take"},
    404: {"model": Problem, "description": "no such process, job, or results not ready"},
    409: {"model": Problem, "description": "the job failed or was dismissed"},
}

docs = APIRouter(prefix=PREFIX, tags=["OGC API - Processes"], dependencies=[PUBLIC])
jobs = APIRouter(
    prefix=PREFIX,
    tags=["OGC API - Processes"],
    dependencies=[access(*JOB_USERS)],
    responses=AUTH_RESPONSES | JSON_ERRORS,
)
ProcessId = Annotated[str, Path(max_length=80, pattern=r"^[a-z0-9][a-z0-9\-]*$")]
JobId = Annotated[str, Path(pattern=r"^job-[0-9a-f\-]{36}$")]


def _base(request: Request) -> tuple[str, str]:
    """The connector's root URL as the caller reached it, and the face's."""
    root = str(request.base_url).rstrip("/")
    return root + PREFIX, root


def _model(process_id: str) -> Any:
    try:
        return get(process_id)
    except KeyError:
        known = ", ".join(m.name for m, _ in INSTALLED)
        raise ogc.NoSuchProcess(f"no process '{process_id}'; the processes: {known}") from None


@docs.get("", summary="Landing page")
def landing(request: Request) -> dict[str, Any]:
    """The landing page: links to the API definition, the conformance declaration and the
    processes."""
    base, _ = _base(request)
    settings = get_connector(request).settings
    return ogc.landing(base, f"Gemello — {settings.legal_name or settings.partner}")


@docs.get("/conformance", summary="Conformance declaration")
def conformance() -> dict[str, Any]:
    """The conformance classes this face implements (and its tests check)."""
    return ogc.conformance(CLASSES)


@docs.get(
    "/api",
    summary="API definition (OpenAPI 3.0)",
    responses={200: {"content": {"application/vnd.oai.openapi+json;version=3.0": {}}}},
)
def api_definition(request: Request) -> JSONResponse:
    """This face's OpenAPI 3.0 definition, made from the connector's own OpenAPI document."""
    doc = ogc.openapi30(request.app.openapi(), PREFIX)
    doc["servers"] = [{"url": _base(request)[1]}]
    return JSONResponse(doc, media_type="application/vnd.oai.openapi+json;version=3.0")


@docs.get("/processes", summary="The processes")
def processes(request: Request) -> dict[str, Any]:
    """One process per installed model version."""
    return ogc.process_list([m for m, _ in INSTALLED], _base(request)[0])


@docs.get("/processes/{process_id}", summary="A process's description",
          responses={404: {"model": Problem}})  # fmt: skip
def process(process_id: ProcessId, request: Request) -> dict[str, Any]:
    """A process: its inputs (the run's purpose and ε, then the scenario, as OpenAPI 3.0
    schemas) and its outputs."""
    return ogc.description(_model(process_id), _base(request)[0])


class ExecuteIn(BaseModel):
    """An execute request (the standard's `execute.yaml`)."""

    model_config = ConfigDict(extra="ignore")

    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="purpose (required), epsilon, and the scenario's fields; a value bare or "
        'qualified as {"value": ...}',
    )
    outputs: dict[str, Any] = Field(default_factory=dict, description="areas, figures")
    response: Literal["document", "raw"] = Field(
        "document", description="raw: one output's value alone (name it in `outputs`)"
    )
    subscriber: dict[str, Any] | None = Field(None, description="not supported (no callbacks)")


def _runner(request: Request) -> JobRunner:
    runner = get_connector(request).jobs
    if runner is None:
        raise ogc.InvalidInput("this connector is not ready to run jobs yet")
    return runner


def _read(request: Request, job_id: str, principal: Principal) -> FederatedJob:
    with session_scope(get_connector(request).engine) as session:
        try:
            job = my_job(session, job_id, principal)
        except NotFound as exc:  # the standard's type for it
            raise ogc.NoSuchJob(exc.detail) from None
        session.expunge(job)
        return job


def _status(request: Request, job: FederatedJob) -> dict[str, Any]:
    base, root = _base(request)
    return ogc.status_info(job, base, root, progress(job, utcnow())["percent"])


def _results(
    request: Request, job: FederatedJob, chosen: Sequence[str] = ogc.OUTPUTS, raw: bool = False
) -> Response:
    status = ogc.status_code(job)
    if status in ("accepted", "running"):
        raise ogc.ResultNotReady(f"job {job.id} is still running: {ogc.message(job)}")
    if status != "successful" or job.result is None:
        raise ogc.JobFailed(f"job {job.id} has no results ({job.state}): {ogc.message(job)}")
    synthetic, _ = inputs_by_synthetic(get_connector(request).engine, job.holders)
    areas = gazetteer(request).areas
    root = _base(request)[1]
    text = ogc.results(job, _model(job.model), areas, root, synthetic, chosen, raw)
    link = ogc.provenance_link(job, root)
    media = ogc.MEDIA[chosen[0]] if raw else "application/json"
    return Response(text, media_type=media, headers={
        "Link": f'<{link["href"]}>; rel="{link["rel"]}"; type="{link["type"]}"'})  # fmt: skip


def _chosen(body: ExecuteIn) -> list[str]:
    unknown = sorted(set(body.outputs) - set(ogc.OUTPUTS))
    if unknown:
        raise ogc.InvalidInput(f"no output {', '.join(unknown)}; the outputs: areas, figures")
    if body.response == "raw" and len(body.outputs) != 1:
        raise ogc.InvalidInput("a raw response carries one output: name it in `outputs`")
    return list(body.outputs) or list(ogc.OUTPUTS)


@jobs.post(
    "/processes/{process_id}/execution",
    summary="Execute a process",
    status_code=200,
    responses={201: {"description": "the job was created (asynchronous, or a long run)"}},
)
async def execute(
    process_id: ProcessId,
    body: ExecuteIn,
    request: Request,
    principal: PrincipalDep,
    prefer: Annotated[str | None, Header(description="respond-async for a job")] = None,
) -> Response:
    """Run the process as a federated job: each holder's policy decides, its ε is charged,
    every step is in the audit log. With `Prefer: respond-async` the answer is the job's status
    (201, `Location`); without, the results once the job ends, or the status after
    `ogc_sync_seconds`."""
    model = _model(process_id)
    if body.subscriber:
        raise ogc.InvalidInput("callbacks (`subscriber`) are not supported: poll the job")
    _chosen(body)
    purpose, epsilon, params = ogc.split_inputs(body.inputs)
    try:
        checked = JobIn(model=model.name, params=params, purpose=purpose, epsilon=epsilon)
    except ValidationError as exc:
        raise ogc.InvalidInput("; ".join(
            f"input '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors()
        )) from None  # fmt: skip
    model, params = scenario(model.name, checked.params)
    runner = _runner(request)
    job = await run_in_threadpool(
        runner.create, model, params, checked.purpose, checked.epsilon, principal
    )
    runner.start(job.id)
    wants_async = prefer is not None and "respond-async" in prefer.lower()
    if not wants_async:
        task = runner.tasks.get(job.id)
        if task is not None:
            await asyncio.wait({task}, timeout=get_connector(request).settings.ogc_sync_seconds)
        job = await run_in_threadpool(_read, request, job.id, principal)
        if job.state != "running":
            chosen = _chosen(body)
            return await run_in_threadpool(_results, request, job, chosen, body.response == "raw")
    info = _status(request, job)
    headers = {"Location": info["links"][0]["href"]}
    if wants_async:
        headers["Preference-Applied"] = "respond-async"
    return JSONResponse(info, status_code=201, headers=headers)


@jobs.get("/jobs", summary="My jobs")
def list_jobs(
    request: Request,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    process_id: Annotated[list[str] | None, Query(alias="processID")] = None,
    status: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """My jobs on this connector, newest first (whichever face started them)."""
    with session_scope(get_connector(request).engine) as session:
        found = list(JobRepository(session).recent(limit, principal.subject))
    infos = [_status(request, j) for j in found]
    infos = [i for i in infos if (not process_id or i["processID"] in process_id)
             and (not status or i["status"] in status)]  # fmt: skip
    return ogc.job_list(infos, _base(request)[0])


@jobs.get("/jobs/{job_id}", summary="A job's status")
def job_status(job_id: JobId, request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """A job's status, progress (per cent) and links: results and provenance once it ends."""
    return _status(request, _read(request, job_id, principal))


@jobs.get("/jobs/{job_id}/results", summary="A job's results")
def job_results(job_id: JobId, request: Request, principal: PrincipalDep) -> Response:
    """The areas as GeoJSON, the other figures as JSON, and a link to the PROV provenance."""
    return _results(request, _read(request, job_id, principal))


@jobs.delete("/jobs/{job_id}", summary="Dismiss a job")
async def dismiss(job_id: JobId, request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """Dismiss a job: a running one stops at every holder (their held ε is given back); a
    finished one has its stored results erased, unless it was shared. Its audit entries and
    provenance stay."""
    try:
        job = await _runner(request).dismiss(job_id, principal)
    except NotFound as exc:  # the standard's type for it
        raise ogc.NoSuchJob(exc.detail) from None
    return _status(request, job)
