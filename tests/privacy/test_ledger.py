"""The epsilon ledger in the connector database, on SQLite and on PostgreSQL.

A hundred queries fire at once at a budget that covers ten: exactly ten are answered, the rest
are refused naming what is left, and the ledger's spent budget equals the sum of what was
released. Every request, answered or not, leaves a decision record and a charge.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from catalog.model import ColumnBounds, Governance, PrivacyClass, PublicDimension
from connector.errors import GemelloError, UsageDenied
from connector.policies.repository import DecisionRepository
from connector.privacy.repository import LedgerRepository, to_micro
from connector.privacy.service import (
    BudgetExhausted,
    Caller,
    QueryRejected,
    cancel_run,
    release_output,
    reserve_for_run,
)
from connector.sandbox import Holder
from connector.storage import session_scope
from policy import Decision
from privacy import DisclosureRules

CONSUMER = "urn:gemello:test:consumer"
OTHER = "urn:gemello:test:other"
BUDGET_OF_ONE = {
    "@id": "urn:gemello:test:policy:budget",
    "permission": [
        {
            "action": "aggregate",
            "constraint": [
                {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["research"]},
                {"leftOperand": "epsilon", "operator": "lteq", "rightOperand": 0.5},
                {"leftOperand": "epsilonTotal", "operator": "lteq", "rightOperand": 1.0},
            ],
        }
    ],
    "prohibition": [{"action": "read"}],
}
GOVERNANCE = Governance(
    privacy_class=PrivacyClass.aggregate_only,
    personal_data=False,
    synthetic=True,
    column_bounds=[ColumnBounds(column="km", lower=0, upper=20)],
    dimensions=[PublicDimension(name="mode", column="mode", values=["bike", "car"])],
)
MEAN = {"dataset": "rides", "aggregate": "mean", "column": "km", "epsilon": 0.1}


@pytest.fixture
def holder(tmp_path: Path, db_url: str) -> Iterator[Holder]:
    rng = np.random.default_rng(5)
    table = pa.table({"km": rng.uniform(0, 20, 2000), "mode": rng.choice(["bike", "car"], 2000)})
    h = Holder(tmp_path / "holder", db_url, rules=DisclosureRules(min_group_size=5))
    h.add_dataset("rides", table, GOVERNANCE)
    h.set_policy("rides", BUDGET_OF_ONE)
    yield h
    h.close()


def test_a_hundred_concurrent_queries_spend_exactly_a_budget_of_ten(holder: Holder) -> None:
    agreement = holder.grant("rides", CONSUMER)
    start = threading.Barrier(100)

    def ask(_: int) -> object:
        start.wait()  # all hundred in flight together
        try:
            return holder.query(CONSUMER, agreement, MEAN)
        except GemelloError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=100) as pool:
        outcomes = list(pool.map(ask, range(100)))
    answered = [o for o in outcomes if not isinstance(o, GemelloError)]
    refused = [o for o in outcomes if isinstance(o, GemelloError)]
    assert len(answered) == 10
    assert all(isinstance(r, UsageDenied | BudgetExhausted) for r in refused), refused[:3]
    assert all(r.status == 403 for r in refused)
    with session_scope(holder.engine) as session:
        ledger = LedgerRepository(session)
        budget = ledger.budget("rides", CONSUMER)
        assert budget is not None
        released = sum(to_micro(a.release.epsilon) for a in answered)  # type: ignore[attr-defined]
        assert budget.spent_micro == released == ledger.committed_total("rides", CONSUMER)
        assert budget.spent_micro == to_micro(1.0)
        assert budget.reserved_micro == 0
        assert budget.queries == 10
        charges = ledger.charges("rides", CONSUMER, limit=1000)
        assert len(charges) == 100
        assert sorted({c.state for c in charges}) == ["committed", "refused"]
        decisions = DecisionRepository(session).search(dataset_id="rides", limit=1000)
        assert len(decisions) == 100
        assert sum(d.allowed for d in decisions) == 10


def test_exhaustion_names_the_remaining_budget(holder: Holder) -> None:
    agreement = holder.grant("rides", CONSUMER)
    for _ in range(2):
        holder.query(CONSUMER, agreement, MEAN | {"epsilon": 0.4})
    with pytest.raises(GemelloError) as caught:
        holder.query(CONSUMER, agreement, MEAN | {"epsilon": 0.4})
    assert caught.value.status == 403
    assert "0.2" in caught.value.detail  # what is left
    assert caught.value.extensions.get("epsilon_remaining") == pytest.approx(0.2)
    # What is left can still be spent, and budgets are per organisation.
    holder.query(CONSUMER, agreement, MEAN | {"epsilon": 0.2})
    holder.query(OTHER, holder.grant("rides", OTHER), MEAN | {"epsilon": 0.4})


def test_a_failed_answer_is_refunded(holder: Holder, tmp_path: Path) -> None:
    agreement = holder.grant("rides", CONSUMER)
    (tmp_path / "holder" / "tables" / "rides.parquet").write_bytes(b"not parquet")
    with pytest.raises(Exception, match="(?i)parquet|magic"):
        holder.query(CONSUMER, agreement, MEAN)
    with session_scope(holder.engine) as session:
        ledger = LedgerRepository(session)
        budget = ledger.budget("rides", CONSUMER)
        assert budget is not None
        assert budget.spent_micro == budget.reserved_micro == 0
        [charge] = ledger.charges("rides", CONSUMER)
        assert charge.state == "refunded"
        assert "not answered" in charge.reason


def test_refusals_before_any_spending(holder: Holder) -> None:
    agreement = holder.grant("rides", CONSUMER)
    with pytest.raises(QueryRejected, match="no declared bounds"):
        holder.query(CONSUMER, agreement, MEAN | {"column": "mode"})
    with pytest.raises(UsageDenied, match="epsilon"):  # the policy caps one query at 0.5
        holder.query(CONSUMER, agreement, MEAN | {"epsilon": 0.8})
    with pytest.raises(UsageDenied, match="no agreement"):
        holder.query(OTHER, agreement, MEAN)
    wrong_purpose = holder.grant("rides", CONSUMER, purpose="commercial")
    with pytest.raises(UsageDenied, match="purpose 'commercial'"):
        holder.query(CONSUMER, wrong_purpose, MEAN)
    with session_scope(holder.engine) as session:
        budget = LedgerRepository(session).budget("rides", CONSUMER)
        assert budget is None or budget.spent_micro == budget.reserved_micro == 0


def _allow() -> Decision:
    return Decision(True, "dec-1", ("allowed",), "rev", ({"type": "epsilon-budget", "total": 1.0},))


def test_a_model_run_holds_its_budget_until_its_noisy_output_is_released(holder: Holder) -> None:
    caller = Caller(CONSUMER)
    with session_scope(holder.engine, write=True) as session:
        reserve_for_run(session, caller, "rides", 0.6, _allow(), 5.0, "urn:gemello:run:1")
    # Held budget counts as used: a query asking for more than what is left is refused.
    with pytest.raises(BudgetExhausted, match="0.4 epsilon left"):
        holder.query(CONSUMER, holder.grant("rides", CONSUMER), MEAN | {"epsilon": 0.5})
    values = np.zeros((500, 2))
    noisy, mechanism, budget = release_output(holder.engine, "urn:gemello:run:1", values, 3.0, 1e6)
    assert noisy.shape == values.shape
    assert mechanism["scale"] == pytest.approx(3.0 / 0.6)
    assert np.std(noisy) == pytest.approx(5.0 * np.sqrt(2), rel=0.2)
    assert budget.spent_micro == to_micro(0.6)
    assert budget.reserved_micro == 0
    with pytest.raises(GemelloError, match="no budget is held"):  # released once only
        release_output(holder.engine, "urn:gemello:run:1", values, 3.0, 1e6)


def test_a_cancelled_run_gives_its_budget_back(holder: Holder) -> None:
    caller = Caller(CONSUMER)
    with session_scope(holder.engine, write=True) as session:
        reserve_for_run(session, caller, "rides", 1.0, _allow(), 5.0, "urn:gemello:run:2")
    with session_scope(holder.engine, write=True) as session, pytest.raises(BudgetExhausted):
        reserve_for_run(session, caller, "rides", 0.1, _allow(), 5.0, "urn:gemello:run:3")
    budget = cancel_run(holder.engine, "urn:gemello:run:2", "holder crashed")
    assert budget.spent_micro == budget.reserved_micro == 0
    with session_scope(holder.engine) as session:
        charge = LedgerRepository(session).charge("urn:gemello:run:2")
        assert charge is not None
        assert (charge.state, charge.reason) == ("refunded", "holder crashed")
