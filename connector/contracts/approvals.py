"""The steward's side of contracts: approvals, rejections, revocations and agreement blocks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connector.contracts.common import (
    REVOCATION_MESSAGE,
    Me,
    N,
    _callback_path,
    _queue,
    terminate,
)
from connector.contracts.impact import CHECKED, trial_use
from connector.contracts.provider import agree
from connector.contracts.repository import (
    ContractRepository,
    TransferRepository,
)
from connector.contracts.transfers import terminate_transfer
from connector.errors import NotFound, WrongState
from connector.identity.trustlist import VerifiedTrustList
from connector.policies.service import (
    PolicyRuntime,
    effective_documents,
    needs_approval,
    use_limit,
)
from connector.storage import Session
from connector.storage.tables import (
    AgreementBlock,
    AgreementRecord,
    NegotiationRecord,
    aware,
    utcnow,
)
from policy import negotiation as dsp


@dataclass(frozen=True)
class Standing:
    """What an organisation may still do under an agreement: uses left under the policy in
    force (None: no limit), the day its permissions end ('' if they do not), and why it may
    do nothing: 'approval' (the policy wants a steward's approval it lacks), 'no-use' (the
    policy in force allows none), '' if it may."""

    uses_left: int | None
    until: str
    blocked: str = ""


def granted(session: Session, limit: int = 500) -> Sequence[AgreementRecord]:
    """The agreements this connector granted, newest first (revoked ones too)."""
    return ContractRepository(session).agreements(role="provider", limit=limit)


def past_use(session: Session, organisation: str) -> dict[str, int]:
    """An organisation's history with this connector: agreements, uses, revocations."""
    rows = [a for a in granted(session, 10_000) if a.consumer == organisation]
    return {
        "agreements": len(rows),
        "uses": sum(a.use_count for a in rows),
        "revoked": sum(1 for a in rows if a.revoked_at is not None),
    }


def _end_day(document: dict[str, Any]) -> str:
    """The earliest day a permission's `dateTime` before/at-most constraint ends it."""
    ends = [
        str(c.get("rightOperand"))[:10]
        for rule in document.get("permission") or []
        for c in rule.get("constraint") or []
        if isinstance(c, dict)
        and c.get("leftOperand") == "dateTime"
        and c.get("operator") in ("lt", "lteq")
    ]
    return min(ends) if ends else ""


def standing(
    session: Session, runtime: PolicyRuntime, agreements: Sequence[AgreementRecord]
) -> dict[str, Standing]:
    """agreement id -> what its organisation may still do, for each live agreement: the
    policy in force decides each kind of use with the agreement's purpose and count."""
    documents = effective_documents(session, runtime.publisher)
    pdp = runtime.sync(session)
    out = {}
    for a in agreements:
        if a.revoked_at is not None:
            continue
        limits, usable, unapproved = [], False, False
        for action in CHECKED:
            # the policy's own limits: as for a first use
            decision = pdp.decide(trial_use(a, a.target, action, utcnow(), 0))
            if not decision.allow:
                continue
            if needs_approval(decision) and not a.approved_by:
                unapproved = True
                continue
            usable = True
            limit = use_limit(decision)
            if limit is not None:
                limits.append(limit)
        end = _end_day(documents.get(a.target, {}))
        if not usable:
            why = "approval" if unapproved else "no-use"
            out[a.id] = Standing(0, end, why)
            continue
        left = max(min(limits) - a.use_count, 0) if limits else None
        out[a.id] = Standing(left, end)
    return out


def pending_approvals(session: Session) -> Sequence[NegotiationRecord]:
    """Negotiations waiting for a steward, oldest first."""
    rows = ContractRepository(session).negotiations(role="provider", approval="pending")
    return sorted(rows, key=lambda r: r.created_at)


def _pending(session: Session, pid: str) -> NegotiationRecord:
    row = ContractRepository(session).negotiation(pid, "provider")
    if row is None:
        raise NotFound(f"no negotiation '{pid}' on this connector")
    if row.approval != "pending" or row.state not in (N.REQUESTED, N.ACCEPTED):
        raise WrongState(
            f"negotiation '{pid}' is not waiting for approval (state {row.state}, "
            f"approval '{row.approval or 'undecided'}')"
        )
    return row


def approve(
    session: Session, runtime: PolicyRuntime, me: Me, trust: VerifiedTrustList, pid: str, who: str
) -> NegotiationRecord:
    """A steward approves: the agreement is signed and sent."""
    row = _pending(session, pid)
    row.approval, row.approved_by, row.reason = "approved", who, ""
    policy = effective_documents(session, runtime.publisher).get(row.target, {})
    return agree(session, row, me, trust, policy, approver=who)


def reject(
    session: Session, trust: VerifiedTrustList, pid: str, who: str, reason: str
) -> NegotiationRecord:
    """A steward rejects: the negotiation is terminated with the steward's reason."""
    row = _pending(session, pid)
    row.approval, row.approved_by = "rejected", who
    return terminate(session, row, "provider", [f"rejected by a steward: {reason}"], trust)


def revoke(
    session: Session,
    trust: VerifiedTrustList,
    agreement_id: str,
    who: str,
    reason: str,
    block: bool = True,
) -> AgreementRecord:
    """Revoke an agreement this connector granted: every later use is denied, open transfers
    are terminated (their tokens stop working at once), the consumer's connector is told (so
    its copy says revoked), and — unless `block` is off — new agreements for that organisation
    on that dataset are refused until a steward lifts the block."""
    contracts = ContractRepository(session)
    agreement = contracts.agreement(agreement_id)
    if agreement is None or agreement.role != "provider":
        raise NotFound(f"no agreement '{agreement_id}' granted by this connector")
    if agreement.revoked_at is not None:
        raise WrongState(f"agreement '{agreement_id}' is already revoked")
    agreement.revoked_at, agreement.revoked_by = utcnow(), who
    agreement.revoke_reason = reason
    session.add(agreement)
    for transfer in TransferRepository(session).open_for_agreement(agreement_id):
        terminate_transfer(session, transfer, "provider", [f"agreement revoked: {reason}"], trust)
    if block and contracts.active_block(agreement.consumer, agreement.dataset_id) is None:
        contracts.add_block(
            AgreementBlock(
                dataset_id=agreement.dataset_id,
                organisation=agreement.consumer,
                agreement_id=agreement.id,
                reason=reason,
                blocked_by=who,
            )
        )
    negotiation = contracts.negotiation(agreement.negotiation_id, "provider")
    if negotiation is not None and negotiation.peer_pid:
        member = trust.by_participant.get(negotiation.counterparty)
        notice = dsp.message(
            REVOCATION_MESSAGE,
            providerPid=negotiation.id,
            consumerPid=negotiation.peer_pid,
            agreementId=agreement.id,
            reason=[reason],
            revokedAt=aware(agreement.revoked_at).isoformat(timespec="seconds"),
        )
        path = f"{_callback_path(negotiation, member)}/negotiations/{negotiation.peer_pid}"
        _queue(session, negotiation, f"{path}/revocation", notice)
    return agreement


def lift_block(session: Session, block_id: int, who: str, reason: str) -> AgreementBlock:
    """A steward lifts a block: the organisation may negotiate for the dataset again."""
    contracts = ContractRepository(session)
    block = contracts.block(block_id)
    if block is None:
        raise NotFound(f"no agreement block {block_id} on this connector")
    if block.lifted_at is not None:
        raise WrongState(f"block {block_id} was already lifted by {block.lifted_by}")
    block.lifted_at, block.lifted_by, block.lift_reason = utcnow(), who, reason
    session.add(block)
    return block
