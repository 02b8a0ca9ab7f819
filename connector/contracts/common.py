"""What both sides of a contract share: this connector as a party, the state machines' moves,
the outbox queue, the protocol views, terminations and events.

Every state change goes through `policy.negotiation.advance_*`, and every message to the other
connector is queued in the outbox in the same transaction as the change that produced it; the
worker (connector/contracts/worker.py) delivers it, with retries, also after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from joserfc.jwk import OKPKey

from connector.contracts.repository import (
    ContractRepository,
    OutboxRepository,
)
from connector.errors import BadRequest, GemelloError, NotFound, WrongState
from connector.identity.schemas import Principal, Role
from connector.identity.trustlist import Member, VerifiedTrustList
from connector.storage import Session
from connector.storage.tables import (
    AgreementBlock,
    NegotiationRecord,
    OutboxMessage,
    TransferRecord,
    aware,
    utcnow,
)
from policy import negotiation as dsp

AGREEMENT_SIGNATURE_TYPE = "gemello-agreement+jws"
# DSP has no message for a revoked agreement: this Gemello extension tells the consumer's
# connector, at its negotiation callback, with the protocol's envelope (decision 0010).
REVOCATION_MESSAGE = "gemello:AgreementRevocationMessage"
AGREEABLE_ACTIONS = ("read", "aggregate", "compute")
TRANSFER_TOKEN_SECONDS = 300
CALLBACK_PATH = "/callback"
N = dsp.NegotiationState
T = dsp.TransferState


@dataclass(frozen=True)
class Me:
    """This connector as a party: its participant id, URL and signing key."""

    participant_id: str
    connector_url: str
    kid: str
    key: OKPKey

    @property
    def callback_address(self) -> str:
        """Where other connectors send consumer-side messages."""
        return self.connector_url + CALLBACK_PATH


def _err(
    exc: type[GemelloError], detail: str, provider: str | None, consumer: str | None
) -> GemelloError:
    return exc(detail, providerPid=provider or "unknown", consumerPid=consumer or "unknown")


def _advance_negotiation(row: NegotiationRecord, message: str, sender: str) -> None:
    current = N(row.state) if row.state else None
    try:
        row.state = dsp.advance_negotiation(current, message, sender).value
    except dsp.UnexpectedMessage as exc:
        provider, consumer = _pids(row)
        raise _err(WrongState, str(exc), provider, consumer) from exc
    row.updated_at = utcnow()


def _advance_transfer(row: TransferRecord, message: str, sender: str, apply: bool = True) -> None:
    try:
        state = dsp.advance_transfer(T(row.state), message, sender).value
    except dsp.UnexpectedMessage as exc:
        provider, consumer = _pids(row)
        raise _err(WrongState, str(exc), provider, consumer) from exc
    if apply:
        row.state, row.updated_at = state, utcnow()


def _pids(row: NegotiationRecord | TransferRecord) -> tuple[str | None, str | None]:
    return (row.id, row.peer_pid) if row.role == "provider" else (row.peer_pid, row.id)


def _queue(
    session: Session, row: NegotiationRecord | TransferRecord, path: str, body: dict[str, Any]
) -> None:
    """Queue a message to the counterparty; `path` is relative to its connector URL."""
    OutboxRepository(session).add(
        OutboxMessage(
            process=row.id,
            participant_id=row.counterparty,
            path=path,
            body=body,
            # The consumer acts for the user who asked; a provider answers as itself.
            actor_sub=row.requested_by if row.role == "consumer" else "connector",
            actor_role=getattr(row, "requested_role", "researcher")
            if row.role == "consumer"
            else "steward",
            next_attempt_at=utcnow(),
        )
    )


def _callback_path(row: NegotiationRecord | TransferRecord, member: Member | None) -> str:
    base = row.callback_address
    if member is not None and base.startswith(member.connector_url):
        base = base[len(member.connector_url) :]
    return base


def record_peer_answer(
    row: NegotiationRecord | TransferRecord, answer: dict[str, Any] | None, error: str
) -> None:
    """Our request's row after the provider answered (keep its pid) or could not be reached
    (terminated, with why)."""
    if answer is not None and isinstance(answer.get("providerPid"), str):
        row.peer_pid = row.peer_pid or answer["providerPid"]
    else:
        row.state, row.reason = N.TERMINATED.value, error  # the same word for a transfer
    row.updated_at = utcnow()


def negotiation_view(row: NegotiationRecord) -> dict[str, Any]:
    """A negotiation as DSP's `ContractNegotiation`."""
    provider, consumer = _pids(row)
    return dsp.negotiation_body(provider or "", consumer or "", row.state)


def transfer_view(row: TransferRecord) -> dict[str, Any]:
    """A transfer as DSP's `TransferProcess`."""
    provider, consumer = _pids(row)
    return dsp.transfer_body(provider or "", consumer or "", row.state)


def _own_negotiation(
    session: Session, pid: str, caller: Principal, role: str = "provider"
) -> NegotiationRecord:
    row = ContractRepository(session).negotiation(pid, role)
    if row is None or row.counterparty != caller.organisation:
        # Unknown and someone else's look the same: existence is not disclosed.
        raise _err(NotFound, f"no contract negotiation '{pid}' for you", pid, None)
    return row


def _require_pid(body: dict[str, Any], key: str, expected: str | None) -> None:
    if expected is not None and body.get(key) not in (None, expected):
        raise BadRequest(f"{key} '{body.get(key)}' does not match this process ('{expected}')")


def terminate(
    session: Session,
    row: NegotiationRecord,
    side: str,
    reasons: list[str],
    trust: VerifiedTrustList | None,
) -> NegotiationRecord:
    """End a negotiation from our side and tell the other side why."""
    _advance_negotiation(row, "ContractNegotiationTerminationMessage", side)
    row.reason = "; ".join(reasons)
    session.add(row)
    provider, consumer = _pids(row)
    body = dsp.termination(
        "ContractNegotiationTerminationMessage", provider or "", consumer or "", reasons
    )
    if side == "provider":
        member = trust.by_participant.get(row.counterparty) if trust else None
        path = f"{_callback_path(row, member)}/negotiations/{row.peer_pid}/termination"
    else:
        path = f"/negotiations/{row.peer_pid}/termination"
    if row.peer_pid:
        _queue(session, row, path, body)
    return row


def receive_event(
    session: Session, caller: Principal, pid: str, body: dict[str, Any], role: str
) -> NegotiationRecord:
    """A ContractNegotiationEventMessage (ACCEPTED from a consumer, FINALIZED from a provider)."""
    row = _own_negotiation(session, pid, caller, role)
    other = "provider" if role == "consumer" else "consumer"
    _require_pid(body, "providerPid" if role == "consumer" else "consumerPid", row.peer_pid)
    event = str(body["eventType"])
    _advance_negotiation(row, dsp.EVENTS[event], other)
    if row.state == N.ACCEPTED:
        row.approval = ""  # the provider decides again on the accepted offer
    session.add(row)
    return row


def receive_termination(
    session: Session, caller: Principal, pid: str, body: dict[str, Any], role: str
) -> NegotiationRecord:
    """The other side ended the negotiation."""
    row = _own_negotiation(session, pid, caller, role)
    other = "provider" if role == "consumer" else "consumer"
    _advance_negotiation(row, "ContractNegotiationTerminationMessage", other)
    reasons = body.get("reason") or []
    row.reason = "; ".join(str(r) for r in reasons) or f"terminated by the {other}"
    session.add(row)
    return row


def get_negotiation(session: Session, caller: Principal, pid: str, role: str) -> NegotiationRecord:
    """A negotiation visible to this caller (peers see only their own)."""
    if caller.kind == "connector":
        return _own_negotiation(session, pid, caller, role)
    row = ContractRepository(session).negotiation(pid, role)
    if row is None:
        raise NotFound(f"no contract negotiation '{pid}'")
    return row


def _require_owner(requested_by: str, principal: Principal, what: str) -> None:
    """A researcher acts on their own processes; stewards and admins on their organisation's."""
    if principal.role == Role.researcher and requested_by != principal.subject:
        raise NotFound(f"no {what} of yours")


def block_reason(block: AgreementBlock) -> str:
    """Why a blocked organisation gets no new agreement (told to the consumer)."""
    return (
        f"new agreements for {block.organisation} on '{block.dataset_id}' are blocked since "
        f"{aware(block.blocked_at).date().isoformat()}: agreement {block.agreement_id} was "
        f"revoked ({block.reason or 'no reason given'}); a steward of the provider must lift "
        "the block"
    )
