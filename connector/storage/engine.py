"""Engines and sessions. SQLite (one WAL file per connector) by default, PostgreSQL by URL."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, event, make_url
from sqlmodel import Session, SQLModel, create_engine


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the pysqlite driver, decide where transactions begin: the driver's
    # own implicit BEGIN breaks SAVEPOINT and transactional DDL (SQLAlchemy's documented recipe).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets readers proceed while one writer commits; busy_timeout waits instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cur.close()


WRITE = "gemello_write"  # execution option: this unit of work reads and then writes


def _sqlite_on_begin(conn: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # (SQLITE_BUSY_SNAPSHOT, no busy wait) when another process wrote in between. Units of work
    # that read before they write take the write lock up front instead and queue for it.
    immediate = conn.get_execution_options().get(WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class WriteGate:
    """One writer at a time on a SQLite file, queued rather than polled.

    SQLite's busy handler makes a waiting writer sleep (1, 2, 5, 10 ... 100 ms), which under
    concurrent requests costs far more than the writes themselves. Threads of one process queue
    on a lock; processes sharing the file (server workers, the CLI) queue on an exclusive
    `flock` of `<database>.lock`, which the kernel hands over the moment it is released.
    A plain Lock, not an RLock: FastAPI may close a yield-dependency's unit of work on another
    worker thread than the one that opened it, and only a Lock may be released by any thread.
    """

    def __init__(self, lock_file: Path | None) -> None:
        self._threads = threading.Lock()
        self._lock_file = lock_file
        self._fd: int | None = None

    def acquire(self, timeout: float) -> bool:
        """Wait for our turn; False after `timeout` (the caller then lets SQLite decide)."""
        if not self._threads.acquire(timeout=timeout):
            return False
        if self._lock_file is not None:
            if self._fd is None:
                self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        """Hand the database to the next writer."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


_WRITE_GATES: weakref.WeakKeyDictionary[Engine, WriteGate] = weakref.WeakKeyDictionary()
BUSY_TIMEOUT_S = 30


def _on_event_loop() -> bool:
    # The event loop thread never waits on the gate: a worker thread holding it may need the
    # loop to finish its unit of work (FastAPI closes yield-dependencies through the loop).
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create the engine for a database URL (SQLite file or PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        lock_file = None
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            lock_file = Path(parsed.database + ".lock")
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        _WRITE_GATES[engine] = WriteGate(lock_file)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Bare postgresql:// would pick psycopg2, which we do not ship.
        parsed = parsed.set(drivername="postgresql+psycopg")
    # No pre-ping: it costs a round trip at every checkout (a quarter of a short transaction's).
    # A connection the server dropped fails its statement once; SQLAlchemy then recognises the
    # disconnect and empties the pool, so the next unit of work reconnects.
    return create_engine(parsed, echo=echo, pool_size=10, max_overflow=20, pool_recycle=3600)


@contextmanager
def _queued(gate: WriteGate | None) -> Iterator[None]:
    """Wait for the gate; after the busy timeout go on anyway and let SQLite decide (a nested
    write unit in one thread then fails as it always did, instead of hanging)."""
    held = gate is not None and gate.acquire(timeout=BUSY_TIMEOUT_S)
    try:
        yield
    finally:
        if held:
            assert gate is not None
            gate.release()


@contextmanager
def session_scope(engine: Engine, write: bool = False) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises.

    `write=True` for a unit that reads and then writes what it read: on SQLite it holds the
    write lock from the start (other writers wait their turn; readers are not blocked).
    PostgreSQL ignores it.
    """
    sqlite_write = write and engine in _WRITE_GATES
    gate = _WRITE_GATES[engine] if sqlite_write and not _on_event_loop() else None
    with _queued(gate), Session(engine, expire_on_commit=False) as session:
        if sqlite_write:
            session.connection(execution_options={WRITE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@functools.cache
def _insert_into(table: Any) -> Any:
    return table.insert()


APPEND_HOOKS: list[Callable[[Session, SQLModel], None]] = []  # the audit recorder's, once installed


def append_row(session: Session, row: SQLModel) -> None:
    """INSERT one row with a Core statement built once per table, the values bound as
    parameters: for append-only records on hot paths, where the ORM's unit of work costs more
    than the insert. Errors (e.g. IntegrityError) are raised here, as a flush would. The audit
    recorder sees these rows through `APPEND_HOOKS`, in the same transaction."""
    table = type(row).__table__  # type: ignore[attr-defined]
    session.execute(_insert_into(table), {c.name: getattr(row, c.name) for c in table.columns})
    for hook in APPEND_HOOKS:
        hook(session, row)


def empty_tables(
    engine: Engine, names: Sequence[str], then: Callable[[Session], None] | None = None
) -> dict[str, int]:
    """Delete every row of the named tables in one write transaction (the SQLite write lock is
    taken first, so a concurrent writer — a user added in another shell — either commits
    before or waits, and keeps its row in the tables not named). Returns rows deleted per
    table; a table the database does not have yet counts 0. `then` runs last, in the same
    transaction (to put back a row an owner needs, such as the audit log's head)."""
    from sqlalchemy import MetaData, delete, inspect

    present = set(inspect(engine).get_table_names())
    if not present:
        return dict.fromkeys(names, 0)  # a database not created yet: nothing to empty
    metadata = MetaData()
    counts: dict[str, int] = {}
    with session_scope(engine, write=True) as session:
        for name in names:
            if name not in present:
                counts[name] = 0
                continue
            table = Table(name, metadata, autoload_with=session.connection())
            counts[name] = int(session.execute(delete(table)).rowcount or 0)  # type: ignore[attr-defined]
        if then is not None:
            then(session)
    return counts
