"""SQL for the published catalogue (the only module that queries `catalog_entry`), and the
one read other verticals make of a governed dataset (its table and its published entry)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, or_, select

from connector.storage.tables import CatalogRecord, DatasetRecord


@dataclass(frozen=True)
class CatalogFilter:
    """Conditions on published entries; every field given must hold (AND)."""

    themes: tuple[str, ...] = ()  # any of them
    texts: tuple[str, ...] = ()  # each must appear
    privacy_classes: tuple[str, ...] = ()
    modified_since: datetime | None = None
    ids: tuple[str, ...] = field(default_factory=tuple)


class CatalogRepository:
    """Reads and writes catalogue records inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, dataset_id: str) -> CatalogRecord | None:
        """One record, or None."""
        return self.session.get(CatalogRecord, dataset_id)

    def all(self) -> Sequence[CatalogRecord]:
        """Every record, by id."""
        return self.session.exec(
            select(CatalogRecord).order_by(col(CatalogRecord.dataset_id))
        ).all()

    def page(
        self, where: CatalogFilter, offset: int, limit: int
    ) -> tuple[Sequence[CatalogRecord], int]:
        """One page of matching records (by id) and how many match in all."""
        conditions = []
        if where.themes:
            conditions.append(
                or_(
                    *(
                        col(CatalogRecord.themes).contains(f" {t} ", autoescape=True)
                        for t in where.themes
                    )
                )
            )
        for text in where.texts:
            conditions.append(
                col(CatalogRecord.search_text).contains(text.lower(), autoescape=True)
            )
        if where.privacy_classes:
            conditions.append(col(CatalogRecord.privacy_class).in_(where.privacy_classes))
        if where.modified_since is not None:
            conditions.append(col(CatalogRecord.modified) > where.modified_since)
        if where.ids:
            conditions.append(col(CatalogRecord.dataset_id).in_(where.ids))
        query = select(CatalogRecord).where(*conditions)
        total = self.session.exec(
            select(func.count()).select_from(CatalogRecord).where(*conditions)
        ).one()
        rows = self.session.exec(
            query.order_by(col(CatalogRecord.dataset_id)).offset(offset).limit(limit)
        ).all()
        return rows, int(total)

    def put(self, record: CatalogRecord) -> None:
        """Insert or replace a record (flushed so constraint errors surface here)."""
        self.session.merge(record)
        self.session.flush()

    def delete_except(self, keep: set[str]) -> int:
        """Remove records of datasets no longer held; return how many went."""
        stmt = delete(CatalogRecord).where(col(CatalogRecord.dataset_id).not_in(keep))
        return int(self.session.exec(stmt).rowcount or 0)


_DATASETS: Any = DatasetRecord.__table__  # type: ignore[attr-defined]
_ENTRIES: Any = CatalogRecord.__table__  # type: ignore[attr-defined]
_STAMP = (
    sa_select(
        _DATASETS.c.table_path,
        _DATASETS.c.content_sha256,
        _DATASETS.c.row_count,
        _ENTRIES.c.modified,
    )
    .join_from(_DATASETS, _ENTRIES, _ENTRIES.c.dataset_id == _DATASETS.c.id)
    .where(_DATASETS.c.id == bindparam("d"))
)


class ProfileRepository:
    """What a governed dataset is: its table (digest, rows) and its published description."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def stamp(self, dataset_id: str) -> tuple[str, str, int, object] | None:
        """(table path, content digest, row count, catalogue modified) in one cheap read; None
        when the dataset is not held or not published."""
        row = self.session.execute(_STAMP, {"d": dataset_id}).first()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def description(self, dataset_id: str) -> dict[str, Any]:
        """The published description (JSON) of a dataset."""
        entry = self.session.get(CatalogRecord, dataset_id)
        return entry.description if entry is not None else {}
