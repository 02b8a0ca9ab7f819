"""The epsilon ledger's SQL: the only place that touches `epsilon_budget` and `epsilon_charge`.

A reservation is one conditional UPDATE (`spent + reserved + e <= total`): PostgreSQL re-checks
the condition on the locked row, SQLite runs it under the write lock, so of concurrent queries
for the last of a budget exactly the ones that fit get it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from connector.storage.engine import append_row
from connector.storage.tables import (
    CatalogRecord,
    DatasetRecord,
    EpsilonBudget,
    EpsilonCharge,
    utcnow,
)

MICRO = 1_000_000


def to_micro(epsilon: float) -> int:
    """Epsilon in the ledger's integer unit."""
    return round(epsilon * MICRO)


def from_micro(micro: int) -> float:
    """Micro-epsilon back to epsilon."""
    return micro / MICRO


class LedgerRepository:
    """Budgets and charges."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _insert(self) -> object:
        bind = self.session.get_bind()
        dialect = bind.dialect.name if isinstance(bind, Engine) else bind.engine.dialect.name
        return pg_insert if dialect == "postgresql" else sqlite_insert

    def budget(self, dataset_id: str, organisation: str) -> EpsilonBudget | None:
        """One budget row."""
        return self.session.get(EpsilonBudget, (dataset_id, organisation))

    def used(self, dataset_id: str, organisation: str) -> int:
        """Spent plus reserved (what the PDP is told has been spent)."""
        row = self.budget(dataset_id, organisation)
        return 0 if row is None else row.spent_micro + row.reserved_micro

    def _take(
        self, dataset_id: str, organisation: str, micro: int, total: int, spend: bool
    ) -> EpsilonBudget | None:
        """Add `micro` to spent (or reserved) if it fits under `total` (the policy's, which the
        row then follows): one conditional UPDATE, the budget as it now stands, or None."""
        b = EpsilonBudget
        into: dict[str, Any] = (
            {"spent_micro": col(b.spent_micro) + micro, "queries": col(b.queries) + 1}
            if spend
            else {"reserved_micro": col(b.reserved_micro) + micro}
        )
        fits = (
            update(b)
            .where(
                col(b.dataset_id) == dataset_id,
                col(b.organisation) == organisation,
                col(b.spent_micro) + col(b.reserved_micro) + micro <= total,
            )
            .values(total_micro=total, updated_at=utcnow(), **into)
            .returning(*b.__table__.columns)  # type: ignore[attr-defined]
            .execution_options(synchronize_session=False)
        )
        row = self.session.execute(fits).first()
        if row is None and self.budget(dataset_id, organisation) is None:
            insert = self._insert()
            self.session.execute(
                insert(EpsilonBudget)  # type: ignore[operator]
                .values(
                    dataset_id=dataset_id,
                    organisation=organisation,
                    total_micro=total,
                    spent_micro=0,
                    reserved_micro=0,
                    queries=0,
                    updated_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["dataset_id", "organisation"])
            )
            row = self.session.execute(fits).first()
        return None if row is None else EpsilonBudget(**row._asdict())

    def spend(
        self, dataset_id: str, organisation: str, micro: int, total: int
    ) -> EpsilonBudget | None:
        """Charge `micro` at once, inside the unit of work that releases the answer."""
        return self._take(dataset_id, organisation, micro, total, spend=True)

    def reserve(
        self, dataset_id: str, organisation: str, micro: int, total: int
    ) -> EpsilonBudget | None:
        """Hold `micro` for work that runs outside this transaction (settled later)."""
        return self._take(dataset_id, organisation, micro, total, spend=False)

    def _change(self, charge: EpsilonCharge, **values: Any) -> EpsilonBudget:
        b = EpsilonBudget
        row = self.session.execute(
            update(b)
            .where(
                col(b.dataset_id) == charge.dataset_id,
                col(b.organisation) == charge.organisation,
            )
            .values(updated_at=utcnow(), **values)
            .returning(*b.__table__.columns)  # type: ignore[attr-defined]
            .execution_options(synchronize_session=False)
        ).one()
        return EpsilonBudget(**row._asdict())

    def settle(self, charge: EpsilonCharge, spent: bool, reason: str = "") -> EpsilonBudget:
        """A reservation ends: spent (committed) or released (refunded)."""
        b, micro = EpsilonBudget, charge.epsilon_micro
        values: dict[str, Any] = {"reserved_micro": col(b.reserved_micro) - micro}
        if spent:
            values |= {"spent_micro": col(b.spent_micro) + micro, "queries": col(b.queries) + 1}
        budget = self._change(charge, **values)
        self._close(charge, "committed" if spent else "refunded", reason)
        return budget

    def refund(self, charge: EpsilonCharge, reason: str) -> EpsilonBudget:
        """Give back a charge spent earlier in this transaction (the answer failed); the
        charge, not yet stored, is then added as refunded."""
        b, micro = EpsilonBudget, charge.epsilon_micro
        budget = self._change(
            charge, spent_micro=col(b.spent_micro) - micro, queries=col(b.queries) - 1
        )
        charge.state, charge.reason, charge.settled_at = "refunded", reason, utcnow()
        return budget

    def _close(self, charge: EpsilonCharge, state: str, reason: str) -> None:
        charge.state, charge.reason, charge.settled_at = state, reason, utcnow()
        self.session.add(charge)

    def add_charge(self, charge: EpsilonCharge) -> None:
        """Store a new charge."""
        append_row(self.session, charge)

    def charge(self, charge_id: str) -> EpsilonCharge | None:
        """One charge."""
        return self.session.get(EpsilonCharge, charge_id)

    def budgets(self, dataset_id: str | None = None) -> Sequence[EpsilonBudget]:
        """Every budget (of one dataset), by dataset and organisation."""
        q = select(EpsilonBudget)
        if dataset_id:
            q = q.where(col(EpsilonBudget.dataset_id) == dataset_id)
        q = q.order_by(col(EpsilonBudget.dataset_id), col(EpsilonBudget.organisation))
        return self.session.exec(q).all()

    def charges(
        self, dataset_id: str | None = None, organisation: str | None = None, limit: int = 100
    ) -> Sequence[EpsilonCharge]:
        """Charges, newest first."""
        q = select(EpsilonCharge)
        if dataset_id:
            q = q.where(col(EpsilonCharge.dataset_id) == dataset_id)
        if organisation:
            q = q.where(col(EpsilonCharge.organisation) == organisation)
        q = q.order_by(col(EpsilonCharge.created_at).desc()).limit(limit)
        return self.session.exec(q).all()

    def committed_total(self, dataset_id: str, organisation: str) -> int:
        """Sum of committed charges (a ledger check: equals the budget's spent)."""
        c = EpsilonCharge
        q = select(func.coalesce(func.sum(c.epsilon_micro), 0)).where(
            col(c.dataset_id) == dataset_id,
            col(c.organisation) == organisation,
            col(c.state) == "committed",
        )
        return int(self.session.exec(q).one())


class ProfileRepository:
    """What the privacy layer reads about a dataset: its table and its catalogue entry."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def stamp(self, dataset_id: str) -> tuple[str, str, int, object] | None:
        """(table path, content digest, row count, catalogue modified) in one cheap read; None
        when the dataset is not held or not published."""
        d, c = DatasetRecord, CatalogRecord
        row = self.session.exec(
            select(d.table_path, d.content_sha256, d.row_count, c.modified)
            .join(c, col(c.dataset_id) == col(d.id))
            .where(col(d.id) == dataset_id)
        ).first()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def description(self, dataset_id: str) -> dict[str, Any]:
        """The published description (JSON) of a dataset."""
        entry = self.session.get(CatalogRecord, dataset_id)
        return entry.description if entry is not None else {}
