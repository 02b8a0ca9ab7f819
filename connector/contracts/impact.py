"""What a draft policy would change for the agreements already granted on a dataset.

Every use under an agreement is decided by the dataset's policy in force at that moment, so a
new policy reaches existing agreements at once. Before a steward saves one, each live
agreement's uses (receive, ask, run models, share) are decided under the policy in force and
under the draft, with the agreement's purpose, organisation and uses so far, and the
differences are shown: what would stop, what would start, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.contracts.repository import ContractRepository
from connector.policies.service import needs_approval, use_limit
from connector.storage import Session
from connector.storage.tables import AgreementRecord, utcnow
from policy import Decision
from policy.pdp import PolicySet, RegoPDP
from policy.request import UsageRequest

CHECKED = ("read", "aggregate", "compute", "share", "publish")
# A question's epsilon when none is known: the draft's per-question limits are tested with it.
TRIAL_EPSILON = 0.1


@dataclass(frozen=True)
class Change:
    """One kind of use under one agreement: allowed before, allowed after, and why not."""

    action: str
    before: bool
    after: bool
    why: str


@dataclass(frozen=True)
class AgreementImpact:
    """A live agreement and the uses the draft would change for it."""

    agreement_id: str
    organisation: str
    purpose: str
    uses: int
    agreed_at: datetime
    changes: tuple[Change, ...]


def trial_use(
    agreement: AgreementRecord, target: str, action: str, at: datetime, uses: int
) -> UsageRequest:
    """A use under an agreement, as a policy is tried on it: the agreement's purpose and
    organisation, `uses` earlier uses, and for a question a small ε with nothing spent."""
    asks = action == "aggregate"
    return UsageRequest(target=target, action=action, at=at, purpose=agreement.purpose,
                        recipient=agreement.consumer, use_count=uses,
                        epsilon=TRIAL_EPSILON if asks else None,
                        epsilon_spent=0.0 if asks else None)  # fmt: skip


def trial_pdp(target: str, document: Mapping[str, Any]) -> RegoPDP:
    """A PDP holding one policy, for trying a draft (the in-process Rego engine, whatever
    adapter the connector decides with: they are held to the same table of cases)."""
    pdp = RegoPDP()
    pdp.load(PolicySet.from_documents({target: dict(document)}))
    return pdp


def _effective(decision: Decision, approved: bool, uses: int) -> tuple[bool, str]:
    """Allowed once the agreement's own state is counted (approval, uses left), and why not."""
    if not decision.allow:
        return False, "; ".join(decision.reasons)
    if needs_approval(decision) and not approved:
        return False, "needs a steward's approval, which this agreement does not carry"
    limit = use_limit(decision)
    if limit is not None and uses >= limit:
        return False, f"its {uses} uses reach the limit of {limit}"
    return True, ""


def draft_impact(
    session: Session,
    dataset_id: str,
    target: str,
    current: Mapping[str, Any],
    draft: Mapping[str, Any],
    at: datetime | None = None,
) -> list[AgreementImpact]:
    """Each live agreement on the dataset with the uses whose outcome the draft changes
    (an agreement with no change is listed with none)."""
    before_pdp, after_pdp = trial_pdp(target, current), trial_pdp(target, draft)
    moment = at or utcnow()
    out = []
    for a in ContractRepository(session).agreements(role="provider", limit=1000):
        if a.dataset_id != dataset_id or a.revoked_at is not None:
            continue
        changes = []
        for action in CHECKED:
            request = trial_use(a, target, action, moment, a.use_count)
            approved = bool(a.approved_by)
            before, _ = _effective(before_pdp.decide(request), approved, a.use_count)
            after, why = _effective(after_pdp.decide(request), approved, a.use_count)
            if before != after:
                changes.append(Change(action, before, after, why))
        out.append(
            AgreementImpact(a.id, a.consumer, a.purpose, a.use_count, a.agreed_at, tuple(changes))
        )
    return out
