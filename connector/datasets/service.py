"""Dataset register logic: sync with the data dir's manifest, list, look up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from connector.datasets.repository import DatasetRepository
from connector.errors import DatasetNotFound
from connector.partnerdata.prepare import TableEntry
from connector.storage import Session
from connector.storage.tables import DatasetRecord, utcnow

_SYNCED = (
    "title",
    "description",
    "theme",
    "table_path",
    "row_count",
    "columns",
    "synthetic",
    "source",
    "content_sha256",
)


@dataclass(frozen=True)
class SyncReport:
    """What a start-up registration changed."""

    added: int
    updated: int
    unchanged: int
    removed: int


def sync_register(session: Session, entries: Sequence[TableEntry]) -> SyncReport:
    """Make the register match the manifest: add new tables, update changed, drop vanished."""
    repo = DatasetRepository(session)
    existing = {r.id: r for r in repo.list()}  # one read, not one per dataset
    changed: list[DatasetRecord] = []
    added = updated = 0
    for entry in entries:
        fields = {name: getattr(entry, name) for name in _SYNCED}
        record = existing.get(entry.id)
        if record is None:
            changed.append(DatasetRecord(id=entry.id, **fields))
            added += 1
        elif any(getattr(record, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(record, key, value)
            record.updated_at = utcnow()
            changed.append(record)
            updated += 1
    repo.add(*changed)
    unchanged = len(entries) - added - updated
    removed = repo.delete_except({e.id for e in entries})
    return SyncReport(added, updated, unchanged, removed)


def list_datasets(session: Session) -> Sequence[DatasetRecord]:
    """Every dataset this connector holds."""
    return DatasetRepository(session).list()


def get_dataset(session: Session, dataset_id: str) -> DatasetRecord:
    """One dataset, or DatasetNotFound."""
    record = DatasetRepository(session).get(dataset_id)
    if record is None:
        raise DatasetNotFound(f"this connector holds no dataset '{dataset_id}'", dataset=dataset_id)
    return record


def table_file(session: Session, data_dir: Path, dataset_id: str) -> Path:
    """The Parquet file of a registered dataset (DatasetNotFound if it is gone)."""
    record = get_dataset(session, dataset_id)
    path = (data_dir / record.table_path).resolve()
    if not path.is_file() or data_dir.resolve() not in path.parents:
        raise DatasetNotFound(f"the table of dataset '{dataset_id}' is not on this connector")
    return path
