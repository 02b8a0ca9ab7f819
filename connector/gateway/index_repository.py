"""SQL for the federated catalogue index (the only module that queries its two tables)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, delete, select

from catalog.model import BBox
from connector.storage.tables import FederatedEntry, FederatedSource


@dataclass(frozen=True)
class IndexQuery:
    """A federated search; every condition given must hold."""

    texts: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()  # any of them
    partners: tuple[str, ...] = ()
    boxes: tuple[BBox, ...] = ()  # overlaps any of them
    start: date | None = None
    end: date | None = None
    privacy_classes: tuple[str, ...] = ()
    fresh_only: bool = False


class IndexRepository:
    """Reads and writes the index inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def sources(self) -> Sequence[FederatedSource]:
        """Every member crawled so far."""
        return self.session.exec(
            select(FederatedSource).order_by(col(FederatedSource.partner))
        ).all()

    def source(self, partner: str) -> FederatedSource | None:
        """One member's crawl record."""
        return self.session.get(FederatedSource, partner)

    def put_source(self, source: FederatedSource) -> None:
        """Insert or replace a crawl record."""
        self.session.merge(source)
        self.session.flush()

    def entry_versions(self, partner: str) -> dict[str, datetime | None]:
        """dataset IRI -> modified, for one member (to write only what changed)."""
        rows = self.session.exec(
            select(FederatedEntry.dataset_iri, FederatedEntry.modified).where(
                col(FederatedEntry.partner) == partner
            )
        ).all()
        return dict(rows)

    def put_entries(self, entries: Sequence[FederatedEntry]) -> None:
        """Insert or replace entries."""
        for entry in entries:
            self.session.merge(entry)
        self.session.flush()

    def set_stale(self, partner: str, stale: bool) -> int:
        """Mark (or clear) every entry of a member as stale; return how many."""
        stmt = (
            update(FederatedEntry).where(col(FederatedEntry.partner) == partner).values(stale=stale)
        )
        return int(self.session.exec(stmt).rowcount or 0)

    def delete_missing(self, partner: str, keep: set[str]) -> int:
        """Drop a member's entries that its catalogue no longer lists."""
        stmt = delete(FederatedEntry).where(
            col(FederatedEntry.partner) == partner, col(FederatedEntry.dataset_iri).not_in(keep)
        )
        return int(self.session.exec(stmt).rowcount or 0)

    def delete_partner(self, partner: str) -> None:
        """Forget a member that left the dataspace."""
        self.session.exec(delete(FederatedEntry).where(col(FederatedEntry.partner) == partner))
        self.session.exec(delete(FederatedSource).where(col(FederatedSource.partner) == partner))

    def get(self, partner: str | None, ref: str) -> Sequence[FederatedEntry]:
        """Entries whose IRI or local id is `ref` (optionally of one member)."""
        cond = or_(col(FederatedEntry.dataset_iri) == ref, col(FederatedEntry.dataset_id) == ref)
        query = select(FederatedEntry).where(cond)
        if partner:
            query = query.where(col(FederatedEntry.partner) == partner)
        return self.session.exec(query.order_by(col(FederatedEntry.partner))).all()

    def search(
        self, q: IndexQuery, offset: int, limit: int
    ) -> tuple[Sequence[FederatedEntry], int]:
        """A page of matching entries (by partner, then title) and the total."""
        e = FederatedEntry
        where = []
        for text in q.texts:
            where.append(col(e.search_text).contains(text.lower(), autoescape=True))
        if q.themes:
            where.append(
                or_(*(col(e.themes).contains(f" {t} ", autoescape=True) for t in q.themes))
            )
        if q.partners:
            where.append(col(e.partner).in_(q.partners))
        if q.privacy_classes:
            where.append(col(e.privacy_class).in_(q.privacy_classes))
        if q.boxes:
            where.append(
                or_(
                    *(
                        and_(
                            col(e.west) <= b.east,
                            col(e.east) >= b.west,
                            col(e.south) <= b.north,
                            col(e.north) >= b.south,
                        )
                        for b in q.boxes
                    )
                )
            )
        if q.start is not None:
            where.append(or_(col(e.end_date).is_(None), col(e.end_date) >= q.start))
        if q.end is not None:
            where.append(or_(col(e.start_date).is_(None), col(e.start_date) <= q.end))
        if q.fresh_only:
            where.append(col(e.stale).is_(False))
        total = self.session.exec(select(func.count()).select_from(e).where(*where)).one()
        rows = self.session.exec(
            select(e)
            .where(*where)
            .order_by(col(e.partner), col(e.title), col(e.dataset_iri))
            .offset(offset)
            .limit(limit)
        ).all()
        return rows, int(total)

    def holders_of(self, dataset_ids: tuple[str, ...]) -> Sequence[FederatedEntry]:
        """Federated-catalogue entries of these datasets, every member's."""
        q = select(FederatedEntry).where(col(FederatedEntry.dataset_id).in_(dataset_ids))
        return self.session.exec(q.order_by(FederatedEntry.partner)).all()
