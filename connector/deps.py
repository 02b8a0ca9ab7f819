"""Request-scoped dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from connector.settings import Settings
from connector.storage import session_scope

# Bounds for paging parameters: past them an offset no longer fits a database integer (a page
# number of 10^25 was a 500), and no catalogue has that many pages.
MAX_PAGES = 1_000_000


def get_settings(request: Request) -> Settings:
    """The settings of the connector serving this request."""
    settings: Settings = request.app.state.connector.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    with session_scope(request.app.state.connector.engine) as session:
        yield session


def get_write_session(request: Request) -> Iterator[Session]:
    """Like get_session, for endpoints that read and then write what they read (see
    session_scope: on SQLite the write lock is taken at the start, so a concurrent writer, e.g.
    the CLI on the same file, makes this request wait instead of failing)."""
    with session_scope(request.app.state.connector.engine, write=True) as session:
        yield session


# scope="function" closes the transaction before the response is sent, so a failed commit
# becomes an error response instead of a success the database never saw.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
