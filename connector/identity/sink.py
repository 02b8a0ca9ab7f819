"""The port through which identity reports what the audit log must keep (a refused request),
without importing the audit log: the composition root injects the log's adapter."""

from __future__ import annotations

from typing import Any, Protocol

from connector.storage import Session


class AuditSink(Protocol):
    """Appends one security event to the connector's audit log, in `session`'s transaction."""

    def refusal(
        self, session: Session, target: str, reason: str, details: dict[str, Any]
    ) -> None: ...


class NoAudit:
    """For code that authenticates outside a connector (tools): nothing is kept."""

    def refusal(self, session: Session, target: str, reason: str, details: dict[str, Any]) -> None:
        """Keep nothing."""
