"""The job contract: what a gateway and a holder exchange about one stage of a federated job.

`RunRequest` goes to the holder (`POST /compute/runs`, or in process for the gateway's own
data); `RunState` comes back (the run's state and, once it succeeded, its `SignedPartial`: the
body the holder signed, and the signature). Both sides use these models and nothing else, so a
field renamed on one side is a failure at once, not a `KeyError` four files away.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.timestamps import UtcDateTime
from privacy import EPSILON_UNIT, at_least_one_unit

RUN_ID = r"^[A-Za-z0-9:._\-]{8,160}$"


class RunRequest(BaseModel):
    """One stage of a federated job, to run on the holder's data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(pattern=RUN_ID, description="the caller's id; repeating it is safe")
    job_id: str = Field(min_length=8, max_length=80)
    model: str = Field(max_length=80)
    model_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    stage: str = Field(max_length=40)
    params: dict[str, Any] = Field(default_factory=dict, description="the scenario")
    context: dict[str, Any] = Field(
        default_factory=dict, description="what earlier stages combined (wire-encoded)"
    )
    agreements: dict[str, str] = Field(description="dataset id -> agreement id")
    epsilon: float = Field(
        1.0,
        gt=0,
        le=10,
        description="per protected dataset (>= 0.000001)",
        json_schema_extra={"minimum": EPSILON_UNIT},
    )
    timeout_s: float | None = Field(default=None, gt=0, le=86_400)

    @field_validator("epsilon")
    @classmethod
    def _chargeable(cls, value: float) -> float:
        return at_least_one_unit(value)


class Mechanism(BaseModel):
    """How one output of a partial was released."""

    model_config = ConfigDict(extra="allow")

    output: str
    mechanism: str


class PrivacyRecord(BaseModel):
    """What one protected dataset of the stage spent, and how its outputs were noised."""

    dataset: str
    epsilon: float = Field(ge=0)
    mechanisms: list[Mechanism]


class PartialBody(BaseModel):
    """What the holder signs: the partial and everything done to produce it."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    job_id: str
    holder: str = Field(description="the holder's participant id")
    model: str
    model_hash: str
    stage: str
    datasets: dict[str, str] = Field(description="dataset id -> digest of the table read")
    agreements: dict[str, str]
    decisions: list[str] = Field(description="the policy decisions that admitted the run")
    suppressed_cells: dict[str, int]
    privacy: list[PrivacyRecord]
    partial: dict[str, Any] = Field(description="the arrays and meta, wire-encoded")
    finished_at: str


class SignedPartial(BaseModel):
    """A partial with the holder's detached JWS over the SHA-256 of the body's canonical
    form (the gateway checks it against the raw body it received, byte for byte)."""

    body: PartialBody
    signature: str


RunStateName = Literal["running", "succeeded", "failed", "cancelled"]


class RunState(BaseModel):
    """A run's state at the holder and, once it succeeded, its signed partial."""

    run_id: str
    job_id: str
    model: str
    model_hash: str
    stage: str
    state: RunStateName = Field(description="running, succeeded, failed or cancelled")
    error: str | None
    datasets: dict[str, Any] = Field(description="dataset id -> table digest read")
    decisions: list[Any]
    created_at: UtcDateTime
    deadline: UtcDateTime
    finished_at: UtcDateTime | None
    result: SignedPartial | None = Field(
        description="{body, signature}: the partial and what was done to it, signed (JWS)"
    )
