"""Dataspace Protocol 2025-1: contract negotiation and transfer process endpoints.

Provider side under `/negotiations` and `/transfers`, consumer callbacks under `/callback`
(the `callbackAddress` this connector sends). Only other connectors may call them; a process
that is unknown or belongs to another member is a 404 either way. Errors carry the protocol's
`ContractNegotiationError` / `TransferError` members inside the RFC 9457 problem.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Path, Request
from fastapi.responses import FileResponse, JSONResponse

from connector.contracts import common, consumer, provider, schemas
from connector.contracts import transfers as transfer_processes
from connector.contracts.worker import ContractsRuntime
from connector.datasets.service import table_file
from connector.deps import SessionDep, WriteSessionDep
from connector.errors import BadRequest, Problem, Unauthenticated
from connector.identity.auth import AUTH_RESPONSES, PUBLIC, PrincipalDep, access
from connector.runtime import get_connector
from connector.storage.tables import utcnow


def contracts_runtime(request: Request) -> ContractsRuntime:
    """The app's contracts runtime."""
    rt: ContractsRuntime = get_connector(request).contracts
    return rt


RuntimeDep = Annotated[ContractsRuntime, Depends(contracts_runtime)]
Pid = Annotated[str, Path(description="this connector's process id", max_length=80)]
NEGOTIATION_ERROR = {"model": Problem, "description": "a DSP ContractNegotiationError"}
TRANSFER_ERROR = {"model": Problem, "description": "a DSP TransferError"}
ERRORS: dict[int | str, dict[str, Any]] = {400: NEGOTIATION_ERROR, 404: NEGOTIATION_ERROR}
T_ERRORS: dict[int | str, dict[str, Any]] = {400: TRANSFER_ERROR, 404: TRANSFER_ERROR}

negotiations = APIRouter(
    prefix="/negotiations",
    tags=["dataspace protocol: negotiation"],
    dependencies=[access(peers=True)],
    responses=AUTH_RESPONSES | ERRORS,
)
transfers = APIRouter(
    prefix="/transfers",
    tags=["dataspace protocol: transfer"],
    dependencies=[access(peers=True)],
    responses=AUTH_RESPONSES | T_ERRORS,
)
callbacks = APIRouter(
    prefix="/callback",
    tags=["dataspace protocol: consumer callbacks"],
    dependencies=[access(peers=True)],
    responses=AUTH_RESPONSES,
)
data = APIRouter(tags=["dataspace protocol: transfer"], dependencies=[PUBLIC])


def _created(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=201)


# --- provider: negotiation ---------------------------------------------------------------------


@negotiations.get("/{pid}")
def get_negotiation(pid: Pid, session: SessionDep, caller: PrincipalDep) -> dict[str, Any]:
    """The state of a negotiation with the calling connector."""
    return common.negotiation_view(common.get_negotiation(session, caller, pid, "provider"))


@negotiations.post("/request", status_code=201)
def request_negotiation(
    message: schemas.ContractRequestMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
    rt: RuntimeDep,
    background: BackgroundTasks,
) -> JSONResponse:
    """Start a negotiation: the offer (with its `target`) and the purpose of use. The answer is
    REQUESTED; the agreement or the termination follows at the callback address."""
    row = provider.receive_request(
        session, rt.trust(), rt.me().participant_id, caller, message.body()
    )
    background.add_task(rt.wake)
    return _created(common.negotiation_view(row))


@negotiations.post("/{pid}/request")
def counter_request(
    pid: Pid,
    message: schemas.ContractRequestMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
    rt: RuntimeDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """A consumer's counter-request after an offer (decided again)."""
    row = provider.receive_request(
        session, rt.trust(), rt.me().participant_id, caller, message.body(), pid
    )
    background.add_task(rt.wake)
    return common.negotiation_view(row)


@negotiations.post("/{pid}/events")
def negotiation_event(
    pid: Pid,
    message: schemas.EventMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
    rt: RuntimeDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """The consumer accepted an offer (`ACCEPTED`)."""
    row = common.receive_event(session, caller, pid, message.body(), "provider")
    background.add_task(rt.wake)
    return common.negotiation_view(row)


@negotiations.post("/{pid}/agreement/verification")
def verify_agreement(
    pid: Pid,
    message: schemas.VerificationMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
    rt: RuntimeDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """The consumer verified the agreement; the negotiation is finalized."""
    row = provider.receive_verification(session, rt.trust(), caller, pid, message.body())
    background.add_task(rt.wake)
    return common.negotiation_view(row)


@negotiations.post("/{pid}/termination")
def terminate_negotiation(
    pid: Pid,
    message: schemas.NegotiationTermination,
    session: WriteSessionDep,
    caller: PrincipalDep,
) -> dict[str, Any]:
    """The consumer ends the negotiation."""
    row = common.receive_termination(session, caller, pid, message.body(), "provider")
    return common.negotiation_view(row)


# --- provider: transfer ------------------------------------------------------------------------


@transfers.get("/{pid}")
def get_transfer(pid: Pid, session: SessionDep, caller: PrincipalDep) -> dict[str, Any]:
    """The state of a transfer with the calling connector."""
    return common.transfer_view(transfer_processes.get_transfer(session, caller, pid, "provider"))


@transfers.post("/request", status_code=201)
def request_transfer(
    message: schemas.TransferRequestMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
    rt: RuntimeDep,
    background: BackgroundTasks,
) -> JSONResponse:
    """Ask for a pull transfer under an agreement. The policy must permit `read`; the start
    message with a short-lived data address (or the termination) follows at the callback."""
    row = transfer_processes.receive_transfer_request(session, rt.trust(), caller, message.body())
    background.add_task(rt.wake)
    return _created(common.transfer_view(row))


TransferVerb = Literal["start", "completion", "suspension", "termination"]


@transfers.post("/{pid}/{verb}")
def transfer_message(
    pid: Pid,
    verb: TransferVerb,
    message: schemas.TransferMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
    rt: RuntimeDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """The consumer resumes (start), completes, suspends or terminates a transfer."""
    _same_kind(message, verb)
    row = transfer_processes.receive_transfer_message(
        session, rt.me(), rt.trust(), caller, pid, verb, message.body(), "provider", rt.policies
    )
    background.add_task(rt.wake)
    return common.transfer_view(row)


def _same_kind(message: schemas.TransferMessage, verb: str) -> None:
    if message.type != transfer_processes.TRANSFER_MESSAGES[verb]:
        raise BadRequest(f"'{message.type}' was sent to the {verb} endpoint")


@data.get(
    "/transfers/{pid}/data",
    response_class=FileResponse,
    responses={
        200: {
            "description": "the dataset as Parquet",
            "content": {"application/vnd.apache.parquet": {}},
        },
        401: {"model": Problem},
        403: {"model": Problem},
    },
)
def pull_data(
    pid: Pid,
    session: SessionDep,
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <transfer token>")] = None,
) -> FileResponse:
    """Pull the data of a started transfer with the token from its data address."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("send the transfer token as 'Authorization: Bearer ...'", "no_token")
    row = transfer_processes.data_for_token(session, pid, authorization[7:], utcnow())
    settings = get_connector(request).settings
    path = table_file(session, settings.resolved_data_dir, row.dataset_id)
    return FileResponse(
        path, media_type="application/vnd.apache.parquet", filename=f"{row.dataset_id}.parquet"
    )


# --- consumer callbacks ------------------------------------------------------------------------


@callbacks.post("/negotiations/{pid}/offers")
def offer_callback(
    pid: Pid,
    message: schemas.ContractOfferMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
    rt: RuntimeDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """A provider's counter-offer to our request."""
    row = consumer.receive_offer(session, caller, pid, message.body())
    background.add_task(rt.wake)
    return common.negotiation_view(row)


@callbacks.post("/negotiations/{pid}/agreement")
def agreement_callback(
    pid: Pid,
    message: schemas.AgreementMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
    rt: RuntimeDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """The provider's signed agreement: checked, stored and verified back."""
    row = consumer.receive_agreement(session, rt.trust(), rt.me(), caller, pid, message.body())
    background.add_task(rt.wake)
    return common.negotiation_view(row)


@callbacks.post("/negotiations/{pid}/events")
def event_callback(
    pid: Pid, message: schemas.EventMessage, session: WriteSessionDep, caller: PrincipalDep
) -> dict[str, Any]:
    """The provider finalized the negotiation (`FINALIZED`)."""
    row = common.receive_event(session, caller, pid, message.body(), "consumer")
    return common.negotiation_view(row)


@callbacks.post("/negotiations/{pid}/termination")
def termination_callback(
    pid: Pid,
    message: schemas.NegotiationTermination,
    session: WriteSessionDep,
    caller: PrincipalDep,
) -> dict[str, Any]:
    """The provider ended the negotiation (the reasons are kept)."""
    row = common.receive_termination(session, caller, pid, message.body(), "consumer")
    return common.negotiation_view(row)


@callbacks.post("/negotiations/{pid}/revocation")
def revocation_callback(
    pid: Pid,
    message: schemas.RevocationMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
) -> dict[str, Any]:
    """The provider revoked the agreement of this negotiation (a Gemello extension of DSP):
    our copy of the agreement is marked revoked with the provider's reason."""
    consumer.receive_revocation(session, caller, pid, message.body())
    row = common.get_negotiation(session, caller, pid, "consumer")
    return common.negotiation_view(row)


@callbacks.post("/transfers/{pid}/{verb}")
def transfer_callback(
    pid: Pid,
    verb: TransferVerb,
    message: schemas.TransferMessage,
    session: WriteSessionDep,
    caller: PrincipalDep,
    rt: RuntimeDep,
) -> dict[str, Any]:
    """The provider started (with the data address), suspended, completed or ended a transfer."""
    _same_kind(message, verb)
    row = transfer_processes.receive_transfer_message(
        session, rt.me(), rt.trust(), caller, pid, verb, message.body(), "consumer"
    )
    return common.transfer_view(row)
