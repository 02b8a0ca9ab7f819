"""Usage policies on a connector: the policy store, the PDP kept in step with it, decisions
recorded in OPA's decision-log shape, and use counts taken atomically under an agreement.

A dataset's effective policy is its steward's (stored) policy, else the default offer of its
privacy class. The PDP is reloaded when the store or the catalogue changes; each decision first
reads a cheap stamp of both, so a policy set with the CLI applies to the running server at once.
"""

from __future__ import annotations

import difflib
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog.model import Publisher
from connector.errors import DatasetNotFound, PolicyRejected
from connector.policies.repository import DecisionRepository, PolicyRepository
from connector.storage import Session
from connector.storage.tables import (
    DecisionRecord,
    PolicyCases,
    PolicyRevision,
    UsagePolicyRecord,
    utcnow,
)
from connector.timestamps import as_utc
from policy import Decision, PolicyDecisionPoint, default_offer
from policy.compiler import compile_policy
from policy.odrl import LogicalConstraint, PolicyInvalid, UsagePolicy, as_offer, parse_policy
from policy.pdp import PolicySet
from policy.request import UsageRequest

# Request members that identify a person: kept out of decision records (OPA's "erased").
ERASED = ("subject",)


def effective_documents(session: Session, publisher: Publisher) -> dict[str, dict[str, Any]]:
    """dataset IRI -> the ODRL document in force (stored, else the privacy-class default)."""
    repo = PolicyRepository(session)
    stored = {p.dataset_id: p.document for p in repo.all()}
    out: dict[str, dict[str, Any]] = {}
    personal = repo.personal()
    for dataset_id, privacy_class in repo.privacy_classes().items():
        iri = publisher.dataset_iri(dataset_id)
        doc = stored.get(dataset_id) or default_offer(
            iri, privacy_class, publisher.participant_id, personal.get(dataset_id, True)
        )
        out[iri] = {**doc, "target": iri}
    return out


def offers_by_dataset(session: Session, assigner: str | None = None) -> dict[str, dict[str, Any]]:
    """dataset id -> its catalogue offer, for the datasets whose steward set a policy."""
    rows = PolicyRepository(session).all()
    return {p.dataset_id: offer_for(p.document, assigner) for p in rows}


def offer_for(document: Mapping[str, Any], assigner: str | None = None) -> dict[str, Any]:
    """The catalogue offer of an effective policy (DSP: an Offer without target)."""
    try:
        return as_offer(parse_policy(dict(document)), assigner)
    except PolicyInvalid:
        # A stored policy the profile no longer accepts is offered as nothing at all.
        return {
            "@id": str(document.get("@id", "urn:gemello:invalid")),
            "@type": "Offer",
            "prohibition": [{"action": "use"}],
        }


class PolicyRuntime:
    """The connector's PDP, reloaded whenever the policy store or the catalogue changes."""

    def __init__(self, pdp: PolicyDecisionPoint, publisher: Callable[[], Publisher]) -> None:
        self.pdp = pdp
        self._publisher = publisher
        self._stamp: tuple[object, ...] | None = None
        self._lock = threading.Lock()

    @property
    def publisher(self) -> Publisher:
        """This connector as publisher (dataset IRIs follow the trust list)."""
        return self._publisher()

    def sync(self, session: Session) -> PolicyDecisionPoint:
        """The PDP with the policies in force for this session's view of the store."""
        stamp = PolicyRepository(session).stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    docs = effective_documents(session, self.publisher)
                    self.pdp.load(PolicySet.from_documents(docs))
                    self._stamp = stamp
        return self.pdp

    def decide(
        self,
        session: Session,
        request: UsageRequest,
        *,
        context: str,
        organisation: str = "",
        subject: str | None = None,
        correlation: str | None = None,
    ) -> Decision:
        """Evaluate and record the decision in this session's transaction."""
        decision = self.sync(session).decide(request)
        record_decision(session, decision, request, context, organisation, subject, correlation)
        return decision


def record_decision(
    session: Session,
    decision: Decision,
    request: UsageRequest,
    context: str,
    organisation: str,
    subject: str | None,
    correlation: str | None,
) -> DecisionRecord:
    """Append the decision in OPA's decision-log shape; the subject pseudonym is erased."""
    logged = request.log_input()
    erased = [f"/input/{k}" for k in ERASED] if subject else []
    record = DecisionRecord(
        decision_id=decision.decision_id,
        path=decision.path,
        dataset_id=request.target.rsplit(":dataset:", 1)[-1][:120],
        action=request.action,
        organisation=organisation,
        allowed=decision.allow,
        input=logged,
        result={
            "allow": decision.allow,
            "reasons": list(decision.reasons),
            "obligations": [dict(o) for o in decision.obligations],
        },
        erased=erased,
        policy_revision=decision.policy_revision,
        policy_uid=decision.policy_uid,
        context=context,
        correlation=correlation,
        timestamp=utcnow(),
    )
    DecisionRepository(session).add(record)
    return record


def as_decision_log(record: DecisionRecord) -> dict[str, Any]:
    """A record as OPA writes a decision-log event."""
    return {
        "decision_id": record.decision_id,
        "path": record.path,
        "input": record.input,
        "result": record.result,
        "erased": record.erased,
        "timestamp": as_utc(record.timestamp).isoformat(),
        "bundles": {"gemello": {"revision": record.policy_revision}},
        "labels": {"context": record.context, "correlation": record.correlation or ""},
    }


# --- the policy store ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyView:
    """A dataset's policy as stewards see it."""

    dataset_id: str
    target: str
    source: str  # "steward" or "default"
    version: int
    document: dict[str, Any]
    set_by: str | None
    set_at: datetime | None


def _known_dataset(session: Session, dataset_id: str) -> str:
    classes = PolicyRepository(session).privacy_classes()
    if dataset_id not in classes:
        raise DatasetNotFound(
            f"no published dataset '{dataset_id}' on this connector",
            known=sorted(classes),
        )
    return classes[dataset_id]


def get_policy(session: Session, publisher: Publisher, dataset_id: str) -> PolicyView:
    """The policy in force for one dataset."""
    privacy_class = _known_dataset(session, dataset_id)
    iri = publisher.dataset_iri(dataset_id)
    row = PolicyRepository(session).get(dataset_id)
    if row is None:
        personal = PolicyRepository(session).personal().get(dataset_id, True)
        doc = {
            **default_offer(iri, privacy_class, publisher.participant_id, personal),
            "target": iri,
        }
        return PolicyView(dataset_id, iri, "default", 0, doc, None, None)
    return PolicyView(dataset_id, iri, "steward", row.version, row.document, row.set_by, row.set_at)


def all_policies(session: Session, publisher: Publisher) -> list[PolicyView]:
    """The policy in force for every published dataset, by dataset id."""
    classes = PolicyRepository(session).privacy_classes()
    return [get_policy(session, publisher, d) for d in sorted(classes)]


def unknown_recipients(policy: UsagePolicy, members: Mapping[str, str]) -> list[str]:
    """Every `recipient` a policy names that is no member of the dataspace, with a hint (a
    handle such as 'unibo' is not a participant id, and a policy naming it would always deny).
    `members` maps handles to participant ids."""
    known = set(members.values())
    problems = []
    for kind, items in (("permission", policy.permission), ("prohibition", policy.prohibition)):
        for number, item in enumerate(items, start=1):
            for c in item.constraint:
                atoms = c.members if isinstance(c, LogicalConstraint) else (c,)
                for atom in atoms:
                    if atom.left_operand != "recipient":
                        continue
                    values = atom.right_operand
                    for value in values if isinstance(values, list) else [values]:
                        if value in known:
                            continue
                        hint = members.get(str(value)) or next(
                            iter(difflib.get_close_matches(str(value), sorted(known), 1, 0.6)),
                            None,
                        )
                        problems.append(
                            f"{kind} {number}: recipient '{value}' is not a member of the "
                            "dataspace"
                            + (
                                f"; did you mean '{hint}'?"
                                if hint
                                else f" (known: {sorted(known)})"
                            )
                        )
    return problems


def set_policy(
    session: Session,
    publisher: Publisher,
    dataset_id: str,
    document: Any,
    who: str,
    members: Mapping[str, str] | None = None,
    note: str = "",
) -> PolicyView:
    """Store a steward's policy after checking it against the profile and compiling it; with
    `members` (handle -> participant id), every organisation it names must be one of them."""
    _known_dataset(session, dataset_id)
    iri = publisher.dataset_iri(dataset_id)
    try:
        policy = parse_policy(document, iri)
        compile_policy(policy, iri)
        problems = unknown_recipients(policy, members) if members is not None else []
        if problems:
            raise PolicyInvalid(problems)
    except PolicyInvalid as exc:
        raise PolicyRejected(
            f"the policy is not accepted: {exc.errors[0]}"
            + (f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""),
            errors=exc.errors,
        ) from exc
    repo = PolicyRepository(session)
    old = repo.get(dataset_id)
    record = UsagePolicyRecord(
        dataset_id=dataset_id,
        uid=policy.uid,
        document=policy.to_json(with_target=True) | {"target": iri},
        version=(old.version + 1) if old else 1,
        set_by=who,
        set_at=utcnow(),
    )
    repo.put(record)
    repo.add_revision(
        PolicyRevision(
            dataset_id=dataset_id,
            version=record.version,
            document=record.document,
            set_by=who,
            set_at=record.set_at,
            note=note,
        )
    )
    return get_policy(session, publisher, dataset_id)


def reset_policy(
    session: Session, publisher: Publisher, dataset_id: str, who: str = "", note: str = ""
) -> PolicyView:
    """Drop the steward's policy: the dataset carries its privacy-class default again."""
    _known_dataset(session, dataset_id)
    repo = PolicyRepository(session)
    if repo.delete(dataset_id):
        repo.add_revision(PolicyRevision(dataset_id=dataset_id, version=0, document=None,
                                         set_by=who, note=note))  # fmt: skip
    return get_policy(session, publisher, dataset_id)


def revisions(session: Session, dataset_id: str) -> Sequence[PolicyRevision]:
    """A dataset's policy history, newest first (a revision without a document went back to
    the default offer)."""
    _known_dataset(session, dataset_id)
    return PolicyRepository(session).revisions(dataset_id)


def test_cases(session: Session, dataset_id: str) -> str:
    """The steward's stored test cases for a dataset's policy ('' if none)."""
    row = PolicyRepository(session).cases(dataset_id)
    return row.cases if row else ""


def keep_test_cases(session: Session, dataset_id: str, cases: str, who: str) -> None:
    """Store a dataset's test cases (the `policy test` table format)."""
    PolicyRepository(session).put_cases(
        PolicyCases(dataset_id=dataset_id, cases=cases, updated_by=who, updated_at=utcnow())
    )


# --- what a decision asks for -----------------------------------------------------------------


def use_limit(decision: Decision) -> int | None:
    """The tightest use-count limit among a decision's obligations, if any."""
    limits = [int(o["limit"]) for o in decision.obligations if o.get("type") == "use-count"]
    return min(limits) if limits else None


def needs_approval(decision: Decision) -> bool:
    """Whether the granting permission carries the duty to obtain a steward's approval."""
    return any(
        o.get("type") == "duty" and o.get("action") == "obtainApproval"
        for o in decision.obligations
    )


@dataclass(frozen=True)
class UseOutcome:
    """A decision on one use under an agreement, after the use count was taken (or not)."""

    decision: Decision
    allowed: bool
    reasons: tuple[str, ...]


def refused(decision: Decision, why: str) -> Decision:
    """The decision turned into a deny for `why` (first among its reasons), under the same id
    and policy revision, so the record says what the policy said and what stopped the use."""
    reasons = (why,) if decision.allow else (why, *decision.reasons)
    return Decision(
        False,
        decision.decision_id,
        reasons,
        decision.policy_revision,
        path=decision.path,
        policy_uid=decision.policy_uid,
    )


def authorise_own_use(
    session: Session,
    runtime: PolicyRuntime,
    dataset_id: str,
    action: str,
    organisation: str,
    purpose: str,
    *,
    subject: str | None = None,
    role: str | None = None,
    extra: Mapping[str, Any] | None = None,
    context: str = "use",
    gate: Callable[[Decision], str | None] | None = None,
) -> UseOutcome:
    """Decide a use of this connector's own dataset by its own organisation (a federated job
    this connector drives as gateway touches its own data too). No contract is needed between
    an organisation and itself, but the dataset's policy still decides — with the job's purpose
    and the organisation as recipient — and the decision is recorded like any other."""
    request = UsageRequest(
        target=runtime.publisher.dataset_iri(dataset_id),
        action=action,
        at=utcnow(),
        purpose=purpose,
        recipient=organisation,
        recipient_role=role,
        **dict(extra or {}),
    )
    decision = runtime.sync(session).decide(request)
    fail = gate(decision) if decision.allow and gate is not None else None
    if fail is not None:
        decision = refused(decision, fail)
    record_decision(session, decision, request, context, organisation, subject, None)
    return UseOutcome(decision, decision.allow, decision.reasons)


def new_id(kind: str) -> str:
    """A fresh process or agreement id."""
    return f"urn:gemello:{kind}:{uuid.uuid4()}"
