"""DSP 2025-1 contract negotiation and transfer process: the state machines and the messages.

Pure data: which message may arrive in which state, on which side, and what state follows.
The connector stores the processes and moves them only through `advance`, so an invalid
transition is refused the same way whichever endpoint received it (HTTP 400 there).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, TypeVar

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
GEM = "https://w3id.org/gemello/ns#"
# Gemello members of DSP messages travel as full IRIs (the DSP context allows no other context).
PURPOSE_KEY = GEM + "purpose"
SIGNATURE_KEY = GEM + "signature"
APPROVAL_KEY = GEM + "approvedBy"
PULL_FORMAT = "HttpData-PULL"
HTTP_ENDPOINT = "https://w3id.org/idsa/v4.1/HTTP"


class NegotiationState(StrEnum):
    """DSP contract negotiation states."""

    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


class TransferState(StrEnum):
    """DSP transfer process states."""

    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"


S = TypeVar("S", bound=StrEnum)
N = NegotiationState
T = TransferState
ANY_OPEN_NEGOTIATION = frozenset(set(N) - {N.FINALIZED, N.TERMINATED})
ANY_OPEN_TRANSFER = frozenset(set(T) - {T.COMPLETED, T.TERMINATED})

# (message, who sends it) -> (states it may arrive in, state that follows). `None` as the
# source means the message creates the process. Counter-offers and counter-requests are part
# of the protocol, so both sides accept them even though Gemello's provider never sends one.
NEGOTIATION: dict[tuple[str, str], tuple[frozenset[N | None], N]] = {
    ("ContractRequestMessage", "consumer"): (frozenset({None, N.OFFERED}), N.REQUESTED),
    ("ContractOfferMessage", "provider"): (frozenset({None, N.REQUESTED}), N.OFFERED),
    ("accept", "consumer"): (frozenset({N.OFFERED}), N.ACCEPTED),
    ("ContractAgreementMessage", "provider"): (frozenset({N.REQUESTED, N.ACCEPTED}), N.AGREED),
    ("ContractAgreementVerificationMessage", "consumer"): (frozenset({N.AGREED}), N.VERIFIED),
    ("finalize", "provider"): (frozenset({N.VERIFIED}), N.FINALIZED),
    ("ContractNegotiationTerminationMessage", "consumer"): (ANY_OPEN_NEGOTIATION, N.TERMINATED),
    ("ContractNegotiationTerminationMessage", "provider"): (ANY_OPEN_NEGOTIATION, N.TERMINATED),
}
TRANSFER: dict[tuple[str, str], tuple[frozenset[T | None], T]] = {
    ("TransferRequestMessage", "consumer"): (frozenset({None}), T.REQUESTED),
    ("TransferStartMessage", "provider"): (frozenset({T.REQUESTED, T.SUSPENDED}), T.STARTED),
    ("TransferStartMessage", "consumer"): (frozenset({T.SUSPENDED}), T.STARTED),
    ("TransferSuspensionMessage", "provider"): (frozenset({T.STARTED}), T.SUSPENDED),
    ("TransferSuspensionMessage", "consumer"): (frozenset({T.STARTED}), T.SUSPENDED),
    ("TransferCompletionMessage", "provider"): (frozenset({T.STARTED}), T.COMPLETED),
    ("TransferCompletionMessage", "consumer"): (frozenset({T.STARTED}), T.COMPLETED),
    ("TransferTerminationMessage", "provider"): (ANY_OPEN_TRANSFER, T.TERMINATED),
    ("TransferTerminationMessage", "consumer"): (ANY_OPEN_TRANSFER, T.TERMINATED),
}
# Event messages name their transition in `eventType`.
EVENTS = {"ACCEPTED": "accept", "FINALIZED": "finalize"}


class UnexpectedMessage(ValueError):
    """A message that the process's current state does not accept."""


def _advance(
    table: dict[tuple[str, str], tuple[frozenset[S | None], S]],
    current: S | None,
    message: str,
    sender: str,
) -> S:
    rule = table.get((message, sender))
    if rule is None:
        raise UnexpectedMessage(f"a {sender} does not send {message}")
    sources, target = rule
    if current not in sources:
        allowed = sorted(str(s) for s in sources if s is not None) or ["(new process)"]
        where = f"in state {current}" if current is not None else "to start a process"
        raise UnexpectedMessage(
            f"{message} from the {sender} is not accepted {where}; it is accepted in "
            f"{', '.join(allowed)}"
        )
    return target


def advance_negotiation(current: N | None, message: str, sender: str) -> N:
    """The state after `message` from `sender` ('consumer' or 'provider'), or UnexpectedMessage."""
    return _advance(NEGOTIATION, current, message, sender)


def advance_transfer(current: T | None, message: str, sender: str) -> T:
    """The transfer state after `message` from `sender`, or UnexpectedMessage."""
    return _advance(TRANSFER, current, message, sender)


# --- messages ----------------------------------------------------------------------------------


def message(kind: str, **members: Any) -> dict[str, Any]:
    """A DSP message of `@type` kind with the given members (None members left out)."""
    body: dict[str, Any] = {"@context": [DSP_CONTEXT], "@type": kind}
    body.update({k: v for k, v in members.items() if v is not None})
    return body


def negotiation_body(provider_pid: str, consumer_pid: str, state: str) -> dict[str, Any]:
    """A `ContractNegotiation` (the answer to a request or a GET)."""
    return message(
        "ContractNegotiation", providerPid=provider_pid, consumerPid=consumer_pid, state=state
    )


def transfer_body(provider_pid: str, consumer_pid: str, state: str) -> dict[str, Any]:
    """A `TransferProcess`."""
    return message(
        "TransferProcess", providerPid=provider_pid, consumerPid=consumer_pid, state=state
    )


def termination(kind: str, provider_pid: str, consumer_pid: str, reasons: list[str]) -> Any:
    """A termination message with a code and the reasons (DSP wants at least one)."""
    return message(
        kind,
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        code="terminated",
        reason=reasons or ["no reason given"],
    )


def data_address(endpoint: str, token: str, expires_at: str) -> dict[str, Any]:
    """A pull data address: where to GET the data, with a short-lived bearer token."""
    props = {"authorization": f"Bearer {token}", "authType": "bearer", "expiresAt": expires_at}
    return {
        "@type": "DataAddress",
        "endpointType": HTTP_ENDPOINT,
        "endpoint": endpoint,
        "endpointProperties": [
            {"@type": "EndpointProperty", "name": k, "value": v} for k, v in props.items()
        ],
    }


def agreement_document(
    policy: dict[str, Any],
    agreement_id: str,
    target: str,
    assigner: str,
    assignee: str,
    timestamp: str,
) -> dict[str, Any]:
    """An ODRL Agreement from the policy in force: same rules, the two parties, the time."""
    doc = {k: v for k, v in policy.items() if k not in ("@context", "@id", "@type", "target")}
    return {
        "@id": agreement_id,
        "@type": "Agreement",
        **doc,
        "target": target,
        "assigner": assigner,
        "assignee": assignee,
        "timestamp": timestamp,
    }


def canonical(document: Any) -> bytes:
    """The bytes a signature covers: sorted keys, no insignificant space, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
