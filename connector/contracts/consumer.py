"""Contract negotiation, consumer side: ask a provider for an agreement, take its answers, and
the questions other verticals ask about the agreements this connector holds."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from catalog.model import dataset_id_from_iri
from connector.contracts.common import (
    AGREEMENT_SIGNATURE_TYPE,
    Me,
    N,
    _advance_negotiation,
    _err,
    _own_negotiation,
    _queue,
    _require_owner,
    _require_pid,
    get_negotiation,
    record_peer_answer,
    terminate,
)
from connector.contracts.repository import (
    ContractRepository,
)
from connector.contracts.schemas import NegotiationOut, TransferOut
from connector.errors import BadRequest, Forbidden, GemelloError, NotFound
from connector.identity.keys import SignatureInvalid, detached_kid, verify_detached
from connector.identity.schemas import Principal
from connector.identity.trustlist import Member, VerifiedTrustList
from connector.policies.service import (
    new_id,
)
from connector.storage import Session, session_scope
from connector.storage.tables import (
    AgreementRecord,
    NegotiationRecord,
    utcnow,
)
from policy import negotiation as dsp

if TYPE_CHECKING:
    from connector.contracts.worker import ContractsRuntime


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
    record_peer_answer(row, answer, error)
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


def consumer_terminate_negotiation(
    session: Session, principal: Principal, pid: str, reason: str
) -> NegotiationRecord:
    """A local user ends one of our negotiations (a researcher only their own)."""
    row = get_negotiation(session, principal, pid, "consumer")
    _require_owner(row.requested_by, principal, f"contract negotiation '{pid}'")
    return terminate(session, row, "consumer", [reason or f"by {principal.subject}"], None)


class UpstreamFailed(GemelloError):
    """The other connector refused or could not be reached."""

    title, status, slug = "The other connector refused", 502, "upstream-failed"


def _problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("detail") or body.get("reason") or body)
    except ValueError:
        return response.text[:300]


async def _post(
    rt: ContractsRuntime, member: Member, path: str, principal: Principal, body: dict[str, Any]
) -> Any:
    assert rt.peers is not None, "the connector's HTTP client starts with the app"
    try:
        response = await rt.peers.request("POST", member, path, principal, json=body, timeout=15)
    except httpx.HTTPError as exc:
        return None, f"{member.id} unreachable: {exc}"
    if response.status_code != 201:
        return None, f"{member.id} answered {response.status_code}: {_problem_text(response)}"
    return response.json(), ""


async def open_negotiation(
    rt: ContractsRuntime, principal: Principal, member: Member, dataset_id: str, purpose: str
) -> NegotiationOut:
    """Read the provider's offer for a dataset and send a contract request for a purpose;
    the negotiation then proceeds by callbacks (follow it by its id)."""
    target = f"{member.participant_id}:dataset:{dataset_id}"
    assert rt.peers is not None, "the connector's HTTP client starts with the app"
    try:
        answer = await rt.peers.request(
            "GET", member, f"/catalog/datasets/{quote(dataset_id, safe='')}", principal, timeout=15
        )
    except httpx.HTTPError as exc:
        raise UpstreamFailed(f"{member.id} unreachable: {exc}") from exc
    if answer.status_code == 404:  # the provider's answer, not a failure to reach it
        raise NotFound(f"{member.id} has no dataset '{dataset_id}': {_problem_text(answer)}")
    if answer.status_code != 200:
        raise UpstreamFailed(
            f"{member.id} answered {answer.status_code} for dataset '{dataset_id}': "
            f"{_problem_text(answer)}"
        )
    offers = answer.json().get("hasPolicy") or []
    if not offers:
        raise UpstreamFailed(f"{member.id} offers dataset '{dataset_id}' under no policy")
    me = rt.me()

    # Writes run in worker threads: on the event loop they could wait for a lock held by a
    # request whose transaction only the loop can close.
    def start() -> tuple[str, dict[str, Any]]:
        with session_scope(rt.engine, write=True) as session:
            row, message = start_negotiation(
                session, me, principal, member, target, offers[0], purpose
            )
            return row.id, message

    def record(pid: str, sent: Any, error: str) -> NegotiationOut:
        with session_scope(rt.engine, write=True) as session:
            request_sent(session, pid, sent, error)
            return negotiation_out(get_negotiation(session, principal, pid, "consumer"))

    pid, message = await asyncio.to_thread(start)
    sent, error = await _post(rt, member, "/negotiations/request", principal, message)
    out = await asyncio.to_thread(record, pid, sent, error)
    if sent is None:
        raise UpstreamFailed(error, negotiation=out.id)
    return out


async def request_agreement(
    rt: ContractsRuntime, principal: Principal, partner: str, dataset: str, purpose: str
) -> NegotiationOut:
    """Ask a member (by handle) for an agreement on one of its datasets (id or IRI): the
    API's and the console's one way in. NotFound for no such member, BadRequest for this
    connector itself (its own datasets need no agreement)."""
    member = rt.trust().by_handle.get(partner)
    if member is None:
        raise NotFound(f"no member '{partner}' in the dataspace")
    if member.participant_id == rt.me().participant_id:
        raise BadRequest(f"'{partner}' is this connector: its own datasets need no agreement")
    dataset_id = dataset_id_from_iri(dataset, member.participant_id) or dataset
    return await open_negotiation(rt, principal, member, dataset_id, purpose)


def held_agreements(session: Session, provider: str, dataset_id: str) -> list[AgreementRecord]:
    """The agreements this connector holds (as consumer) with a provider on a dataset, newest
    first, revoked ones included."""
    return [
        a
        for a in ContractRepository(session).agreements(role="consumer")
        if a.provider == provider and a.dataset_id == dataset_id
    ]


def my_negotiations(
    session: Session, principal: Principal, limit: int = 50
) -> list[NegotiationOut]:
    """The negotiations this person asked for (consumer side), newest first."""
    rows = ContractRepository(session).negotiations(
        role="consumer", requested_by=principal.subject, limit=limit
    )
    return [negotiation_out(r) for r in rows]


def held_by_us(session: Session, limit: int = 200) -> list[AgreementRecord]:
    """Every agreement this connector's organisation holds as consumer, newest first."""
    return list(ContractRepository(session).agreements(role="consumer", limit=limit))


def my_negotiation(session: Session, principal: Principal, pid: str) -> NegotiationOut:
    """One consumer negotiation as this person may see it (NotFound otherwise)."""
    return negotiation_out(get_negotiation(session, principal, pid, "consumer"))


async def open_transfer(
    rt: ContractsRuntime, principal: Principal, agreement_id: str
) -> TransferOut:
    """Ask the provider for a pull transfer under an agreement we hold. Once STARTED, the
    transfer's `data_address` holds the URL and the short-lived token to GET the data."""
    from connector.contracts.transfers import get_transfer, start_transfer, transfer_sent

    me = rt.me()

    def start() -> tuple[str, str, dict[str, Any]]:
        with session_scope(rt.engine, write=True) as session:
            row, message = start_transfer(session, me, principal, agreement_id)
            return row.id, row.counterparty, message

    def record(pid: str, sent: Any, error: str) -> TransferOut:
        with session_scope(rt.engine, write=True) as session:
            transfer_sent(session, pid, sent, error)
            return TransferOut(**get_transfer(session, principal, pid, "consumer").model_dump())

    pid, provider, message = await asyncio.to_thread(start)
    member = rt.trust().by_participant.get(provider)
    if member is None:
        raise NotFound(f"the provider '{provider}' is no longer a member")
    sent, error = await _post(rt, member, "/transfers/request", principal, message)
    out = await asyncio.to_thread(record, pid, sent, error)
    if sent is None:
        raise UpstreamFailed(error, transfer=pid)
    return out


def negotiation_out(row: NegotiationRecord) -> NegotiationOut:
    """The API view of a negotiation."""
    return NegotiationOut(**row.model_dump(exclude={"offer"}), offer_id=str(row.offer.get("@id")))


# --- what other verticals ask about the agreements this connector holds ------------------------


def agreement(session: Session, agreement_id: str) -> AgreementRecord | None:
    """One agreement this connector granted or holds."""
    return ContractRepository(session).agreement(agreement_id)


def live_agreement(
    session: Session, provider: str, dataset_id: str, purpose: str
) -> AgreementRecord | None:
    """The newest unrevoked agreement we hold with a provider on a dataset for a purpose."""
    return ContractRepository(session).live_agreement(provider, dataset_id, purpose)


def negotiation_outcome(session: Session, pid: str) -> tuple[str, str | None, str]:
    """A consumer negotiation's state, the agreement it ended with, and why it ended."""
    row = ContractRepository(session).negotiation(pid, "consumer")
    if row is None:
        return "TERMINATED", None, "lost"
    return row.state, row.agreement_id, row.reason
