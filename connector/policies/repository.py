"""SQL for usage policies and decision records (the only module that queries those tables)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from connector.storage.engine import append_row
from connector.storage.tables import (
    CatalogRecord,
    DecisionRecord,
    PolicyCases,
    PolicyRevision,
    UsagePolicyRecord,
)

# Statements on every decision's path: built once, executed with bound parameters.
_P: Any = UsagePolicyRecord.__table__  # type: ignore[attr-defined]
_C: Any = CatalogRecord.__table__  # type: ignore[attr-defined]
_STAMP = sa_select(
    sa_select(func.count()).select_from(_P).scalar_subquery(),
    sa_select(func.coalesce(func.sum(_P.c.version), 0)).scalar_subquery(),
    sa_select(func.max(_P.c.set_at)).scalar_subquery(),
    sa_select(func.count()).select_from(_C).scalar_subquery(),
    sa_select(func.max(_C.c.modified)).scalar_subquery(),
)


class PolicyRepository:
    """Stewards' policies and what the effective policy set is built from."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, dataset_id: str) -> UsagePolicyRecord | None:
        """The stored policy of a dataset, if a steward set one."""
        return self.session.get(UsagePolicyRecord, dataset_id)

    def all(self) -> Sequence[UsagePolicyRecord]:
        """Every stored policy, by dataset."""
        return self.session.exec(
            select(UsagePolicyRecord).order_by(col(UsagePolicyRecord.dataset_id))
        ).all()

    def put(self, record: UsagePolicyRecord) -> None:
        """Insert or replace (flushed so errors surface here)."""
        self.session.merge(record)
        self.session.flush()

    def delete(self, dataset_id: str) -> bool:
        """Remove a stored policy (the dataset falls back to its default offer)."""
        row = self.get(dataset_id)
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True

    def add_revision(self, revision: PolicyRevision) -> None:
        """Keep one revision in the dataset's history."""
        self.session.add(revision)
        self.session.flush()

    def revisions(self, dataset_id: str) -> Sequence[PolicyRevision]:
        """A dataset's policy history, newest first."""
        return self.session.exec(
            select(PolicyRevision)
            .where(PolicyRevision.dataset_id == dataset_id)
            .order_by(col(PolicyRevision.id).desc())
        ).all()

    def cases(self, dataset_id: str) -> PolicyCases | None:
        """The steward's test cases for a dataset's policy."""
        return self.session.get(PolicyCases, dataset_id)

    def put_cases(self, cases: PolicyCases) -> None:
        """Store (or replace) a dataset's test cases."""
        self.session.merge(cases)
        self.session.flush()

    def privacy_classes(self) -> dict[str, str]:
        """dataset id -> privacy class, for every published dataset."""
        rows = self.session.exec(select(CatalogRecord.dataset_id, CatalogRecord.privacy_class))
        return {d: p for d, p in rows.all()}

    def personal(self) -> dict[str, bool]:
        """dataset id -> whether it holds personal data (its catalogue governance says)."""
        rows = self.session.exec(select(CatalogRecord.dataset_id, CatalogRecord.description))
        return {
            d: bool(((desc or {}).get("governance") or {}).get("personal_data", True))
            for d, desc in rows.all()
        }

    def stamp(self) -> tuple[object, ...]:
        """Changes whenever a policy or a dataset's catalogue entry changes (one cheap read)."""
        return tuple(self.session.execute(_STAMP).one())


class DecisionRepository:
    """Decision records (append-only)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: DecisionRecord) -> None:
        """Append one record."""
        append_row(self.session, record)

    def search(
        self,
        dataset_id: str | None = None,
        organisation: str | None = None,
        allowed: bool | None = None,
        limit: int = 100,
    ) -> Sequence[DecisionRecord]:
        """Newest first, filtered."""
        stmt = select(DecisionRecord)
        if dataset_id:
            stmt = stmt.where(DecisionRecord.dataset_id == dataset_id)
        if organisation:
            stmt = stmt.where(DecisionRecord.organisation == organisation)
        if allowed is not None:
            stmt = stmt.where(DecisionRecord.allowed == allowed)
        stmt = stmt.order_by(col(DecisionRecord.timestamp).desc()).limit(limit)
        return self.session.exec(stmt).all()

    def get(self, decision_id: str) -> DecisionRecord | None:
        """One record."""
        return self.session.get(DecisionRecord, decision_id)
