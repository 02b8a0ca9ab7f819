"""Storage: the sqlmodel engine chosen by settings, request-scoped sessions, and migrations."""

from sqlmodel import Session

from connector.storage.engine import append_row, make_engine, session_scope
from connector.storage.migrate import (
    DatabaseUnreachable,
    current_revision,
    head_revision,
    migrated_session,
    open_database,
    upgrade,
)

__all__ = [
    "DatabaseUnreachable",
    "Session",
    "append_row",
    "current_revision",
    "head_revision",
    "make_engine",
    "migrated_session",
    "open_database",
    "session_scope",
    "upgrade",
]
