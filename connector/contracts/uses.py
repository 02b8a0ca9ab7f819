"""Uses of a dataset under an agreement: the policy decides, the use is counted (a conditional
UPDATE, so of concurrent requests for the last use exactly one gets it), and the decision is
recorded. Contracts own the agreements and their use counts; the policy vertical decides and
keeps the decision records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.contracts.repository import ContractRepository
from connector.policies.service import (
    PolicyRuntime,
    UseOutcome,
    needs_approval,
    record_decision,
    refused,
    use_limit,
)
from connector.storage import Session
from connector.storage.tables import AgreementRecord, utcnow
from policy import Decision
from policy.request import UsageRequest


@dataclass
class PreparedUse:
    """A use decided on what was read (agreement, policy, counts), not yet taken or recorded."""

    agreement_id: str
    organisation: str
    subject: str | None
    context: str
    approved: bool
    request: UsageRequest
    decision: Decision
    fail: str | None


def prepare_use(
    session: Session,
    runtime: PolicyRuntime,
    agreement_id: str,
    action: str,
    organisation: str,
    *,
    subject: str | None = None,
    role: str | None = None,
    at: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
    context: str = "use",
) -> PreparedUse:
    """The reading half of `authorise_use`: the agreement and the PDP's decision. It writes
    nothing, so a hot path may run it before taking the write lock."""
    agreement = ContractRepository(session).agreement(agreement_id)
    fail: str | None = None
    if agreement is None or agreement.role != "provider" or agreement.consumer != organisation:
        fail = f"no agreement '{agreement_id}' with {organisation or 'this caller'}"
    elif agreement.revoked_at is not None:
        fail = f"agreement {agreement_id} was revoked: {agreement.revoke_reason or 'no reason'}"
    stated: dict[str, Any] = {
        "purpose": agreement.purpose if agreement else None,
        "recipient": organisation or None,
        "recipient_role": role,
        "use_count": agreement.use_count if agreement else None,
    }
    request = UsageRequest(
        target=agreement.target if agreement else f"urn:gemello:unknown:{agreement_id}",
        action=action,
        at=at or utcnow(),
        **(stated | dict(extra or {})),  # e.g. a share's recipient is the other organisation
    )
    decision = runtime.sync(session).decide(request)
    approved = bool(agreement is not None and agreement.approved_by)
    return PreparedUse(
        agreement_id, organisation, subject, context, approved, request, decision, fail
    )


def take_use(
    session: Session,
    prepared: PreparedUse,
    gate: Callable[[Decision], str | None] | None = None,
) -> UseOutcome:
    """The writing half of `authorise_use`: take the use (a conditional UPDATE, so of
    concurrent requests for the last use exactly one gets it), pass the gate, record the
    decision."""
    decision, fail = prepared.decision, prepared.fail
    if fail is None and decision.allow:
        contracts = ContractRepository(session)
        limit = use_limit(decision)
        if needs_approval(decision) and not prepared.approved:
            fail = "the policy needs a steward's approval, which this agreement does not carry"
        elif not contracts.count_use(prepared.agreement_id, limit):
            fail = f"use count exhausted: the policy allows {limit} uses"
        elif gate is not None:
            fail = gate(decision)
            if fail is not None:  # the gate took nothing; the use is given back
                contracts.uncount_use(prepared.agreement_id)
    if fail is not None:
        decision = refused(decision, fail)
    record_decision(
        session,
        decision,
        prepared.request,
        prepared.context,
        prepared.organisation,
        prepared.subject,
        prepared.agreement_id,
    )
    return UseOutcome(decision, decision.allow, decision.reasons)


def authorise_use(
    session: Session,
    runtime: PolicyRuntime,
    agreement_id: str,
    action: str,
    organisation: str,
    *,
    subject: str | None = None,
    role: str | None = None,
    at: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
    context: str = "use",
    gate: Callable[[Decision], str | None] | None = None,
) -> UseOutcome:
    """Decide one use of a dataset under an agreement and, if allowed, count it atomically.

    The dataset's current policy decides (a steward's tightening applies at once); the
    agreement must belong to `organisation`, be unrevoked, and have been approved when the
    policy carries the approval duty. The use count is a conditional UPDATE in this
    transaction: of concurrent requests for the last use, exactly one gets it. `gate`, called
    after an allow and the count, may take more (e.g. privacy budget) or return why it cannot —
    taking nothing; a refusal turns the decision into a deny and gives the use back.
    """
    prepared = prepare_use(
        session, runtime, agreement_id, action, organisation,
        subject=subject, role=role, at=at, extra=extra, context=context,
    )  # fmt: skip
    return take_use(session, prepared, gate)


def agreement(session: Session, agreement_id: str) -> AgreementRecord | None:
    """An agreement this connector granted or holds (other verticals read it through here)."""
    return ContractRepository(session).agreement(agreement_id)


def give_back_use(session: Session, agreement_id: str) -> None:
    """Give back a use taken earlier in this transaction (a later step refused)."""
    ContractRepository(session).uncount_use(agreement_id)


def decide_share(
    session: Session,
    runtime: PolicyRuntime,
    agreement_id: str,
    organisation: str,
    recipient: str,
    *,
    subject: str | None = None,
    job_id: str = "",
) -> UseOutcome:
    """May results made under this agreement be shared with `recipient` (another
    organisation)? A use of the dataset with the action `share`, whose recipient is the
    organisation that will see them: the dataset's policy decides, the use is counted and the
    decision recorded, as for every other use."""
    return authorise_use(
        session, runtime, agreement_id, "share", organisation,
        subject=subject, extra={"recipient": recipient}, context=f"share {job_id}".strip(),
    )  # fmt: skip


def decide_publish(
    session: Session,
    runtime: PolicyRuntime,
    agreement_id: str,
    organisation: str,
    *,
    subject: str | None = None,
    job_id: str = "",
) -> UseOutcome:
    """May results made under this agreement be published on the consumer's public portal,
    for anyone to read? A use of the dataset with the action `publish`: the dataset's policy
    decides, the use is counted and the decision recorded, as for every other use."""
    return authorise_use(
        session, runtime, agreement_id, "publish", organisation,
        subject=subject, context=f"publish {job_id}".strip(),
    )  # fmt: skip
