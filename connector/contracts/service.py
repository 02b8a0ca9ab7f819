"""DSP contract negotiation and transfer process, provider and consumer sides (database work).

Every state change goes through `policy.negotiation.advance_*`, and every message to the other
connector is queued in the outbox in the same transaction as the change that produced it; the
worker (connector/contracts/worker.py) delivers it, with retries, also after a restart.

Provider: a request is stored as REQUESTED and decided by the worker: the PDP is asked, for the
consumer's verified organisation and role and the stated purpose, whether any of `read`,
`aggregate`, `compute` is permitted. Allowed -> AGREED (a signed agreement is sent); allowed
with the duty `obtainApproval` -> waits for a steward; denied -> TERMINATED with the reasons.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import OKPKey
from sqlmodel import Session

from catalog.model import dataset_id_from_iri
from connector.contracts.repository import (
    ContractRepository,
    OutboxRepository,
    TransferRepository,
)
from connector.errors import BadRequest, Forbidden, GemelloError, InvalidTransition, NotFound
from connector.identity.keys import SignatureInvalid, detached_kid, sign_detached, verify_detached
from connector.identity.schemas import Principal, Role
from connector.identity.trustlist import Member, VerifiedTrustList
from connector.policies.service import (
    PolicyRuntime,
    authorise_use,
    effective_documents,
    needs_approval,
    new_id,
    record_decision,
    refused,
)
from connector.storage.tables import (
    AgreementBlock,
    AgreementRecord,
    NegotiationRecord,
    OutboxMessage,
    TransferRecord,
    aware,
    utcnow,
)
from policy import Decision
from policy import negotiation as dsp
from policy.request import UsageRequest

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
    except dsp.InvalidTransition as exc:
        provider, consumer = _pids(row)
        raise _err(InvalidTransition, str(exc), provider, consumer) from exc
    row.updated_at = utcnow()


def _advance_transfer(row: TransferRecord, message: str, sender: str, apply: bool = True) -> None:
    try:
        state = dsp.advance_transfer(T(row.state), message, sender).value
    except dsp.InvalidTransition as exc:
        provider, consumer = _pids(row)
        raise _err(InvalidTransition, str(exc), provider, consumer) from exc
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


def negotiation_view(row: NegotiationRecord) -> dict[str, Any]:
    """A negotiation as DSP's `ContractNegotiation`."""
    provider, consumer = _pids(row)
    return dsp.negotiation_body(provider or "", consumer or "", row.state)


def transfer_view(row: TransferRecord) -> dict[str, Any]:
    """A transfer as DSP's `TransferProcess`."""
    provider, consumer = _pids(row)
    return dsp.transfer_body(provider or "", consumer or "", row.state)


# --- provider side -------------------------------------------------------------------------------


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


# --- steward approvals and revocation ------------------------------------------------------------


def pending_approvals(session: Session) -> Sequence[NegotiationRecord]:
    """Negotiations waiting for a steward, oldest first."""
    rows = ContractRepository(session).negotiations(role="provider", approval="pending")
    return sorted(rows, key=lambda r: r.created_at)


def _pending(session: Session, pid: str) -> NegotiationRecord:
    row = ContractRepository(session).negotiation(pid, "provider")
    if row is None:
        raise NotFound(f"no negotiation '{pid}' on this connector")
    if row.approval != "pending" or row.state not in (N.REQUESTED, N.ACCEPTED):
        raise InvalidTransition(
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


def block_reason(block: AgreementBlock) -> str:
    """Why a blocked organisation gets no new agreement (told to the consumer)."""
    return (
        f"new agreements for {block.organisation} on '{block.dataset_id}' are blocked since "
        f"{aware(block.blocked_at).date().isoformat()}: agreement {block.agreement_id} was "
        f"revoked ({block.reason or 'no reason given'}); a steward of the provider must lift "
        "the block"
    )


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
        raise InvalidTransition(f"agreement '{agreement_id}' is already revoked")
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
        raise InvalidTransition(f"block {block_id} was already lifted by {block.lifted_by}")
    block.lifted_at, block.lifted_by, block.lift_reason = utcnow(), who, reason
    session.add(block)
    return block


def receive_revocation(
    session: Session, caller: Principal, pid: str, body: dict[str, Any]
) -> AgreementRecord:
    """The provider revoked the agreement of one of our negotiations: our copy says so."""
    row = _own_negotiation(session, pid, caller, "consumer")
    _require_pid(body, "providerPid", row.peer_pid)
    agreement = ContractRepository(session).agreement(str(body.get("agreementId")))
    if agreement is None or agreement.id != row.agreement_id or agreement.role != "consumer":
        raise _err(NotFound, f"no agreement '{body.get('agreementId')}' here", row.peer_pid, pid)
    if agreement.revoked_at is None:
        agreement.revoked_at = utcnow()
        agreement.revoked_by = caller.organisation
        agreement.revoke_reason = "; ".join(str(r) for r in body.get("reason") or [])
        session.add(agreement)
    return agreement


# --- consumer side -------------------------------------------------------------------------------


def start_negotiation(
    session: Session,
    me: Me,
    principal: Principal,
    provider: Member,
    target: str,
    offer: dict[str, Any],
    purpose: str,
) -> tuple[NegotiationRecord, dict[str, Any]]:
    """Store a consumer-side negotiation and the request to send (committed before sending, so
    an early callback from the provider finds it)."""
    dataset_id = target.rsplit(":dataset:", 1)[-1]
    row = NegotiationRecord(
        id=new_id("negotiation"),
        role="consumer",
        counterparty=provider.participant_id,
        callback_address=me.callback_address,
        dataset_id=dataset_id[:120],
        target=target,
        offer=offer,
        purpose=purpose,
        state=N.REQUESTED.value,
        approval="",
        requested_by=principal.subject,
        requested_role=principal.role.value,
    )
    ContractRepository(session).add(row)
    body = dsp.message(
        "ContractRequestMessage",
        consumerPid=row.id,
        offer={**offer, "target": target},
        callbackAddress=me.callback_address,
        **{dsp.PURPOSE_KEY: purpose},
    )
    return row, body


def request_sent(session: Session, pid: str, answer: dict[str, Any] | None, error: str) -> None:
    """Record the provider's answer to our request (its pid), or why it failed."""
    row = ContractRepository(session).negotiation(pid, "consumer")
    if row is None:
        return
    if answer is not None and isinstance(answer.get("providerPid"), str):
        row.peer_pid = row.peer_pid or answer["providerPid"]
    else:
        row.state, row.reason = N.TERMINATED.value, error
    row.updated_at = utcnow()
    session.add(row)


def receive_agreement(
    session: Session,
    trust: VerifiedTrustList,
    me: Me,
    caller: Principal,
    pid: str,
    body: dict[str, Any],
) -> NegotiationRecord:
    """The provider's signed agreement: checked, stored, verified back (AGREED -> VERIFIED)."""
    row = _own_negotiation(session, pid, caller, "consumer")
    row.peer_pid = row.peer_pid or str(body.get("providerPid"))
    _require_pid(body, "providerPid", row.peer_pid)
    document = body["agreement"]
    signature = str(body.get(dsp.SIGNATURE_KEY, ""))
    problems = []
    if document.get("assignee") != me.participant_id:
        problems.append("the agreement is not assigned to this connector")
    if document.get("assigner") != row.counterparty or document.get("target") != row.target:
        problems.append("the agreement names another provider or dataset")
    try:
        trusted = trust.by_kid.get(detached_kid(signature))
        if trusted is None or trusted.member.participant_id != row.counterparty:
            raise SignatureInvalid("not signed with a key of the provider")
        verify_detached(
            signature, dsp.canonical(document), trusted.public, AGREEMENT_SIGNATURE_TYPE
        )
    except SignatureInvalid as exc:
        problems.append(f"agreement signature: {exc}")
    if problems:
        raise Forbidden("; ".join(problems), "agreement_invalid")
    _advance_negotiation(row, "ContractAgreementMessage", "provider")
    ContractRepository(session).add(
        AgreementRecord(
            id=str(document["@id"]),
            negotiation_id=row.id,
            role="consumer",
            provider=row.counterparty,
            consumer=me.participant_id,
            dataset_id=row.dataset_id,
            target=row.target,
            purpose=row.purpose,
            document=document,
            signature=signature,
        )
    )
    row.agreement_id = str(document["@id"])
    _advance_negotiation(row, "ContractAgreementVerificationMessage", "consumer")
    session.add(row)
    verification = dsp.message(
        "ContractAgreementVerificationMessage", providerPid=row.peer_pid, consumerPid=row.id
    )
    _queue(session, row, f"/negotiations/{row.peer_pid}/agreement/verification", verification)
    return row


def receive_offer(
    session: Session, caller: Principal, pid: str, body: dict[str, Any]
) -> NegotiationRecord:
    """A provider's counter-offer: accepted when it is the offer we asked for, else ended."""
    row = _own_negotiation(session, pid, caller, "consumer")
    row.peer_pid = row.peer_pid or str(body.get("providerPid"))
    _advance_negotiation(row, "ContractOfferMessage", "provider")
    offer = body["offer"]
    if offer.get("@id") != row.offer.get("@id"):
        return terminate(
            session,
            row,
            "consumer",
            [f"counter-offer '{offer.get('@id')}' is not the offer requested"],
            None,
        )
    _advance_negotiation(row, "accept", "consumer")
    session.add(row)
    event = dsp.message(
        "ContractNegotiationEventMessage",
        providerPid=row.peer_pid,
        consumerPid=row.id,
        eventType="ACCEPTED",
    )
    _queue(session, row, f"/negotiations/{row.peer_pid}/events", event)
    return row


# --- transfers: provider side ---------------------------------------------------------------------


def _own_transfer(session: Session, pid: str, caller: Principal, role: str) -> TransferRecord:
    row = TransferRepository(session).get(pid, role)
    if row is None or (caller.kind == "connector" and row.counterparty != caller.organisation):
        raise _err(NotFound, f"no transfer process '{pid}' for you", pid, None)
    return row


def receive_transfer_request(
    session: Session, trust: VerifiedTrustList, caller: Principal, body: dict[str, Any]
) -> TransferRecord:
    """A consumer asks for a transfer under an agreement; the worker decides (action `read`)."""
    if body.get("format") != dsp.PULL_FORMAT:
        raise BadRequest(f"format '{body.get('format')}' is not offered; use '{dsp.PULL_FORMAT}'")
    agreement = ContractRepository(session).agreement(str(body["agreementId"]))
    if (
        agreement is None
        or agreement.role != "provider"
        or agreement.consumer != caller.organisation
    ):
        raise _err(
            NotFound,
            f"no agreement '{body['agreementId']}' with you",
            None,
            str(body["consumerPid"]),
        )
    member = trust.by_participant.get(caller.organisation)
    callback = str(body["callbackAddress"])
    if member is None or not callback.startswith(member.connector_url + "/"):
        raise BadRequest("callbackAddress must be on the caller's own connector")
    row = TransferRecord(
        id=new_id("transfer"),
        role="provider",
        peer_pid=str(body["consumerPid"]),
        agreement_id=agreement.id,
        counterparty=caller.organisation,
        callback_address=callback,
        dataset_id=agreement.dataset_id,
        format=dsp.PULL_FORMAT,
        state=T.REQUESTED.value,
        requested_by=caller.subject,
    )
    TransferRepository(session).add(row)
    return row


def undecided_transfers(session: Session) -> Sequence[TransferRecord]:
    """Provider transfers waiting for the PDP."""
    return [
        r
        for r in TransferRepository(session).all(role="provider")
        if r.state == T.REQUESTED and not r.reason
    ]


def _issue_token(row: TransferRecord, endpoint: str) -> dict[str, Any]:
    token = "gmt_" + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=TRANSFER_TOKEN_SECONDS)
    row.token_sha256 = hashlib.sha256(token.encode()).hexdigest()
    row.token_expires_at = expires
    return dsp.data_address(endpoint, token, expires.isoformat(timespec="seconds"))


def _start(session: Session, row: TransferRecord, me: Me, trust: VerifiedTrustList) -> None:
    address = _issue_token(row, f"{me.connector_url}/transfers/{row.id}/data")
    _advance_transfer(row, "TransferStartMessage", "provider")
    session.add(row)
    member = trust.by_participant.get(row.counterparty)
    start = dsp.message(
        "TransferStartMessage", providerPid=row.id, consumerPid=row.peer_pid, dataAddress=address
    )
    _queue(session, row, f"{_callback_path(row, member)}/transfers/{row.peer_pid}/start", start)


def decide_transfer(
    session: Session, runtime: PolicyRuntime, me: Me, trust: VerifiedTrustList, pid: str
) -> TransferRecord:
    """Decide a requested transfer: `read` under the agreement, one use counted; started with a
    short-lived token, or terminated with the reasons."""
    row = TransferRepository(session).get(pid, "provider")
    if row is None or row.state != T.REQUESTED or row.reason:
        raise NotFound(f"no undecided transfer '{pid}'")
    outcome = authorise_use(
        session,
        runtime,
        row.agreement_id,
        "read",
        row.counterparty,
        subject=row.requested_by,
        context="transfer",
    )
    if not outcome.allowed:
        return terminate_transfer(session, row, "provider", list(outcome.reasons), trust)
    _start(session, row, me, trust)
    return row


def terminate_transfer(
    session: Session,
    row: TransferRecord,
    side: str,
    reasons: list[str],
    trust: VerifiedTrustList | None,
) -> TransferRecord:
    """End a transfer from our side (its token dies with it) and tell the other side."""
    _advance_transfer(row, "TransferTerminationMessage", side)
    row.reason = "; ".join(reasons) or "terminated"
    row.token_sha256 = None
    session.add(row)
    provider, consumer = _pids(row)
    body = dsp.termination("TransferTerminationMessage", provider or "", consumer or "", reasons)
    if row.peer_pid:
        _queue(session, row, _transfer_path(row, trust, "termination"), body)
    return row


def _transfer_path(row: TransferRecord, trust: VerifiedTrustList | None, verb: str) -> str:
    if row.role == "provider":
        member = trust.by_participant.get(row.counterparty) if trust else None
        return f"{_callback_path(row, member)}/transfers/{row.peer_pid}/{verb}"
    return f"/transfers/{row.peer_pid}/{verb}"


TRANSFER_MESSAGES = {
    "start": "TransferStartMessage",
    "suspension": "TransferSuspensionMessage",
    "completion": "TransferCompletionMessage",
    "termination": "TransferTerminationMessage",
}


def receive_transfer_message(
    session: Session,
    me: Me,
    trust: VerifiedTrustList,
    caller: Principal,
    pid: str,
    verb: str,
    body: dict[str, Any],
    role: str,
    policies: PolicyRuntime | None = None,
) -> TransferRecord:
    """start / suspension / completion / termination from the other side. A consumer's start
    resumes a suspended transfer: like a first start, it is a `read` the policy in force
    decides (with `policies`), counted and recorded; a refusal terminates the transfer."""
    row = _own_transfer(session, pid, caller, role)
    other = "provider" if role == "consumer" else "consumer"
    _require_pid(body, "consumerPid" if role == "provider" else "providerPid", row.peer_pid)
    kind = TRANSFER_MESSAGES[verb]
    if role == "provider" and verb == "start":
        if policies is None:
            raise BadRequest("this connector cannot decide a resumed transfer here")
        _advance_transfer(row, kind, other, apply=False)
        outcome = authorise_use(
            session,
            policies,
            row.agreement_id,
            "read",
            row.counterparty,
            subject=caller.subject,
            context="transfer",
        )
        if not outcome.allowed:
            return terminate_transfer(session, row, "provider", list(outcome.reasons), trust)
        _start(session, row, me, trust)  # SUSPENDED -> STARTED with a fresh token
        return row
    _advance_transfer(row, kind, other)
    if role == "consumer" and verb == "start":
        row.data_address = body.get("dataAddress")
    if role == "provider":
        row.token_sha256 = None  # suspended, completed or terminated: the token stops now
    if verb in ("termination", "suspension"):
        row.reason = "; ".join(str(r) for r in body.get("reason") or []) or f"by the {other}"
    session.add(row)
    return row


def get_transfer(session: Session, caller: Principal, pid: str, role: str) -> TransferRecord:
    """A transfer visible to this caller (peers see only their own)."""
    return _own_transfer(session, pid, caller, role)


def data_for_token(session: Session, pid: str, token: str, now: datetime) -> TransferRecord:
    """The started transfer this token opens, or Forbidden/NotFound."""
    row = TransferRepository(session).by_token(hashlib.sha256(token.encode()).hexdigest())
    if row is None or row.id != pid:
        raise Forbidden("this token opens no transfer here", "transfer_token_invalid")
    if row.state != T.STARTED:
        raise Forbidden(f"the transfer is {row.state}", "transfer_not_started")
    if row.token_expires_at is None or aware(row.token_expires_at) <= now:
        raise Forbidden(
            "the transfer token has expired; ask the provider to restart", "transfer_token_expired"
        )
    agreement = ContractRepository(session).agreement(row.agreement_id)
    if agreement is None or agreement.revoked_at is not None:
        raise Forbidden("the agreement behind this transfer was revoked", "agreement_revoked")
    return row


# --- transfers: consumer side ---------------------------------------------------------------------


def start_transfer(
    session: Session, me: Me, principal: Principal, agreement_id: str
) -> tuple[TransferRecord, dict[str, Any]]:
    """Store a consumer-side transfer under one of our agreements and the request to send."""
    agreement = ContractRepository(session).agreement(agreement_id)
    if agreement is None or agreement.role != "consumer":
        raise NotFound(f"no agreement '{agreement_id}' held by this connector")
    row = TransferRecord(
        id=new_id("transfer"),
        role="consumer",
        agreement_id=agreement_id,
        counterparty=agreement.provider,
        callback_address=me.callback_address,
        dataset_id=agreement.dataset_id,
        format=dsp.PULL_FORMAT,
        state=T.REQUESTED.value,
        requested_by=principal.subject,
    )
    TransferRepository(session).add(row)
    body = dsp.message(
        "TransferRequestMessage",
        consumerPid=row.id,
        agreementId=agreement_id,
        format=dsp.PULL_FORMAT,
        callbackAddress=me.callback_address,
    )
    return row, body


def transfer_sent(session: Session, pid: str, answer: dict[str, Any] | None, error: str) -> None:
    """Record the provider's answer to our transfer request, or why it failed."""
    row = TransferRepository(session).get(pid, "consumer")
    if row is None:
        return
    if answer is not None and isinstance(answer.get("providerPid"), str):
        row.peer_pid = row.peer_pid or answer["providerPid"]
    else:
        row.state, row.reason = T.TERMINATED.value, error
    row.updated_at = utcnow()
    session.add(row)


def _require_owner(requested_by: str, principal: Principal, what: str) -> None:
    """A researcher acts on their own processes; stewards and admins on their organisation's."""
    if principal.role == Role.researcher and requested_by != principal.subject:
        raise NotFound(f"no {what} of yours")


def consumer_transfer_action(
    session: Session, principal: Principal, pid: str, verb: str
) -> TransferRecord:
    """A local user completes, suspends, resumes or terminates one of our transfers (a
    researcher only their own)."""
    row = _own_transfer(session, pid, principal, "consumer")
    _require_owner(row.requested_by, principal, f"transfer process '{pid}'")
    if not row.peer_pid:
        raise InvalidTransition("the provider has not answered this transfer request yet")
    if verb == "termination":
        return terminate_transfer(session, row, "consumer", [f"by {principal.subject}"], None)
    kind = TRANSFER_MESSAGES[verb]
    if verb == "start":
        # Resuming: the provider answers with a new start message and a fresh token.
        _advance_transfer(row, kind, "consumer", apply=False)
    else:
        _advance_transfer(row, kind, "consumer")
    if verb in ("completion", "suspension"):
        row.data_address = None
    session.add(row)
    body = dsp.message(kind, providerPid=row.peer_pid, consumerPid=row.id)
    if verb == "suspension":
        body["reason"] = [f"suspended by {principal.subject}"]
    _queue(session, row, _transfer_path(row, None, verb), body)
    return row


def consumer_terminate_negotiation(
    session: Session, principal: Principal, pid: str, reason: str
) -> NegotiationRecord:
    """A local user ends one of our negotiations (a researcher only their own)."""
    row = get_negotiation(session, principal, pid, "consumer")
    _require_owner(row.requested_by, principal, f"contract negotiation '{pid}'")
    return terminate(session, row, "consumer", [reason or f"by {principal.subject}"], None)
