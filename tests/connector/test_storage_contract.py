"""Storage contract: every test runs against SQLite and a real PostgreSQL cluster."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, SQLModel

from connector.datasets.repository import DatasetRepository
from connector.datasets.service import SyncReport, sync_register
from connector.partnerdata.prepare import TableEntry
from connector.storage import current_revision, head_revision, make_engine, session_scope, upgrade
from connector.storage.tables import DatasetRecord


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _entry(i: int, **kw: object) -> TableEntry:
    base = TableEntry(
        id=f"ds-{i}",
        title=f"Dataset {i}",
        description="d",
        theme="TRAN",
        table_path=f"tables/ds-{i}.parquet",
        row_count=10 * i,
        columns=[{"name": "x", "type": "int32"}],
        synthetic=False,
        source="test",
        content_sha256=f"{i:064x}",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_migrations_create_schema_from_empty(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert "dataset" in inspect(engine).get_table_names()
    upgrade(engine)  # a second start is a no-op
    assert current_revision(engine) == head_revision()


def test_migrations_match_the_table_models(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"tables.py and migrations disagree: {diff}"


def test_upgrade_keeps_existing_rows(engine: Engine) -> None:
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO dataset (id, title, description, theme, table_path, row_count,"
                " columns, synthetic, source, registered_at) VALUES ('old', 'Old', '', 'ENVI',"
                " 't.parquet', 7, NULL, false, 'x', '2025-01-02 03:04:05+00:00')"
            )
        )
    upgrade(engine)
    with session_scope(engine) as s:
        rec = DatasetRepository(s).get("old")
        assert rec is not None
        assert (rec.title, rec.row_count, rec.content_sha256) == ("Old", 7, "")
        assert rec.updated_at.year == 2025  # back-filled from registered_at


def test_sync_register_adds_updates_and_removes(engine: Engine) -> None:
    upgrade(engine)
    with session_scope(engine) as s:
        assert sync_register(s, [_entry(1), _entry(2)]) == SyncReport(2, 0, 0, 0)
    with session_scope(engine) as s:
        report = sync_register(s, [_entry(1), _entry(3), _entry(2, row_count=99)])
        assert report == SyncReport(added=1, updated=1, unchanged=1, removed=0)
    with session_scope(engine) as s:
        assert sync_register(s, [_entry(3)]) == SyncReport(0, 0, 1, 2)
        rows = DatasetRepository(s).list()
    assert [r.id for r in rows] == ["ds-3"]
    assert rows[0].columns == [{"name": "x", "type": "int32"}]


def test_failed_write_leaves_the_store_unchanged(engine: Engine) -> None:
    upgrade(engine)
    with session_scope(engine) as s:
        sync_register(s, [_entry(1)])

    def write_new_then_duplicate() -> None:
        with session_scope(engine) as s:
            repo = DatasetRepository(s)
            repo.add(
                DatasetRecord(id="ds-2", title="new", theme="ENVI", table_path="p", row_count=1)
            )
            # same primary key as an existing row: the flush fails mid-transaction
            repo.add(
                DatasetRecord(id="ds-1", title="dup", theme="ENVI", table_path="p", row_count=1)
            )

    with pytest.raises(IntegrityError):
        write_new_then_duplicate()
    with session_scope(engine) as s:
        assert [r.id for r in DatasetRepository(s).list()] == ["ds-1"]


def test_list_is_ordered_and_get_misses_cleanly(engine: Engine) -> None:
    upgrade(engine)
    with session_scope(engine) as s:
        sync_register(s, [_entry(3), _entry(1), _entry(2)])
    with session_scope(engine) as s:
        repo = DatasetRepository(s)
        assert [r.id for r in repo.list()] == ["ds-1", "ds-2", "ds-3"]
        assert repo.get("nope") is None


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    eng = make_engine(f"sqlite:///{tmp_path}/wal.db")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    eng.dispose()


def _add(engine: Engine, dataset_id: str) -> None:
    with session_scope(engine) as s:
        DatasetRepository(s).add(
            DatasetRecord(
                id=dataset_id, title=dataset_id, theme="ENVI", table_path="p", row_count=1
            )
        )


def test_read_then_write_unit_waits_for_a_concurrent_writer(db_url: str) -> None:
    """Two engines stand for two processes on one database (a server and the CLI)."""
    mine, other = make_engine(db_url), make_engine(db_url)
    upgrade(mine)
    order: list[str] = []
    try:
        with session_scope(mine, write=True) as s:
            seen = [r.id for r in DatasetRepository(s).list()]
            writer = threading.Thread(target=lambda: (_add(other, "theirs"), order.append("them")))
            writer.start()
            writer.join(0.3)  # on SQLite it is queued behind our lock; PostgreSQL lets it in
            DatasetRepository(s).add(
                DatasetRecord(id="mine", title=str(seen), theme="ENVI", table_path="p", row_count=1)
            )
            order.append("me")
        writer.join(10)
        assert not writer.is_alive()
        with session_scope(mine) as s:
            assert [r.id for r in DatasetRepository(s).list()] == ["mine", "theirs"]
        if db_url.startswith("sqlite"):
            assert order == ["me", "them"]
    finally:
        mine.dispose()
        other.dispose()


def test_sqlite_deferred_read_then_write_is_the_hazard(tmp_path: object) -> None:
    """Why write=True exists: without it, a write after a stale read fails at once."""
    url = f"sqlite:///{tmp_path}/race.db"
    mine, other = make_engine(url), make_engine(url)
    upgrade(mine)
    try:
        with session_scope(mine) as s:
            DatasetRepository(s).list()
            _add(other, "theirs")  # commits between our read and our write
            with pytest.raises(OperationalError, match="database is locked"):
                _add_in(s, "mine")
            s.rollback()
    finally:
        mine.dispose()
        other.dispose()


def _add_in(session: Session, dataset_id: str) -> None:
    DatasetRepository(session).add(
        DatasetRecord(id=dataset_id, title=dataset_id, theme="ENVI", table_path="p", row_count=1)
    )
