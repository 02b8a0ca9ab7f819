"""Database tables (sqlmodel). Only repository modules query them.

Every change here needs a migration in `migrations/versions/`; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the storage layer uses."""
    return datetime.now(UTC)


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
