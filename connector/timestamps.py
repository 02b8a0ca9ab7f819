"""Timestamps as the API shows them: always with their UTC offset.

SQLite hands stored times back without a zone; an OpenAPI `format: date-time` needs one
(RFC 3339), and a reader in another zone would otherwise misread them. Every response model
declares its times as `UtcDateTime`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (naive values are UTC by the storage's rule)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
