"""Database tables (sqlmodel). Only repository modules query them.

Every change here needs a migration in `migrations/versions/`; a test compares the two.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, DateTime, Index, Integer, Text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the storage layer uses."""
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands back naive UTC values)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=False), **kw)


class DatasetRecord(SQLModel, table=True):
    """A dataset this connector holds: a typed Parquet table in its data dir."""

    __tablename__ = "dataset"

    id: str = Field(primary_key=True, max_length=120)
    title: str = Field(max_length=300)
    description: str = ""
    theme: str = Field(max_length=8, description="EU data theme code: TRAN, ENER, ENVI, REGI...")
    table_path: str = Field(max_length=500, description="Parquet file, relative to the data dir")
    row_count: int = Field(ge=0)
    columns: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON))
    synthetic: bool = False
    source: str = Field(default="", description="credit line (real data) or generator name")
    content_sha256: str = Field(default="", max_length=64)
    registered_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class UserAccount(SQLModel, table=True):
    """A local person who uses this connector, with exactly one role."""

    __tablename__ = "user_account"

    # Random and meaningless, so it can travel to other connectors as a pseudonym.
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=120, unique=True)
    role: str = Field(max_length=20)
    created_at: datetime = _ts(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """A bearer token of a user. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=40)
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=40)
    token_sha256: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=120)
    created_at: datetime = _ts(default_factory=utcnow)
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class ConsoleSession(SQLModel, table=True):
    """A signed-in web console session: the cookie's secret is kept only as its SHA-256, the
    session acts with the API token it was opened with (revoking the token ends it)."""

    __tablename__ = "console_session"

    id: str = Field(primary_key=True, max_length=40)
    secret_sha256: str = Field(max_length=64, unique=True)
    token_id: str = Field(foreign_key="api_token.id", index=True, max_length=40)
    csrf: str = Field(max_length=64, description="the token every state-changing form carries")
    created_at: datetime = _ts(default_factory=utcnow)
    last_seen_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts(description="absolute end, whatever the activity")
    ended_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class SeenAssertion(SQLModel, table=True):
    """A connector-to-connector token already accepted: refused if it comes again.

    Kept until the token expires (plus the clock-skew allowance), then pruned.
    """

    __tablename__ = "seen_assertion"

    issuer: str = Field(primary_key=True, max_length=120)
    jti: str = Field(primary_key=True, max_length=120)
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )


class CatalogRecord(SQLModel, table=True):
    """The published DCAT-AP description of a dataset this connector holds.

    `description` is what a steward controls (catalog.model.DatasetDescription), `facts` what the
    connector measured (DistributionFacts). `themes` and `search_text` are copies for filtering.
    """

    __tablename__ = "catalog_entry"

    dataset_id: str = Field(primary_key=True, max_length=120)
    origin: str = Field(max_length=20, description="generated, published or harvested")
    description: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    facts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    themes: str = Field(default="", max_length=200, description="' TRAN ENVI ' for LIKE")
    privacy_class: str = Field(max_length=20)
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    published_by: str | None = Field(default=None, max_length=120)
    modified: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )


class FederatedSource(SQLModel, table=True):
    """One member's catalogue as this connector last crawled it."""

    __tablename__ = "federated_source"

    partner: str = Field(primary_key=True, max_length=40)
    participant_id: str = Field(max_length=200)
    status: str = Field(max_length=20, description="ok, unreachable, refused or invalid")
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    entries: int = 0
    last_attempt_at: datetime = _ts()
    last_success_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    max_modified: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class FederatedEntry(SQLModel, table=True):
    """A dataset in another member's (or this connector's own) catalogue, for search."""

    __tablename__ = "federated_entry"
    __table_args__ = (Index("ix_federated_entry_order", "partner", "title"),)

    partner: str = Field(primary_key=True, max_length=40)
    dataset_iri: str = Field(primary_key=True, max_length=300)
    dataset_id: str = Field(max_length=120)
    title: str = Field(max_length=300)
    themes: str = Field(default="", max_length=200)
    privacy_class: str = Field(default="", max_length=20)
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    west: float | None = None
    south: float | None = None
    east: float | None = None
    north: float | None = None
    start_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    end_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    modified: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    fetched_at: datetime = _ts()
    stale: bool = False


def _ts_null() -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class UsagePolicyRecord(SQLModel, table=True):
    """A steward's ODRL policy for one dataset (datasets without one carry a default offer)."""

    __tablename__ = "usage_policy"

    dataset_id: str = Field(primary_key=True, max_length=120)
    uid: str = Field(max_length=300)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1, ge=1, description="bumped on every change")
    set_by: str | None = Field(default=None, max_length=120)
    set_at: datetime = _ts(default_factory=utcnow)


class PolicyRevision(SQLModel, table=True):
    """One revision of a dataset's policy, kept for its history: the document a steward set,
    or none when the dataset went back to its default offer."""

    __tablename__ = "policy_revision"

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: str = Field(max_length=120, index=True)
    version: int = Field(ge=0, description="the policy's version after this change (0: default)")
    document: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    set_by: str = Field(default="", max_length=120)
    set_at: datetime = _ts(default_factory=utcnow)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))


class PolicyCases(SQLModel, table=True):
    """A steward's test cases for a dataset's policy (the `policy test` table format), run
    against every draft in the console before it is saved."""

    __tablename__ = "policy_cases"

    dataset_id: str = Field(primary_key=True, max_length=120)
    cases: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_by: str = Field(default="", max_length=120)
    updated_at: datetime = _ts(default_factory=utcnow)


class DecisionRecord(SQLModel, table=True):
    """One PDP decision in OPA's decision-log shape (personal input fields masked)."""

    __tablename__ = "decision_record"

    decision_id: str = Field(primary_key=True, max_length=40)
    path: str = Field(max_length=300)
    dataset_id: str = Field(max_length=120, index=True)
    action: str = Field(max_length=20)
    organisation: str = Field(default="", max_length=200, index=True)
    allowed: bool
    input: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    erased: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    policy_revision: str = Field(max_length=40)
    policy_uid: str | None = Field(default=None, max_length=300)
    context: str = Field(max_length=20, description="negotiation, transfer, check...")
    correlation: str | None = Field(default=None, max_length=80)
    timestamp: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )


class NegotiationRecord(SQLModel, table=True):
    """A DSP contract negotiation, on the provider or the consumer side."""

    __tablename__ = "contract_negotiation"

    id: str = Field(primary_key=True, max_length=80, description="our pid")
    role: str = Field(max_length=10, description="provider or consumer")
    peer_pid: str | None = Field(default=None, max_length=80)
    counterparty: str = Field(max_length=200, index=True, description="participant id")
    callback_address: str = Field(default="", max_length=300)
    dataset_id: str = Field(max_length=120)
    target: str = Field(max_length=300)
    offer: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    purpose: str = Field(max_length=40)
    state: str = Field(max_length=20)
    approval: str = Field(default="", max_length=20, description="'', pending, approved, rejected")
    approved_by: str | None = Field(default=None, max_length=120)
    requested_by: str = Field(max_length=80, description="pseudonym of the acting user")
    requested_role: str = Field(max_length=20)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    agreement_id: str | None = Field(default=None, max_length=80)
    decision_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class AgreementRecord(SQLModel, table=True):
    """A contract agreement, signed by its provider; `use_count` is updated atomically."""

    __tablename__ = "contract_agreement"

    id: str = Field(primary_key=True, max_length=80)
    negotiation_id: str = Field(max_length=80)
    role: str = Field(max_length=10)
    provider: str = Field(max_length=200)
    consumer: str = Field(max_length=200, index=True)
    dataset_id: str = Field(max_length=120)
    target: str = Field(max_length=300)
    purpose: str = Field(max_length=40)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    signature: str = Field(sa_column=Column(Text, nullable=False))
    approved_by: str | None = Field(default=None, max_length=120)
    use_count: int = Field(default=0, ge=0)
    agreed_at: datetime = _ts(default_factory=utcnow)
    revoked_at: datetime | None = _ts_null()
    revoked_by: str | None = Field(default=None, max_length=120)
    revoke_reason: str = Field(default="", sa_column=Column(Text, nullable=False))


class AgreementBlock(SQLModel, table=True):
    """After a revocation: new agreements for one organisation on one dataset are refused until
    a steward lifts the block (so the person who was cut off cannot just ask again)."""

    __tablename__ = "agreement_block"

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: str = Field(max_length=120, index=True)
    organisation: str = Field(max_length=200, index=True)
    agreement_id: str = Field(max_length=80, description="the revoked agreement")
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    blocked_by: str = Field(max_length=120)
    blocked_at: datetime = _ts(default_factory=utcnow)
    lifted_by: str | None = Field(default=None, max_length=120)
    lifted_at: datetime | None = _ts_null()
    lift_reason: str = Field(default="", sa_column=Column(Text, nullable=False))


class TransferRecord(SQLModel, table=True):
    """A DSP transfer process; the provider keeps only the digest of the access token."""

    __tablename__ = "transfer_process"

    id: str = Field(primary_key=True, max_length=80)
    role: str = Field(max_length=10)
    peer_pid: str | None = Field(default=None, max_length=80)
    agreement_id: str = Field(max_length=80, index=True)
    counterparty: str = Field(max_length=200)
    callback_address: str = Field(default="", max_length=300)
    dataset_id: str = Field(max_length=120)
    format: str = Field(max_length=40)
    state: str = Field(max_length=20)
    token_sha256: str | None = Field(default=None, max_length=64, index=True)
    token_expires_at: datetime | None = _ts_null()
    data_address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    requested_by: str = Field(default="", max_length=80)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class OutboxMessage(SQLModel, table=True):
    """A DSP message to another connector, written in the transaction that decided to send it
    and delivered (with retries) by the outbox worker, so a restart loses nothing."""

    __tablename__ = "dsp_outbox"

    id: int | None = Field(default=None, primary_key=True)
    process: str = Field(max_length=80, index=True, description="negotiation or transfer id")
    participant_id: str = Field(max_length=200)
    path: str = Field(max_length=300, description="appended to the member's connector URL")
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    actor_sub: str = Field(max_length=80)
    actor_role: str = Field(max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    delivered_at: datetime | None = _ts_null()
    failed_at: datetime | None = _ts_null()
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts(default_factory=utcnow)


class EpsilonBudget(SQLModel, table=True):
    """The privacy budget of one organisation on one dataset, in micro-epsilon (integers, so
    the ledger adds up exactly). `reserved` is held by queries still running."""

    __tablename__ = "epsilon_budget"

    dataset_id: str = Field(primary_key=True, max_length=120)
    organisation: str = Field(primary_key=True, max_length=200)
    total_micro: int = Field(ge=0, description="the total the policy (or the default) grants")
    spent_micro: int = Field(default=0, ge=0)
    reserved_micro: int = Field(default=0, ge=0)
    queries: int = Field(default=0, ge=0, description="releases charged")
    credit_micro: int = Field(
        default=0,
        ge=0,
        description="what stewards gave back by raising or resetting the budget: spending "
        "counts against the total less this",
    )
    updated_at: datetime = _ts(default_factory=utcnow)


class EpsilonCharge(SQLModel, table=True):
    """One charge against a budget: reserved before a release, then committed or refunded."""

    __tablename__ = "epsilon_charge"

    id: str = Field(primary_key=True, max_length=80)
    dataset_id: str = Field(max_length=120, index=True)
    organisation: str = Field(max_length=200, index=True)
    epsilon_micro: int = Field(ge=0)
    state: str = Field(max_length=12, description="reserved, committed, refunded or refused")
    kind: str = Field(max_length=20, description="query or model-output")
    decision_id: str | None = Field(default=None, max_length=40)
    agreement_id: str | None = Field(default=None, max_length=80)
    summary: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="aggregate, column, groups, mechanisms: what was released, not the values",
    )
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    settled_at: datetime | None = _ts_null()


class BudgetAdjustment(SQLModel, table=True):
    """A steward raised or reset an organisation's privacy budget on a dataset: a recorded act
    with its reason (audited, and public on the transparency portal)."""

    __tablename__ = "budget_adjustment"

    id: str = Field(primary_key=True, max_length=80)
    dataset_id: str = Field(max_length=120, index=True)
    organisation: str = Field(max_length=200)
    kind: str = Field(max_length=12, description="raise or reset")
    credit_micro: int = Field(ge=0, description="epsilon given back, in micro-epsilon")
    remaining_before_micro: int = Field(description="what was left before the act")
    remaining_after_micro: int = Field(description="what is left after it")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    made_by: str = Field(max_length=120)
    made_at: datetime = _ts(default_factory=utcnow)


class ComputeRun(SQLModel, table=True):
    """A model stage run at this connector (the holder) for another member's federated job.

    `id` is the caller's run id, so a repeated request finds the run instead of starting a
    second one. `owner` is the server process running it (host:pid): a run whose owner died
    is reported failed, never left running. `result` is the signed partial once released.
    """

    __tablename__ = "compute_run"

    id: str = Field(primary_key=True, max_length=160)
    job_id: str = Field(max_length=80, index=True)
    organisation: str = Field(max_length=200, description="the calling organisation")
    requested_by: str = Field(max_length=120, description="pseudonym of the acting researcher")
    model: str = Field(max_length=80)
    model_hash: str = Field(max_length=80)
    stage: str = Field(max_length=40)
    params: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    datasets: dict[str, Any] = Field(
        sa_column=Column(JSON, nullable=False), description="dataset id -> table digest"
    )
    agreements: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    decisions: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    charges: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=12, description="running, succeeded, failed or cancelled")
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    owner: str = Field(default="", max_length=80)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _ts(default_factory=utcnow)
    deadline: datetime = _ts()
    finished_at: datetime | None = _ts_null()


class FederatedJob(SQLModel, table=True):
    """A federated model run this connector drives as gateway, persisted step by step so a
    restarted gateway resumes it (each holder run id is derived from the job, so re-sending is
    safe)."""

    __tablename__ = "federated_job"

    id: str = Field(primary_key=True, max_length=80)
    model: str = Field(max_length=80)
    model_hash: str = Field(max_length=80)
    params: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    purpose: str = Field(max_length=40)
    epsilon: float = Field(ge=0)
    requested_by: str = Field(max_length=120)
    requested_role: str = Field(max_length=20)
    state: str = Field(max_length=12, index=True, description="running, succeeded, partial, failed")
    stage: int = Field(default=0, description="index of the stage in progress")
    context: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False), description="encoded"
    )
    holders: list[Any] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False), description="per run"
    )
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    provenance: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)
    finished_at: datetime | None = _ts_null()


class AuditHead(SQLModel, table=True):
    """The audit log's size: one row, bumped by the sequencer (its row lock orders batches)."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True)
    size: int = Field(ge=0)


class AuditEntry(SQLModel, table=True):
    """One security-relevant event: leaf `seq` of the connector's Merkle log (RFC 9162)."""

    __tablename__ = "audit_entry"

    seq: int = Field(primary_key=True, sa_type=BigInteger)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    actor: str = Field(max_length=120, description="pseudonymous id of the acting person")
    organisation: str = Field(max_length=200, index=True)
    role: str = Field(max_length=20)
    purpose: str = Field(max_length=40)
    action: str = Field(max_length=60, index=True)
    target: str = Field(max_length=300)
    dataset: str = Field(max_length=120, index=True)
    outcome: str = Field(max_length=20)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    correlation: str = Field(max_length=200, index=True)
    details: str = Field(
        sa_column=Column(Text, nullable=False), description="canonical JSON, as hashed"
    )
    leaf_hash: str = Field(max_length=64)

    @property
    def detail_map(self) -> dict[str, Any]:
        """`details` parsed."""
        return dict(json.loads(self.details))


class AuditQueued(SQLModel, table=True):
    """An event written in its action's transaction, waiting for the sequencer to give it a
    place in the log (`audit.repository.integrate`); the same fields as an entry, no seq yet."""

    __tablename__ = "audit_queue"

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(max_length=120)
    organisation: str = Field(max_length=200)
    role: str = Field(max_length=20)
    purpose: str = Field(max_length=40)
    action: str = Field(max_length=60)
    target: str = Field(max_length=300)
    dataset: str = Field(max_length=120)
    outcome: str = Field(max_length=20)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    correlation: str = Field(max_length=200)
    details: str = Field(sa_column=Column(Text, nullable=False))


class AuditNode(SQLModel, table=True):
    """A complete perfect subtree of the log: key = level * 2**40 + index, hash in hex."""

    __tablename__ = "audit_node"

    key: int = Field(primary_key=True, sa_type=BigInteger)
    hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """A signed tree head: size, root, time, Ed25519 signature (detached JWS) of this log."""

    __tablename__ = "audit_checkpoint"

    size: int = Field(primary_key=True, sa_type=BigInteger)
    root: str = Field(max_length=64)
    at: datetime = _ts()
    signature: str = Field(sa_column=Column(Text, nullable=False))


class AuditWitness(SQLModel, table=True):
    """Another member's checkpoint this connector verified (signature, consistency with the
    last one it saw) and co-signed."""

    __tablename__ = "audit_witness"

    partner: str = Field(primary_key=True, max_length=40)
    size: int = Field(primary_key=True, sa_type=BigInteger)
    root: str = Field(max_length=64)
    at: datetime = _ts()
    signature: str = Field(sa_column=Column(Text, nullable=False))
    cosignature: str = Field(sa_column=Column(Text, nullable=False))
    seen_at: datetime = _ts(default_factory=utcnow)


class AskedQuery(SQLModel, table=True):
    """A DP query a local user asked of another member (consumer side): what was asked, and
    the provider's answer (already noised) or refusal, so the user finds it again in their
    work. The provider keeps the charge; this is the asker's own record."""

    __tablename__ = "asked_query"

    id: str = Field(primary_key=True, max_length=80)
    subject: str = Field(max_length=120, index=True, description="who asked (user id)")
    partner: str = Field(max_length=40)
    dataset_id: str = Field(max_length=120)
    agreement_id: str = Field(max_length=80)
    query: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: int = Field(description="the provider's HTTP status")
    answer: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(default_factory=utcnow)


class RunShare(SQLModel, table=True):
    """A finished run shared by its owner: with a colleague, or with another organisation (then
    after every input holder's policy allowed the `share` action). Never more than what was
    released: the recipient sees the same noisy aggregates."""

    __tablename__ = "run_share"

    id: str = Field(primary_key=True, max_length=80)
    job_id: str = Field(max_length=80, index=True)
    shared_by: str = Field(max_length=120)
    organisation: str = Field(max_length=200, description="the recipient's participant id")
    recipient: str = Field(default="", max_length=120, description="a named user, or '' for all")
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    purpose: str = Field(max_length=40)
    decisions: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(default_factory=utcnow)


class PublishedResult(SQLModel, table=True):
    """A finished run published on the public portal by its owner, after every input holder's
    policy allowed the `publish` action: a frozen copy of what was released (the same noisy
    aggregates), its provenance with no person named, and the decisions that allowed it. Its
    id is the stable address `/public/results/{id}`."""

    __tablename__ = "published_result"

    id: str = Field(primary_key=True, max_length=80)
    job_id: str = Field(max_length=80, index=True)
    title: str = Field(max_length=200)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    published_by: str = Field(max_length=120, description="who published it (never shown)")
    organisation: str = Field(max_length=200, description="the publisher's participant id")
    model: str = Field(max_length=80)
    purpose: str = Field(max_length=40)
    released: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    decisions: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    published_at: datetime = _ts(default_factory=utcnow)


class ReceivedRun(SQLModel, table=True):
    """A run another organisation shared with this one (or with one of its users): its
    released result as the owner's connector sent it."""

    __tablename__ = "received_run"

    id: str = Field(primary_key=True, max_length=80, description="the sender's share id")
    sender: str = Field(max_length=200, description="the sender's participant id")
    shared_by: str = Field(max_length=120)
    recipient: str = Field(default="", max_length=120, description="a named user, or '' for all")
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    job: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(default_factory=utcnow)
