"""Local API for contracts: start negotiations and transfers as a consumer, follow them, and the
steward's side — approvals and agreement revocation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from connector.contracts import approvals, consumer, transfers, uses
from connector.contracts.dsp_endpoints import RuntimeDep
from connector.contracts.repository import ContractRepository, TransferRepository
from connector.contracts.schemas import (
    CONTRACT_USERS,
    AgreementOut,
    BlockOut,
    NegotiationOut,
    NewNegotiation,
    NewTransfer,
    Reason,
    Revocation,
    TransferOut,
)
from connector.deps import SessionDep, WriteSessionDep
from connector.errors import NotFound, Problem
from connector.identity.auth import AUTH_RESPONSES, PrincipalDep, access
from connector.identity.schemas import Role
from connector.runtime import get_connector
from connector.storage.tables import (
    AgreementBlock,
    AgreementRecord,
    NegotiationRecord,
    TransferRecord,
)

USERS = CONTRACT_USERS
Id = Annotated[str, Path(max_length=80)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem}}

router = APIRouter(
    prefix="/contracts",
    tags=["contracts"],
    dependencies=[access(*USERS, Role.auditor)],
    responses=AUTH_RESPONSES,
)
consumer_router = APIRouter(
    prefix="/contracts",
    tags=["contracts"],
    dependencies=[access(*USERS)],
    responses=AUTH_RESPONSES,
)
steward_router = APIRouter(
    tags=["approvals and revocation"],
    dependencies=[access(Role.steward, Role.admin)],
    responses=AUTH_RESPONSES,
)


def negotiation_out(row: NegotiationRecord) -> NegotiationOut:
    """The API view of a negotiation."""
    return NegotiationOut(**row.model_dump(exclude={"offer"}), offer_id=str(row.offer.get("@id")))


def agreement_out(row: AgreementRecord) -> AgreementOut:
    """The API view of an agreement."""
    return AgreementOut(**row.model_dump())


def transfer_out(row: TransferRecord) -> TransferOut:
    """The API view of a transfer."""
    return TransferOut(**row.model_dump())


# --- consumer: negotiations ----------------------------------------------------------------------


@consumer_router.post(
    "/negotiations",
    status_code=201,
    responses={400: {"model": Problem}, 404: {"model": Problem}, 502: {"model": Problem}},
)
async def negotiate(
    body: NewNegotiation, principal: PrincipalDep, rt: RuntimeDep
) -> NegotiationOut:
    """Ask another member for an agreement on one of its datasets, for a stated purpose. The
    offer is read from the provider's catalogue; follow the negotiation with GET."""
    return await consumer.request_agreement(rt, principal, body.partner, body.dataset, body.purpose)


def _own_only(principal: Any) -> str | None:
    """Researchers see their own processes; stewards, admins and auditors every one."""
    return str(principal.subject) if principal.role is Role.researcher else None


@router.get("/negotiations")
def list_negotiations(
    session: SessionDep,
    principal: PrincipalDep,
    role: Annotated[Literal["provider", "consumer"] | None, Query()] = None,
) -> list[NegotiationOut]:
    """Negotiations on either side, newest first (a researcher's own only)."""
    mine = _own_only(principal)
    if mine is not None:
        if role == "provider":
            return []
        role = "consumer"
    rows = ContractRepository(session).negotiations(role=role, requested_by=mine)
    return [negotiation_out(r) for r in rows]


@router.get("/negotiations/{pid}", responses=NOT_FOUND)
def show_negotiation(pid: Id, session: SessionDep, principal: PrincipalDep) -> NegotiationOut:
    """One negotiation (either side; a researcher's own only)."""
    repo = ContractRepository(session)
    row = repo.negotiation(pid, "consumer") or repo.negotiation(pid, "provider")
    mine = _own_only(principal)
    if row is None or (mine is not None and (row.role, row.requested_by) != ("consumer", mine)):
        raise NotFound(f"no negotiation '{pid}'")
    return negotiation_out(row)


@consumer_router.post("/negotiations/{pid}/terminate", responses=NOT_FOUND)
def end_negotiation(
    pid: Id, body: Reason, session: WriteSessionDep, principal: PrincipalDep, rt: RuntimeDep
) -> NegotiationOut:
    """End one of our (consumer) negotiations; the provider is told why."""
    row = consumer.consumer_terminate_negotiation(session, principal, pid, body.reason)
    rt.wake()
    return negotiation_out(row)


# --- agreements ----------------------------------------------------------------------------------


@router.get("/agreements")
def list_agreements(
    session: SessionDep,
    role: Annotated[Literal["provider", "consumer"] | None, Query()] = None,
) -> list[AgreementOut]:
    """Agreements granted (provider) or held (consumer), newest first."""
    return [agreement_out(r) for r in ContractRepository(session).agreements(role=role)]


@router.get("/agreements/{agreement_id}", responses=NOT_FOUND)
def show_agreement(agreement_id: Annotated[str, Path()], session: SessionDep) -> AgreementOut:
    """One agreement with its signed document."""
    row = ContractRepository(session).agreement(agreement_id)
    if row is None:
        raise NotFound(f"no agreement '{agreement_id}'")
    return agreement_out(row)


# --- consumer: transfers -------------------------------------------------------------------------


@consumer_router.post("/transfers", status_code=201, responses={502: {"model": Problem}})
async def pull(body: NewTransfer, principal: PrincipalDep, rt: RuntimeDep) -> TransferOut:
    """Ask the provider for a pull transfer under an agreement we hold. Once STARTED, the
    transfer's `data_address` holds the URL and the short-lived token to GET the data."""
    return await consumer.open_transfer(rt, principal, body.agreement_id)


@router.get("/transfers")
def list_transfers(
    session: SessionDep,
    principal: PrincipalDep,
    role: Annotated[Literal["provider", "consumer"] | None, Query()] = None,
) -> list[TransferOut]:
    """Transfers on either side, newest first (a researcher's own only)."""
    mine = _own_only(principal)
    if mine is not None:
        if role == "provider":
            return []
        role = "consumer"
    return [transfer_out(r) for r in TransferRepository(session).all(role=role, requested_by=mine)]


@router.get("/transfers/{pid}", responses=NOT_FOUND)
def show_transfer(pid: Id, session: SessionDep, principal: PrincipalDep) -> TransferOut:
    """One transfer (either side; a researcher's own only)."""
    repo = TransferRepository(session)
    row = repo.get(pid, "consumer") or repo.get(pid, "provider")
    mine = _own_only(principal)
    if row is None or (mine is not None and (row.role, row.requested_by) != ("consumer", mine)):
        raise NotFound(f"no transfer '{pid}'")
    return transfer_out(row)


ACTIONS = {
    "complete": "completion",
    "suspend": "suspension",
    "resume": "start",
    "terminate": "termination",
}


@consumer_router.post("/transfers/{pid}/{action}", responses=NOT_FOUND)
def transfer_action(
    pid: Id,
    action: Literal["complete", "suspend", "resume", "terminate"],
    session: WriteSessionDep,
    principal: PrincipalDep,
    rt: RuntimeDep,
) -> TransferOut:
    """Complete, suspend, resume or terminate one of our transfers (the provider is told)."""
    row = transfers.consumer_transfer_action(session, principal, pid, ACTIONS[action])
    rt.wake()
    return transfer_out(row)


# --- steward: approvals and revocation ------------------------------------------------------------


@steward_router.get("/approvals")
def list_approvals(session: SessionDep) -> list[NegotiationOut]:
    """Negotiations waiting for a steward's approval (the policy carries `obtainApproval`)."""
    return [negotiation_out(r) for r in approvals.pending_approvals(session)]


@steward_router.post("/approvals/{pid}/approve", responses=NOT_FOUND | {400: {"model": Problem}})
def approve(
    pid: Id, session: WriteSessionDep, principal: PrincipalDep, rt: RuntimeDep
) -> NegotiationOut:
    """Approve: the agreement is signed and sent to the consumer."""
    row = approvals.approve(session, rt.policies, rt.me(), rt.trust(), pid, _who(principal))
    rt.wake()
    return negotiation_out(row)


@steward_router.post("/approvals/{pid}/reject", responses=NOT_FOUND | {400: {"model": Problem}})
def reject(
    pid: Id, body: Reason, session: WriteSessionDep, principal: PrincipalDep, rt: RuntimeDep
) -> NegotiationOut:
    """Reject with a reason: the negotiation is terminated and the consumer told why."""
    row = approvals.reject(session, rt.trust(), pid, _who(principal), body.reason)
    rt.wake()
    return negotiation_out(row)


@steward_router.post(
    "/contracts/agreements/{agreement_id}/revoke", responses=NOT_FOUND | {400: {"model": Problem}}
)
def revoke(
    agreement_id: Annotated[str, Path()],
    body: Revocation,
    session: WriteSessionDep,
    principal: PrincipalDep,
    rt: RuntimeDep,
) -> AgreementOut:
    """Revoke an agreement this connector granted: later uses are denied at once, open
    transfers are terminated, the consumer's connector is told, and (unless `block` is false)
    the organisation gets no new agreement on the dataset until a steward lifts the block."""
    row = approvals.revoke(
        session, rt.trust(), agreement_id, _who(principal), body.reason, body.block
    )
    rt.wake()
    return agreement_out(row)


def block_out(row: AgreementBlock) -> BlockOut:
    """The API view of a block."""
    assert row.id is not None
    return BlockOut(**row.model_dump())


@steward_router.get("/contracts/blocks")
def list_blocks(
    session: SessionDep,
    all_: Annotated[bool, Query(alias="all", description="lifted ones too")] = False,
) -> list[BlockOut]:
    """Organisations blocked from new agreements on a dataset after a revocation."""
    return [block_out(b) for b in ContractRepository(session).blocks(active_only=not all_)]


@steward_router.post(
    "/contracts/blocks/{block_id}/lift", responses=NOT_FOUND | {400: {"model": Problem}}
)
def lift_block(
    block_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: Reason,
    session: WriteSessionDep,
    principal: PrincipalDep,
) -> BlockOut:
    """Lift a block, with a reason: the organisation may negotiate for the dataset again."""
    return block_out(approvals.lift_block(session, block_id, _who(principal), body.reason))


def _who(principal: Any) -> str:
    return str(principal.name or principal.subject)


shares_router = APIRouter(
    prefix="/contracts/shares",
    tags=["contracts"],
    dependencies=[access(peers=True)],
    responses=AUTH_RESPONSES,
)


class ShareAsk(BaseModel):
    """May results made under this agreement be shown to another organisation?"""

    model_config = ConfigDict(extra="forbid")

    agreement_id: str = Field(max_length=80)
    recipient: str = Field(max_length=200, description="the recipient's participant id")
    job_id: str = Field(default="", max_length=80)


class ShareAnswer(BaseModel):
    """The provider's decision on a share or a publication (recorded on its side)."""

    allow: bool
    decision_id: str
    reasons: list[str]

    @classmethod
    def of(cls, outcome: uses.UseOutcome) -> ShareAnswer:
        """A use's outcome as the answer sent back."""
        return cls(
            allow=outcome.allowed,
            decision_id=outcome.decision.decision_id,
            reasons=list(outcome.reasons),
        )


@shares_router.post("/decide", response_model=ShareAnswer)
def decide_share(
    body: ShareAsk, session: WriteSessionDep, principal: PrincipalDep, request: Request
) -> ShareAnswer:
    """Another member asks, for one of its users, whether results derived from this
    connector's dataset under their agreement may be shared with a third organisation: the
    dataset's policy decides the `share` action (recipient = that organisation); the use is
    counted and the decision recorded, allowed or not."""
    outcome = uses.decide_share(
        session,
        get_connector(request).contracts.policies,
        body.agreement_id,
        principal.organisation,
        body.recipient,
        subject=principal.subject,
        job_id=body.job_id,
    )
    return ShareAnswer.of(outcome)


publications_router = APIRouter(
    prefix="/contracts/publications",
    tags=["contracts"],
    dependencies=[access(peers=True)],
    responses=AUTH_RESPONSES,
)


class PublishAsk(BaseModel):
    """May results made under this agreement be published for anyone to read?"""

    model_config = ConfigDict(extra="forbid")

    agreement_id: str = Field(max_length=80)
    job_id: str = Field(default="", max_length=80)


@publications_router.post("/decide", response_model=ShareAnswer)
def decide_publish(
    body: PublishAsk, session: WriteSessionDep, principal: PrincipalDep, request: Request
) -> ShareAnswer:
    """Another member asks, for one of its users, whether results derived from this
    connector's dataset under their agreement may be published on its public portal: the
    dataset's policy decides the `publish` action; the use is counted and the decision
    recorded, allowed or not."""
    outcome = uses.decide_publish(
        session,
        get_connector(request).contracts.policies,
        body.agreement_id,
        principal.organisation,
        subject=principal.subject,
        job_id=body.job_id,
    )
    return ShareAnswer.of(outcome)
