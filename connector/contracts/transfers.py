"""DSP transfer processes, both sides: a pull transfer under an agreement, decided as a `read`
(at the start and at every resume), with a short-lived data token."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from connector.contracts.common import (
    TRANSFER_TOKEN_SECONDS,
    Me,
    T,
    _advance_transfer,
    _callback_path,
    _err,
    _pids,
    _queue,
    _require_owner,
    _require_pid,
    record_peer_answer,
)
from connector.contracts.repository import (
    ContractRepository,
    TransferRepository,
)
from connector.contracts.uses import authorise_use
from connector.errors import BadRequest, Forbidden, NotFound, WrongState
from connector.identity.schemas import Principal
from connector.identity.trustlist import VerifiedTrustList
from connector.policies.service import (
    PolicyRuntime,
    new_id,
)
from connector.storage import Session
from connector.storage.tables import (
    TransferRecord,
    aware,
    utcnow,
)
from policy import negotiation as dsp


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
    record_peer_answer(row, answer, error)
    session.add(row)


def consumer_transfer_action(
    session: Session, principal: Principal, pid: str, verb: str
) -> TransferRecord:
    """A local user completes, suspends, resumes or terminates one of our transfers (a
    researcher only their own)."""
    row = _own_transfer(session, pid, principal, "consumer")
    _require_owner(row.requested_by, principal, f"transfer process '{pid}'")
    if not row.peer_pid:
        raise WrongState("the provider has not answered this transfer request yet")
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
