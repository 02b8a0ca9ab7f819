"""The epsilon ledger's SQL: the only place that touches `epsilon_budget` and `epsilon_charge`.

A reservation is one conditional UPDATE (`spent + reserved + e <= total + credit`, the credit
being what stewards gave back by raising or resetting the budget): PostgreSQL re-checks
the condition on the locked row, SQLite runs it under the write lock, so of concurrent queries
for the last of a budget exactly the ones that fit get it.

The statements on a query's path are built once, with bound parameters, and executed with a
parameter dict: building a statement per call costs more than SQLite running it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, bindparam, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from connector.storage.engine import append_row
from connector.storage.tables import (
    AskedQuery,
    BudgetAdjustment,
    EpsilonBudget,
    EpsilonCharge,
    utcnow,
)

MICRO = 1_000_000
_BUDGETS: Any = EpsilonBudget.__table__  # type: ignore[attr-defined]
_B = _BUDGETS.c
_ROW = (_B.dataset_id == bindparam("d")) & (_B.organisation == bindparam("o"))
_COLUMNS = (
    _B.dataset_id,
    _B.organisation,
    _B.total_micro,
    _B.spent_micro,
    _B.reserved_micro,
    _B.queries,
    _B.credit_micro,
)
_READ = sa_select(*_COLUMNS).where(_ROW)
_FITS = _B.spent_micro + _B.reserved_micro + bindparam("m") <= bindparam("t") + _B.credit_micro


def _take_statement(into: dict[str, Any]) -> Any:
    return (
        update(_BUDGETS)
        .where(_ROW & _FITS)
        .values(total_micro=bindparam("t"), updated_at=bindparam("now"), **into)
        .returning(*_COLUMNS)
    )


_RESERVE = _take_statement({"reserved_micro": _B.reserved_micro + bindparam("m")})
_CHANGES = {
    "settle": {
        "reserved_micro": _B.reserved_micro - bindparam("m"),
        "spent_micro": _B.spent_micro + bindparam("m"),
        "queries": _B.queries + 1,
    },
    "release": {"reserved_micro": _B.reserved_micro - bindparam("m")},
}
_CHANGE = {
    name: update(_BUDGETS)
    .where(_ROW)
    .values(updated_at=bindparam("now"), **values)
    .returning(*_COLUMNS)
    for name, values in _CHANGES.items()
}


_CHARGES: Any = EpsilonCharge.__table__  # type: ignore[attr-defined]
_CLOSE = (
    update(_CHARGES)
    .where(_CHARGES.c.id == bindparam("cid"))
    .values(
        state=bindparam("state"),
        reason=bindparam("reason"),
        summary=bindparam("summary"),
        settled_at=bindparam("now"),
    )
)


def to_micro(epsilon: float) -> int:
    """A charge in the ledger's integer unit, rounded up: the ledger never records less than
    an answer states (its shortest decimal form is what the caller wrote, so 0.1 is 100,000
    exactly, not one more for the binary fraction's tail)."""
    return math.ceil(Decimal(repr(float(epsilon))) * MICRO)


def total_to_micro(epsilon: float) -> int:
    """A budget total in the ledger's unit, rounded down: a budget never grows by rounding."""
    return math.floor(Decimal(repr(float(epsilon))) * MICRO)


def from_micro(micro: int) -> float:
    """Micro-epsilon back to epsilon."""
    return micro / MICRO


@dataclass(frozen=True)
class Budget:
    """A budget row as it stood when read (micro-epsilon)."""

    dataset_id: str
    organisation: str
    total_micro: int
    spent_micro: int
    reserved_micro: int
    queries: int
    credit_micro: int = 0

    @property
    def used_micro(self) -> int:
        """Spent plus held."""
        return self.spent_micro + self.reserved_micro

    @property
    def counted_micro(self) -> int:
        """What counts against the total: spent plus held, less what stewards gave back."""
        return self.used_micro - self.credit_micro

    @property
    def remaining_micro(self) -> int:
        """What is left to spend."""
        return self.total_micro - self.counted_micro


class LedgerRepository:
    """Budgets and charges."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _insert(self) -> Any:
        bind = self.session.get_bind()
        dialect = bind.dialect.name if isinstance(bind, Engine) else bind.engine.dialect.name
        return pg_insert if dialect == "postgresql" else sqlite_insert

    def budget(self, dataset_id: str, organisation: str) -> Budget | None:
        """One budget row."""
        row = self.session.execute(_READ, {"d": dataset_id, "o": organisation}).first()
        return None if row is None else Budget(*row)

    def counted(self, dataset_id: str, organisation: str) -> int:
        """Spent plus reserved, less what stewards gave back: what the PDP is told has been
        spent against the policy's total."""
        row = self.budget(dataset_id, organisation)
        return 0 if row is None else row.counted_micro

    def credit(self, dataset_id: str, organisation: str, micro: int, total: int) -> Budget:
        """Give back `micro` to a budget (made if the organisation never spent on the dataset,
        with `total` until its next use sets the policy's)."""
        self._ensure(dataset_id, organisation, total)
        row = self.session.execute(
            update(_BUDGETS)
            .where(_ROW)
            .values(credit_micro=_B.credit_micro + bindparam("m"), updated_at=bindparam("now"))
            .returning(*_COLUMNS),
            {"d": dataset_id, "o": organisation, "m": micro, "now": utcnow()},
        ).one()
        return Budget(*row)

    def add_adjustment(self, adjustment: BudgetAdjustment) -> None:
        """Record a steward's raise or reset."""
        append_row(self.session, adjustment)

    def adjustments(self, dataset_id: str | None = None) -> Sequence[BudgetAdjustment]:
        """Stewards' raises and resets, newest first."""
        q = select(BudgetAdjustment)
        if dataset_id:
            q = q.where(col(BudgetAdjustment.dataset_id) == dataset_id)
        return self.session.exec(q.order_by(col(BudgetAdjustment.made_at).desc())).all()

    def charge_history(self, dataset_id: str | None = None) -> Sequence[EpsilonCharge]:
        """Every committed charge, oldest first (for budgets over time)."""
        q = select(EpsilonCharge).where(col(EpsilonCharge.state) == "committed")
        if dataset_id:
            q = q.where(col(EpsilonCharge.dataset_id) == dataset_id)
        return self.session.exec(q.order_by(col(EpsilonCharge.created_at))).all()

    def _ensure(self, dataset_id: str, organisation: str, total: int) -> None:
        if self.budget(dataset_id, organisation) is not None:
            return
        self.session.execute(
            self._insert()(EpsilonBudget)
            .values(
                dataset_id=dataset_id,
                organisation=organisation,
                total_micro=total,
                spent_micro=0,
                reserved_micro=0,
                queries=0,
                credit_micro=0,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["dataset_id", "organisation"])
        )

    def _take(
        self, statement: Any, dataset_id: str, organisation: str, micro: int, total: int
    ) -> Budget | None:
        """Add `micro` if it fits under `total` — the policy's, which the row then follows;
        the budget as it now stands, or None."""
        params = {"d": dataset_id, "o": organisation, "m": micro, "t": total, "now": utcnow()}
        row = self.session.execute(statement, params).first()
        if row is None and self.budget(dataset_id, organisation) is None:
            self._ensure(dataset_id, organisation, total)
            row = self.session.execute(statement, params).first()
        return None if row is None else Budget(*row)

    def reserve(self, dataset_id: str, organisation: str, micro: int, total: int) -> Budget | None:
        """Hold `micro` for work that runs outside this transaction (settled later)."""
        return self._take(_RESERVE, dataset_id, organisation, micro, total)

    def _change(self, change: str, charge: EpsilonCharge) -> Budget:
        params = {
            "d": charge.dataset_id,
            "o": charge.organisation,
            "m": charge.epsilon_micro,
            "now": utcnow(),
        }
        return Budget(*self.session.execute(_CHANGE[change], params).one())

    def settle(self, charge: EpsilonCharge, spent: bool, reason: str = "") -> Budget:
        """A reservation ends: spent (the charge committed) or released (refunded)."""
        budget = self.close(charge, spent, reason)
        params = {
            "cid": charge.id,
            "state": charge.state,
            "reason": reason,
            "summary": charge.summary,
            "now": charge.settled_at,
        }
        self.session.execute(_CLOSE, params)
        return budget

    def close(self, charge: EpsilonCharge, spent: bool, reason: str = "") -> Budget:
        """End a reservation whose charge is not stored yet (a query reserved, answered and
        settled in one transaction): the budget moves, the charge gets its final state, and
        the caller then stores it with `add_charge`."""
        budget = self._change("settle" if spent else "release", charge)
        charge.state = "committed" if spent else "refunded"
        charge.reason, charge.settled_at = reason, utcnow()
        return budget

    def add_charge(self, charge: EpsilonCharge) -> None:
        """Store a new charge."""
        append_row(self.session, charge)

    def charge(self, charge_id: str) -> EpsilonCharge | None:
        """One charge."""
        return self.session.get(EpsilonCharge, charge_id)

    def budgets(self, dataset_id: str | None = None) -> list[Budget]:
        """Every budget (of one dataset), by dataset and organisation."""
        q = sa_select(*_COLUMNS).order_by(_B.dataset_id, _B.organisation)
        if dataset_id:
            q = q.where(_B.dataset_id == dataset_id)
        return [Budget(*row) for row in self.session.execute(q)]

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


class AskedQueries:
    """The asker's own records of DP queries sent to other members (consumer side)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, query_id: str) -> AskedQuery | None:
        """One record by id."""
        return self.session.get(AskedQuery, query_id)

    def of(self, subject: str, limit: int) -> list[AskedQuery]:
        """A person's latest, newest first."""
        stmt = (
            select(AskedQuery)
            .where(AskedQuery.subject == subject)
            .order_by(col(AskedQuery.created_at).desc())
            .limit(limit)
        )
        return list(self.session.exec(stmt).all())

    def last_answered(self, partner: str, dataset_id: str) -> AskedQuery | None:
        """The latest answered query on one member's dataset."""
        stmt = (
            select(AskedQuery)
            .where(AskedQuery.partner == partner, AskedQuery.dataset_id == dataset_id)
            .where(AskedQuery.status < 400)
            .order_by(col(AskedQuery.created_at).desc())
            .limit(1)
        )
        return self.session.exec(stmt).first()
