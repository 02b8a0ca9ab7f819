"""Contract negotiation, provider side: a request is stored as REQUESTED and decided by the
worker. The PDP is asked, for the consumer's verified organisation and role and the stated
purpose, whether any of `read`, `aggregate`, `compute` is permitted. Allowed -> AGREED (a signed
agreement is sent); allowed with the duty `obtainApproval` -> waits for a steward; denied, or the
organisation blocked after a revocation -> TERMINATED with the reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.model import dataset_id_from_iri
from connector.contracts.common import (
    AGREEABLE_ACTIONS,
    AGREEMENT_SIGNATURE_TYPE,
    Me,
    N,
    _advance_negotiation,
    _callback_path,
    _own_negotiation,
    _queue,
    _require_pid,
    block_reason,
    terminate,
)
from connector.contracts.repository import (
    ContractRepository,
)
from connector.errors import BadRequest, NotFound
from connector.identity.keys import sign_detached
from connector.identity.schemas import Principal
from connector.identity.trustlist import VerifiedTrustList
from connector.policies.service import (
    PolicyRuntime,
    effective_documents,
    needs_approval,
    new_id,
    record_decision,
    refused,
)
from connector.storage import Session
from connector.storage.tables import (
    AgreementRecord,
    NegotiationRecord,
    utcnow,
)
from policy import Decision
from policy import negotiation as dsp
from policy.request import UsageRequest
from privacy.query import EPSILON_UNIT


def receive_request(
    session: Session,
    trust: VerifiedTrustList,
    own_participant: str,
    caller: Principal,
    body: dict[str, Any],
    provider_pid: str | None = None,
) -> NegotiationRecord:
    """A consumer's ContractRequestMessage: a new negotiation, or a counter-request."""
    offer = body["offer"]
    purpose = body.get(dsp.PURPOSE_KEY)
    if provider_pid is not None or body.get("providerPid"):
        pid = provider_pid or str(body["providerPid"])
        row = _own_negotiation(session, pid, caller)
        _require_pid(body, "consumerPid", row.peer_pid)
        _advance_negotiation(row, "ContractRequestMessage", "consumer")
        row.offer, row.approval, row.reason = offer, "", ""
        session.add(row)
        return row
    member = trust.by_participant.get(caller.organisation)
    callback = str(body.get("callbackAddress", ""))
    if member is None or not callback.startswith(member.connector_url + "/"):
        raise BadRequest(
            "callbackAddress must be on the caller's own connector as listed in the trust list"
        )
    if not isinstance(purpose, str) or not purpose:
        raise BadRequest(f"state the purpose of use in '{dsp.PURPOSE_KEY}'")
    target = str(offer.get("target", ""))
    dataset_id = dataset_id_from_iri(target, own_participant)
    if not dataset_id:
        raise BadRequest(f"offer target '{target}' is not a dataset of this connector")
    row = NegotiationRecord(
        id=new_id("negotiation"),
        role="provider",
        peer_pid=str(body["consumerPid"]),
        counterparty=caller.organisation,
        callback_address=callback,
        dataset_id=dataset_id,
        target=target,
        offer=offer,
        purpose=purpose,
        state="",
        requested_by=caller.subject,
        requested_role=caller.role.value,
    )
    _advance_negotiation(row, "ContractRequestMessage", "consumer")
    ContractRepository(session).add(row)
    return row


def undecided(session: Session) -> Sequence[NegotiationRecord]:
    """Provider negotiations waiting for the PDP (requested or accepted, not yet decided)."""
    rows = ContractRepository(session).negotiations(role="provider", approval="")
    return [r for r in rows if r.state in (N.REQUESTED, N.ACCEPTED)]


def decide_negotiation(
    session: Session, runtime: PolicyRuntime, me: Me, trust: VerifiedTrustList, pid: str
) -> NegotiationRecord:
    """Ask the PDP about a requested negotiation and act on the answer."""
    row = ContractRepository(session).negotiation(pid, "provider")
    if row is None or row.approval != "" or row.state not in (N.REQUESTED, N.ACCEPTED):
        raise NotFound(f"no undecided negotiation '{pid}'")
    docs = effective_documents(session, runtime.publisher)
    current = docs.get(row.target)
    block = ContractRepository(session).active_block(row.counterparty, row.dataset_id)
    pdp = runtime.sync(session)
    decisions = []
    for action in AGREEABLE_ACTIONS:
        request = UsageRequest(
            target=row.target,
            action=action,
            at=utcnow(),
            purpose=row.purpose,
            recipient=row.counterparty,
            recipient_role=row.requested_role,
            use_count=0,
            # A first question, as small as the ledger counts, with nothing spent yet: a
            # policy with per-question or total epsilon limits can be agreed to (each real
            # question is decided with its own epsilon and what was spent).
            epsilon=EPSILON_UNIT if action == "aggregate" else None,
            epsilon_spent=0.0 if action == "aggregate" else None,
        )
        decision = pdp.decide(request)
        if block is not None:
            decision = refused(decision, block_reason(block))
        record_decision(
            session, decision, request, "negotiation", row.counterparty, row.requested_by, row.id
        )
        decisions.append(decision)
    row.decision_ids = [d.decision_id for d in decisions]
    allowed = [d for d in decisions if d.allow]
    offered = row.offer.get("@id")
    if current is not None and offered != current.get("@id"):
        reasons = [f"offer '{offered}' is not offered; the dataset's offer is '{current['@id']}'"]
        return terminate(session, row, "provider", reasons, trust)
    if not allowed:
        return terminate(session, row, "provider", _why_refused(decisions), trust)
    if any(needs_approval(d) for d in allowed):
        row.approval, row.reason = "pending", "waiting for a steward's approval"
        session.add(row)
        return row
    row.approval = "not-needed"
    return agree(session, row, me, trust, current or {}, approver=None)


def _why_refused(decisions: list[Decision]) -> list[str]:
    """The reasons worth telling the consumer: the failed conditions of permissions that
    would otherwise apply, before the generic 'not granted' and 'prohibited' lines."""
    every = list(dict.fromkeys(r for d in decisions for r in d.reasons))
    generic = ("no permission grants", "action '")
    specific = [r for r in every if not r.startswith(generic)]
    return specific or every


def agree(
    session: Session,
    row: NegotiationRecord,
    me: Me,
    trust: VerifiedTrustList,
    policy: dict[str, Any],
    approver: str | None,
) -> NegotiationRecord:
    """Sign an agreement on the policy in force and send it (REQUESTED/ACCEPTED -> AGREED)."""
    _advance_negotiation(row, "ContractAgreementMessage", "provider")
    agreement_id = new_id("agreement")
    document = dsp.agreement_document(
        policy,
        agreement_id,
        row.target,
        assigner=me.participant_id,
        assignee=row.counterparty,
        timestamp=utcnow().isoformat(timespec="seconds"),
    )
    signature = sign_detached(dsp.canonical(document), me.key, AGREEMENT_SIGNATURE_TYPE)
    record = AgreementRecord(
        id=agreement_id,
        negotiation_id=row.id,
        role="provider",
        provider=me.participant_id,
        consumer=row.counterparty,
        dataset_id=row.dataset_id,
        target=row.target,
        purpose=row.purpose,
        document=document,
        signature=signature,
        approved_by=approver,
    )
    ContractRepository(session).add(record)
    row.agreement_id = agreement_id
    session.add(row)
    member = trust.by_participant.get(row.counterparty)
    message = dsp.message(
        "ContractAgreementMessage",
        providerPid=row.id,
        consumerPid=row.peer_pid,
        agreement=document,
        **{dsp.SIGNATURE_KEY: signature, dsp.PURPOSE_KEY: row.purpose},
    )
    _queue(
        session,
        row,
        f"{_callback_path(row, member)}/negotiations/{row.peer_pid}/agreement",
        message,
    )
    return row


def receive_verification(
    session: Session, trust: VerifiedTrustList, caller: Principal, pid: str, body: dict[str, Any]
) -> NegotiationRecord:
    """The consumer verified the agreement: VERIFIED, then FINALIZED at once (event sent)."""
    row = _own_negotiation(session, pid, caller)
    _require_pid(body, "consumerPid", row.peer_pid)
    _advance_negotiation(row, "ContractAgreementVerificationMessage", "consumer")
    _advance_negotiation(row, "finalize", "provider")
    session.add(row)
    event = dsp.message(
        "ContractNegotiationEventMessage",
        providerPid=row.id,
        consumerPid=row.peer_pid,
        eventType="FINALIZED",
    )
    member = trust.by_participant.get(row.counterparty)
    _queue(session, row, f"{_callback_path(row, member)}/negotiations/{row.peer_pid}/events", event)
    return row
