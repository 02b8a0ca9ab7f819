"""SQL for the dataset register (the only module that queries the `dataset` table)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, delete, select

from connector.storage.tables import DatasetRecord


class DatasetRepository:
    """Reads and writes dataset records inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self) -> Sequence[DatasetRecord]:
        """All datasets, ordered by id."""
        return self.session.exec(select(DatasetRecord).order_by(col(DatasetRecord.id))).all()

    def get(self, dataset_id: str) -> DatasetRecord | None:
        """One dataset, or None."""
        return self.session.get(DatasetRecord, dataset_id)

    def add(self, *records: DatasetRecord) -> None:
        """Stage new or changed records (flushed so constraint errors surface here)."""
        self.session.add_all(records)
        self.session.flush()

    def delete_except(self, keep: set[str]) -> int:
        """Remove every dataset whose id is not in `keep`; return how many went."""
        stmt = delete(DatasetRecord).where(col(DatasetRecord.id).not_in(keep))
        result = self.session.exec(stmt)
        return int(result.rowcount or 0)
