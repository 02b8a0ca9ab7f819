"""The DSP 2025-1 state machines: every allowed transition, and refusals that say why."""

from __future__ import annotations

import pytest

from policy.negotiation import (
    NEGOTIATION,
    TRANSFER,
    NegotiationState,
    TransferState,
    UnexpectedMessage,
    advance_negotiation,
    advance_transfer,
    agreement_document,
    canonical,
    data_address,
)
from tests.dsp_schemas import dsp_errors

N, T = NegotiationState, TransferState

HAPPY_PATH = [
    (None, "ContractRequestMessage", "consumer", N.REQUESTED),
    (N.REQUESTED, "ContractAgreementMessage", "provider", N.AGREED),
    (N.AGREED, "ContractAgreementVerificationMessage", "consumer", N.VERIFIED),
    (N.VERIFIED, "finalize", "provider", N.FINALIZED),
]
OFFER_PATH = [
    (N.REQUESTED, "ContractOfferMessage", "provider", N.OFFERED),
    (N.OFFERED, "accept", "consumer", N.ACCEPTED),
    (N.ACCEPTED, "ContractAgreementMessage", "provider", N.AGREED),
    (N.OFFERED, "ContractRequestMessage", "consumer", N.REQUESTED),
]


@pytest.mark.parametrize(("state", "message", "sender", "after"), HAPPY_PATH + OFFER_PATH)
def test_protocol_transitions(state: N | None, message: str, sender: str, after: N) -> None:
    assert advance_negotiation(state, message, sender) == after


@pytest.mark.parametrize("state", [s for s in N if s not in (N.FINALIZED, N.TERMINATED)])
def test_either_side_may_terminate_an_open_negotiation(state: N) -> None:
    for sender in ("consumer", "provider"):
        assert advance_negotiation(state, "ContractNegotiationTerminationMessage", sender) == (
            N.TERMINATED
        )


@pytest.mark.parametrize(
    ("state", "message", "sender", "needle"),
    [
        (N.FINALIZED, "ContractNegotiationTerminationMessage", "consumer", "in state FINALIZED"),
        (N.TERMINATED, "ContractAgreementMessage", "provider", "in state TERMINATED"),
        (N.REQUESTED, "ContractAgreementVerificationMessage", "consumer", "accepted in AGREED"),
        (N.AGREED, "ContractAgreementMessage", "consumer", "a consumer does not send"),
        (N.VERIFIED, "finalize", "consumer", "a consumer does not send"),
        (None, "ContractAgreementMessage", "provider", "to start a process"),
    ],
)
def test_invalid_transitions_say_why(
    state: N | None, message: str, sender: str, needle: str
) -> None:
    with pytest.raises(UnexpectedMessage, match=needle):
        advance_negotiation(state, message, sender)


def test_every_state_is_reachable_and_terminal_states_are_final() -> None:
    targets = {after for _, after in NEGOTIATION.values()}
    assert targets == set(N)
    assert {after for _, after in TRANSFER.values()} == set(T)
    for sources, _ in NEGOTIATION.values():
        assert not sources & {N.FINALIZED, N.TERMINATED}
    for sources, _ in TRANSFER.values():
        assert not sources & {T.COMPLETED, T.TERMINATED}


@pytest.mark.parametrize(
    ("state", "message", "sender", "after"),
    [
        (None, "TransferRequestMessage", "consumer", T.REQUESTED),
        (T.REQUESTED, "TransferStartMessage", "provider", T.STARTED),
        (T.STARTED, "TransferSuspensionMessage", "consumer", T.SUSPENDED),
        (T.SUSPENDED, "TransferStartMessage", "consumer", T.STARTED),
        (T.STARTED, "TransferCompletionMessage", "consumer", T.COMPLETED),
        (T.SUSPENDED, "TransferTerminationMessage", "provider", T.TERMINATED),
    ],
)
def test_transfer_transitions(state: T | None, message: str, sender: str, after: T) -> None:
    assert advance_transfer(state, message, sender) == after


def test_a_transfer_cannot_be_started_by_the_consumer_before_the_provider() -> None:
    with pytest.raises(UnexpectedMessage, match="accepted in SUSPENDED"):
        advance_transfer(T.REQUESTED, "TransferStartMessage", "consumer")
    with pytest.raises(UnexpectedMessage, match="in state COMPLETED"):
        advance_transfer(T.COMPLETED, "TransferSuspensionMessage", "provider")


def test_agreement_and_data_address_validate_against_the_official_schemas() -> None:
    policy = {"@id": "p", "@type": "Offer", "permission": [{"action": "read"}], "target": "x"}
    doc = agreement_document(
        policy, "urn:a", "urn:d", "urn:p", "urn:c", "2026-11-21T10:00:00+00:00"
    )
    assert dsp_errors(doc, "negotiation/contract-schema.json#/definitions/Agreement") == []
    address = data_address("http://h/transfers/t/data", "gmt_x", "2026-11-21T10:05:00+00:00")
    assert dsp_errors(address, "transfer/data-address-schema.json") == []
    assert canonical({"b": 1, "a": "è"}) == '{"a":"è","b":1}'.encode()
