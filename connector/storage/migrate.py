"""Schema migrations with alembic, driven from code so a connector upgrades itself at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlmodel import Session

from connector.storage.engine import make_engine, session_scope

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


class DatabaseUnreachable(Exception):
    """The database cannot be opened or migrated; the message is one line, password masked."""


def open_database(url: str) -> Engine:
    """An engine on the database at `url`, migrated to the newest schema; DatabaseUnreachable
    (one line saying where and why) when the database cannot be reached or opened."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError as exc:
        raise DatabaseUnreachable(f"'{url}' is not a database URL: {exc}") from None
    engine = make_engine(url)
    try:
        upgrade(engine)
    except (DBAPIError, OSError) as exc:
        engine.dispose()
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise DatabaseUnreachable(f"cannot open {shown}: {first}") from None
    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` in one transaction (keeps existing rows)."""
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


@contextmanager
def migrated_session(url: str) -> Iterator[Session]:
    """One unit of work on a database outside a running connector (CLI, demo, tests).

    Migrates first, commits on success, and disposes of the engine on the way out. It holds
    the write lock from the start (session_scope write=True) since a server may be using the
    same SQLite file.
    """
    engine = open_database(url)
    try:
        with session_scope(engine, write=True) as session:
            yield session
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head
