"""DSP 2025-1 negotiation and transfer messages as they arrive, and the local API's bodies.

Only the members Gemello acts on are declared; the rest are kept (`extra="allow"`), since the
protocol lets messages carry more. A missing or mistyped member is a 422 naming it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.identity.schemas import Role
from connector.timestamps import UtcDateTime
from policy.negotiation import DSP_CONTEXT

# Who may ask for, follow and use agreements (the API's consumer routes and the console's).
CONTRACT_USERS = (Role.researcher, Role.steward, Role.admin)


class DspMessage(BaseModel):
    """Members every DSP message has."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    context: list[str] = Field(alias="@context", min_length=1)
    type: str = Field(alias="@type")

    @field_validator("context")
    @classmethod
    def _dsp_context(cls, value: list[str]) -> list[str]:
        if DSP_CONTEXT not in value:
            raise ValueError(f"must contain '{DSP_CONTEXT}'")
        return value

    def body(self) -> dict[str, Any]:
        """The message as a JSON object (extension members included)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class MessageOffer(BaseModel):
    """The offer inside a request (an ODRL Offer with `@id`; `target` names the dataset)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str = Field(alias="@id", min_length=1)
    type: Literal["Offer"] = Field(default="Offer", alias="@type")
    target: str | None = None


class ContractRequestMessage(DspMessage):
    """DSP `ContractRequestMessage`."""

    type: Literal["ContractRequestMessage"] = Field(alias="@type")
    consumerPid: str = Field(min_length=1)
    providerPid: str | None = None
    offer: MessageOffer
    callbackAddress: str | None = None


class ContractOfferMessage(DspMessage):
    """DSP `ContractOfferMessage` (a provider's counter-offer)."""

    type: Literal["ContractOfferMessage"] = Field(alias="@type")
    providerPid: str = Field(min_length=1)
    consumerPid: str | None = None
    offer: MessageOffer


class PidMessage(DspMessage):
    """A message naming both processes."""

    providerPid: str = Field(min_length=1)
    consumerPid: str = Field(min_length=1)


class AgreementMessage(PidMessage):
    """DSP `ContractAgreementMessage`."""

    type: Literal["ContractAgreementMessage"] = Field(alias="@type")
    agreement: dict[str, Any]


class VerificationMessage(PidMessage):
    """DSP `ContractAgreementVerificationMessage`."""

    type: Literal["ContractAgreementVerificationMessage"] = Field(alias="@type")


class EventMessage(PidMessage):
    """DSP `ContractNegotiationEventMessage`."""

    type: Literal["ContractNegotiationEventMessage"] = Field(alias="@type")
    eventType: Literal["ACCEPTED", "FINALIZED"]


class NegotiationTermination(PidMessage):
    """DSP `ContractNegotiationTerminationMessage`."""

    type: Literal["ContractNegotiationTerminationMessage"] = Field(alias="@type")
    code: str | None = None
    reason: list[Any] | None = None


class RevocationMessage(PidMessage):
    """Gemello's `AgreementRevocationMessage`: the provider revoked the agreement."""

    type: Literal["gemello:AgreementRevocationMessage"] = Field(alias="@type")
    agreementId: str = Field(min_length=1, max_length=80)
    reason: list[Any] | None = None
    revokedAt: str | None = None


class TransferRequestMessage(DspMessage):
    """DSP `TransferRequestMessage`."""

    type: Literal["TransferRequestMessage"] = Field(alias="@type")
    agreementId: str = Field(min_length=1)
    format: str
    callbackAddress: str
    consumerPid: str = Field(min_length=1)
    dataAddress: dict[str, Any] | None = None


class TransferMessage(PidMessage):
    """DSP transfer start / suspension / completion / termination."""

    type: Literal[
        "TransferStartMessage",
        "TransferSuspensionMessage",
        "TransferCompletionMessage",
        "TransferTerminationMessage",
    ] = Field(alias="@type")
    code: str | None = None
    reason: list[Any] | None = None
    dataAddress: dict[str, Any] | None = None


# --- local API ------------------------------------------------------------------------------------


class NewNegotiation(BaseModel):
    """Ask another member for an agreement on one of its datasets."""

    partner: str = Field(
        min_length=1, max_length=80, description="the provider's handle, e.g. 'cineca'"
    )
    dataset: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"^[^\s\x00-\x1f\x7f]+$",
        description="dataset id or IRI in the provider's catalogue (no spaces)",
    )
    purpose: str = Field(
        min_length=1,
        max_length=40,
        description="purpose of use from the controlled list, e.g. 'research'",
    )


class NegotiationOut(BaseModel):
    """A negotiation as stewards and researchers see it."""

    id: str
    role: str
    state: str
    peer_pid: str | None
    counterparty: str
    dataset_id: str
    target: str
    offer_id: str
    purpose: str
    approval: str
    approved_by: str | None
    reason: str
    agreement_id: str | None
    decision_ids: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class AgreementOut(BaseModel):
    """An agreement with its signature and use count."""

    id: str
    role: str
    negotiation_id: str
    provider: str
    consumer: str
    dataset_id: str
    purpose: str
    document: dict[str, Any]
    signature: str
    approved_by: str | None
    use_count: int
    agreed_at: UtcDateTime
    revoked_at: UtcDateTime | None
    revoke_reason: str


class TransferOut(BaseModel):
    """A transfer process; the consumer side shows the data address while it is started."""

    id: str
    role: str
    state: str
    peer_pid: str | None
    agreement_id: str
    counterparty: str
    dataset_id: str
    format: str
    data_address: dict[str, Any] | None
    reason: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


class NewTransfer(BaseModel):
    """Pull a dataset under an agreement this connector holds."""

    agreement_id: str


class Reason(BaseModel):
    """Why (kept with the record)."""

    reason: str = Field(min_length=1, max_length=500)


class Revocation(Reason):
    """Why an agreement is revoked, and whether the organisation may ask again at once."""

    block: bool = Field(
        True,
        description="refuse new agreements for the consumer's organisation on this dataset "
        "until a steward lifts the block (POST /contracts/blocks/{id}/lift)",
    )


class BlockOut(BaseModel):
    """A block on new agreements for one organisation and dataset, after a revocation."""

    id: int
    dataset_id: str
    organisation: str
    agreement_id: str
    reason: str
    blocked_by: str
    blocked_at: UtcDateTime
    lifted_by: str | None
    lifted_at: UtcDateTime | None
    lift_reason: str
