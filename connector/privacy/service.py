"""DP aggregate queries on a connector: decide, answer with noise, take the budget, release.

One query is a read and a single write, so the write lock is held only for the ledger:

1. read and decide, without a lock — the dataset's public profile, the agreement, the epsilon
   already used, and the PDP's decision (action `aggregate`, the epsilon asked and used);
2. answer — if the use is allowed, `privacy.run_query` draws the noisy answer on the cached
   Arrow table; it is held back, not released;
3. one write transaction — the caller's token id recorded, the agreement's use counted and
   the epsilon reserved by conditional UPDATEs that re-check what was read, the decision
   record, and the charge settled (spent, or refunded if the answer failed) and stored. The
   answer leaves only after this commits; a refusal discards it unseen.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from pydantic import ValidationError
from sqlalchemy import Engine

from catalog.model import DatasetDescription
from connector.contracts import uses
from connector.contracts.uses import PreparedUse, prepare_use, take_use
from connector.errors import BadRequest, DatasetNotFound, GemelloError, UsageDenied
from connector.policies.service import PolicyRuntime
from connector.privacy.repository import (
    Budget,
    LedgerRepository,
    from_micro,
    to_micro,
    total_to_micro,
)
from connector.publishing.service import dataset_description, dataset_stamp
from connector.settings import Settings
from connector.storage import Session, session_scope
from connector.storage.tables import BudgetAdjustment, EpsilonCharge, utcnow
from connector.timestamps import as_utc
from policy import Decision
from privacy import (
    AggregateQuery,
    DatasetProfile,
    Dimension,
    DisclosureRules,
    QueryRefused,
    Release,
    TimePart,
    privatise_output,
    run_query,
)
from privacy.engine import TableView, check


class QueryRejected(GemelloError):
    """The query asks for something the privacy layer never answers."""

    title, status, slug = "Query refused", 422, "query-refused"


class BudgetExhausted(GemelloError):
    """The organisation's privacy budget on the dataset cannot cover the query."""

    title, status, slug = "Privacy budget exhausted", 403, "budget-exhausted"


@dataclass(frozen=True)
class Caller:
    """Who asks: the organisation charged, and the acting person (pseudonym) and role."""

    organisation: str
    subject: str | None = None
    role: str | None = None


class PrivacyRuntime:
    """The connector's privacy layer: disclosure rules, default budgets and a table cache."""

    def __init__(
        self,
        data_dir: Path,
        rules: DisclosureRules,
        default_total: float,
        default_per_query: float,
        clamp: bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.rules = rules
        self.default_total = default_total
        self.default_per_query = default_per_query
        # Only the privacy audit's negative control turns this off (tests/privacy).
        self.clamp = clamp
        self._tables: dict[str, tuple[str, TableView]] = {}
        self._profiles: dict[str, tuple[tuple[object, ...], DatasetProfile]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> PrivacyRuntime:
        """The runtime a connector's settings describe."""
        rules = DisclosureRules(
            min_group_size=settings.privacy_min_group_size,
            dominance_share=settings.privacy_dominance_share,
        )
        return cls(
            settings.resolved_data_dir,
            rules,
            settings.privacy_default_epsilon_total,
            settings.privacy_default_epsilon_per_query,
        )

    def profile(self, session: Session, dataset_id: str) -> tuple[DatasetProfile, str, str]:
        """The dataset's profile, table path and digest; re-read when either changes."""
        stamp = dataset_stamp(session, dataset_id)
        if stamp is None:
            raise DatasetNotFound(f"no published dataset '{dataset_id}' on this connector")
        relative, digest, rows, _ = stamp
        cached = self._profiles.get(dataset_id)
        if cached is None or cached[0] != stamp:
            cached = (stamp, _profile(dataset_id, dataset_description(session, dataset_id), rows))
            self._profiles[dataset_id] = cached
        return cached[1], relative, digest

    def table(self, relative: str, digest: str) -> TableView:
        """A dataset's table, read once per content digest (with what queries derive from it)."""
        cached = self._tables.get(relative)
        if cached is not None and cached[0] == digest:
            return cached[1]
        with self._lock:
            cached = self._tables.get(relative)
            if cached is None or cached[0] != digest:
                cached = (digest, TableView(pq.read_table(self.data_dir / relative)))
                self._tables[relative] = cached
        return cached[1]


def _row_bound(rows: int) -> int:
    # The register's row count is public; the next power of ten is a bound that does not move
    # with small changes to the table.
    return 10 ** max(1, math.ceil(math.log10(max(rows, 1) + 1)))


def _profile(dataset_id: str, description: dict[str, Any], rows: int) -> DatasetProfile:
    """The public profile of a dataset, from its catalogue description."""
    try:
        gov = DatasetDescription.model_validate(description).governance
    except ValidationError as exc:
        raise QueryRejected(f"the catalogue entry of '{dataset_id}' cannot be read: {exc}") from exc
    limit = gov.contribution_limit
    return DatasetProfile(
        dataset=dataset_id,
        bounds={b.column: (b.lower, b.upper) for b in gov.column_bounds},
        dimensions={
            d.name: Dimension(
                d.name, d.column, tuple(d.values), TimePart(d.part) if d.part else None
            )
            for d in gov.dimensions
        },
        identifiers=tuple(gov.identifiers),
        contributor=limit.column if limit else None,
        max_rows=limit.max_rows if limit else 1,
        row_bound=_row_bound(rows),
    )


@dataclass(frozen=True)
class Answer:
    """A release and its bookkeeping."""

    release: Release
    charge_id: str
    decision_id: str
    agreement_id: str
    budget: Budget

    def as_dict(self) -> dict[str, Any]:
        """The answer as sent to the researcher."""
        b = self.budget
        return {
            "query_id": self.charge_id,
            "decision_id": self.decision_id,
            "agreement_id": self.agreement_id,
            **self.release.as_dict(),
            "budget": budget_view(b),
        }


def budget_view(b: Budget) -> dict[str, Any]:
    """A budget in epsilon, as stewards and researchers read it."""
    return {
        "dataset_id": b.dataset_id,
        "organisation": b.organisation,
        "total": from_micro(b.total_micro),
        "spent": from_micro(b.spent_micro),
        "reserved": from_micro(b.reserved_micro),
        "credit": from_micro(b.credit_micro),
        "remaining": from_micro(b.remaining_micro),
        "queries": b.queries,
    }


def _budget_total(decision: Decision, default: float) -> int:
    """The total the granting permission sets (`epsilonTotal`), else the connector's default."""
    totals = [
        total_to_micro(float(o["total"])) - (1 if o.get("strict") else 0)
        for o in decision.obligations
        if o.get("type") == "epsilon-budget"
    ]
    return min(totals) if totals else total_to_micro(default)


def _summary(query: AggregateQuery) -> dict[str, Any]:
    return {
        "aggregate": query.aggregate.value,
        "column": query.column,
        "group_by": query.group_by,
        "filters": [f.model_dump() for f in query.filters],
        "epsilon": query.epsilon,
    }


@dataclass
class _Outcome:
    """What deciding and charging produced: the charge, and the budget after it or the error."""

    charge: EpsilonCharge
    budget: Budget | None = None
    error: Exception | None = None


def _reserve(
    session: Session,
    rt: PrivacyRuntime,
    policies: PolicyRuntime,
    caller: Caller,
    agreement_id: str,
    query: AggregateQuery,
    prepared: PreparedUse,
) -> _Outcome:
    """Take the use the PDP allowed and, with it, the query's epsilon (one conditional UPDATE).
    A refusal is returned, to be raised once the transaction has stored it with its refused
    charge; an allowed charge is stored once the query settled it."""
    ledger = LedgerRepository(session)
    org, dataset, micro = caller.organisation, query.dataset, to_micro(query.epsilon)
    out = _Outcome(
        EpsilonCharge(
            id=f"urn:gemello:query:{uuid.uuid4()}",
            dataset_id=dataset,
            organisation=org,
            epsilon_micro=micro,
            state="reserved",
            kind="query",
            agreement_id=agreement_id,
            summary=_summary(query) | {"purpose": prepared.request.purpose or ""},
            created_at=utcnow(),
        )
    )

    def reserve(decision: Decision) -> str | None:
        compiled = policies.pdp.policies.compiled.get(policies.publisher.dataset_iri(dataset))
        if (compiled is None or "epsilon" not in compiled.operands) and (
            query.epsilon > rt.default_per_query
        ):
            out.error = UsageDenied(
                f"epsilon {query.epsilon:g} is above the {rt.default_per_query:g} one query may "
                f"spend on '{dataset}' (the policy sets no per-query epsilon)"
            )
            return out.error.detail
        total = _budget_total(decision, rt.default_total)
        out.budget = ledger.reserve(dataset, org, micro, total)
        if out.budget is None:
            left = from_micro(max(total - ledger.counted(dataset, org), 0))
            out.error = BudgetExhausted(
                f"the privacy budget of {org} on '{dataset}' has {left:g} epsilon left; "
                f"the query asks for {query.epsilon:g}",
                epsilon_remaining=left,
            )
            return out.error.detail
        return None

    outcome = take_use(session, prepared, gate=reserve)
    out.charge.decision_id = outcome.decision.decision_id
    if not outcome.allowed:
        out.error = out.error or _denial(
            ledger, caller, query, outcome.reasons, outcome.decision.decision_id
        )
        out.charge.state, out.charge.reason = "refused", "; ".join(outcome.reasons)
        ledger.add_charge(out.charge)
    return out


def _denial(
    ledger: LedgerRepository,
    caller: Caller,
    query: AggregateQuery,
    reasons: tuple[str, ...],
    decision_id: str,
) -> GemelloError:
    """The error for a PDP denial; one on the policy's epsilonTotal says what is left."""
    row = ledger.budget(query.dataset, caller.organisation)
    left = None if row is None else from_micro(row.remaining_micro)
    why = "; ".join(reasons)
    if not any(r.startswith("epsilonTotal") for r in reasons):
        return UsageDenied(why, decision_id=decision_id, epsilon_remaining=left)
    has = f"has {left:g} epsilon left" if left is not None else "cannot cover it"
    return BudgetExhausted(
        f"the privacy budget of {caller.organisation} on '{query.dataset}' {has}; the query "
        f"asks for {query.epsilon:g} ({why})",
        decision_id=decision_id,
        epsilon_remaining=left,
    )


def answer_query(
    engine: Engine,
    rt: PrivacyRuntime,
    policies: PolicyRuntime,
    caller: Caller,
    agreement_id: str,
    query: AggregateQuery,
    first: Callable[[Session], None] | None = None,
) -> Answer:
    """Read and decide without the write lock (profile, agreement, budget used, the PDP) and,
    if the use is allowed, draw the noisy answer; then one transaction: take the use, reserve
    the epsilon (conditional UPDATEs that re-check what was read), settle, and store the charge
    with its final state. The answer leaves only once that transaction has committed, so
    nothing is released that the ledger does not hold; a refused or failed transaction
    discards it unseen. Drawing it first keeps the noise and the cells out of the write lock
    (one writer at a time on SQLite: the lock's hold time bounds the queries per second). A
    denial is committed with its decision record and a refused charge, then raised; a failed
    answer is committed refunded. `first` runs first in that transaction (the caller's token
    id is recorded there: a replay raises, and the whole transaction with it)."""
    org = caller.organisation
    with session_scope(engine) as session:
        profile, relative, digest = rt.profile(session, query.dataset)
        try:
            check(query, profile, rt.rules)
        except QueryRefused as exc:
            raise QueryRejected(str(exc)) from exc
        agreement = uses.agreement(session, agreement_id)
        if agreement is not None and agreement.dataset_id != query.dataset:
            raise UsageDenied(
                f"agreement {agreement_id} covers dataset '{agreement.dataset_id}', "
                f"not '{query.dataset}'"
            )
        spent = from_micro(LedgerRepository(session).counted(query.dataset, org))
        prepared = prepare_use(
            session, policies, agreement_id, "aggregate", org,
            subject=caller.subject, role=caller.role,
            extra={"epsilon": query.epsilon, "epsilon_spent": spent}, context="aggregate",
        )  # fmt: skip

    def answer() -> Release | Exception:
        try:
            table = rt.table(relative, digest)  # read once per content digest
            return run_query(table, query, profile, rt.rules, clamp=rt.clamp)
        except Exception as exc:
            return exc

    # Drawn, not released: only an allowed use is worth the work (a denial stays a denial).
    drawn = answer() if prepared.fail is None and prepared.decision.allow else None
    with session_scope(engine, write=True) as session:
        if first is not None:
            first(session)
        out = _reserve(session, rt, policies, caller, agreement_id, query, prepared)
        if out.error is None:
            ledger = LedgerRepository(session)
            if drawn is None:
                drawn = answer()
            if isinstance(drawn, Exception):
                ledger.close(out.charge, False, f"not answered: {drawn}")
            else:
                out.charge.summary = out.charge.summary | {
                    "mechanisms": [c.as_dict() for c in drawn.components],
                    "cells": len(drawn.cells),
                    "suppressed": sum(1 for c in drawn.cells if c.suppressed),
                }
                budget = ledger.close(out.charge, True)
            ledger.add_charge(out.charge)
    if out.error is not None:
        raise out.error
    if isinstance(drawn, QueryRefused):
        raise QueryRejected(str(drawn)) from drawn
    if isinstance(drawn, Exception):
        raise drawn
    assert drawn is not None  # an allowed use is answered, or its failure raised above
    return Answer(drawn, out.charge.id, out.charge.decision_id or "", agreement_id, budget)


# --- model outputs (the compute layer): reserve before a run, release the noisy output after ---


def reserve_for_run(
    session: Session,
    caller: Caller,
    dataset_id: str,
    epsilon: float,
    decision: Decision,
    default_total: float,
    run_id: str,
    purpose: str = "",
    what: dict[str, Any] | None = None,
) -> EpsilonCharge:
    """Hold a model run's epsilon before it starts (in the transaction of its PDP decision).
    The run may take minutes, so the budget is held, not spent: `release_output` spends it,
    `cancel_run` gives it back; a run that never reports keeps it held (counted as used)."""
    ledger = LedgerRepository(session)
    micro, total = to_micro(epsilon), _budget_total(decision, default_total)
    if ledger.reserve(dataset_id, caller.organisation, micro, total) is None:
        left = from_micro(max(total - ledger.counted(dataset_id, caller.organisation), 0))
        raise BudgetExhausted(
            f"the privacy budget of {caller.organisation} on '{dataset_id}' has {left:g} "
            f"epsilon left; the run asks for {epsilon:g}",
            epsilon_remaining=left,
        )
    charge = EpsilonCharge(
        id=run_id,
        dataset_id=dataset_id,
        organisation=caller.organisation,
        epsilon_micro=micro,
        state="reserved",
        kind="model-output",
        decision_id=decision.decision_id,
        summary={"epsilon": epsilon, "purpose": purpose, **(what or {})},
        created_at=utcnow(),
    )
    ledger.add_charge(charge)
    return charge


def _reserved(ledger: LedgerRepository, run_id: str) -> EpsilonCharge:
    charge = ledger.charge(run_id)
    if charge is None or charge.state != "reserved":
        raise BadRequest(f"no budget is held for run '{run_id}'")
    return charge


def release_output(
    engine: Engine, run_id: str, values: np.ndarray, l1_sensitivity: float, bound: float
) -> tuple[np.ndarray, dict[str, Any], Budget]:
    """A run's output with Laplace (snapping) noise for its declared sensitivity and the
    epsilon held for it; the held budget becomes spent in the same transaction."""
    noisy, components, budget = release_outputs(
        engine, run_id, {"output": (values, l1_sensitivity, bound)}
    )
    return noisy["output"], components[0], budget


def release_outputs(
    engine: Engine, charge_id: str, items: dict[str, tuple[np.ndarray, float, float]]
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]], Budget]:
    """Several outputs of one run released against one held charge: the epsilon is split
    evenly between them (sequential composition), each gets Laplace noise for its own L1
    sensitivity and public bound; the charge is spent in the same transaction."""
    if not items:
        raise ValueError("nothing to release")
    with session_scope(engine, write=True) as session:
        ledger = LedgerRepository(session)
        charge = _reserved(ledger, charge_id)
        share = from_micro(charge.epsilon_micro) / len(items)
        noisy: dict[str, np.ndarray] = {}
        components: list[dict[str, Any]] = []
        for name, (values, l1, bound) in items.items():
            noisy[name], component = privatise_output(values, l1, share, bound)
            components.append({"output": name, **component.as_dict()})
        charge.summary = charge.summary | {"mechanisms": components}
        budget = ledger.settle(charge, spent=True)
    return noisy, components, budget


def refund(session: Session, charge_id: str, reason: str) -> bool:
    """Give back a charge still held (a run that released nothing), in this transaction;
    False when there is none to give back (already spent, refunded, or unknown)."""
    ledger = LedgerRepository(session)
    charge = ledger.charge(charge_id)
    if charge is None or charge.state != "reserved":
        return False
    ledger.settle(charge, spent=False, reason=reason[:500])
    return True


def refund_now(engine: Engine, charge_id: str, reason: str) -> bool:
    """`refund` in a unit of work of its own."""
    with session_scope(engine, write=True) as session:
        return refund(session, charge_id, reason)


def cancel_run(engine: Engine, run_id: str, reason: str) -> Budget:
    """A run that failed or was cancelled releases nothing: its held budget is given back."""
    with session_scope(engine, write=True) as session:
        ledger = LedgerRepository(session)
        return ledger.settle(_reserved(ledger, run_id), spent=False, reason=reason)


def budgets(session: Session, dataset_id: str | None = None) -> list[dict[str, Any]]:
    """Every budget in epsilon (stewards and auditors)."""
    return [budget_view(b) for b in LedgerRepository(session).budgets(dataset_id)]


# A budget raise or reset is a steward's recorded act: its reason is public (audit log and the
# transparency portal), so it must say something.
MIN_REASON = 10
MAX_RAISE = 100.0


def adjust_budget(
    session: Session,
    dataset_id: str,
    organisation: str,
    kind: str,
    reason: str,
    who: str,
    *,
    epsilon: float | None = None,
    default_total: float = 5.0,
) -> BudgetAdjustment:
    """Raise an organisation's budget on a dataset by `epsilon`, or reset it (what it spent
    stops counting against the policy's total). The ledger keeps every charge; the act is a
    record with its reason, audited in this transaction."""
    why = " ".join(reason.split())
    if len(why) < MIN_REASON:
        raise BadRequest(
            f"a budget {kind or 'change'} needs its reason (at least {MIN_REASON} characters): "
            "it is published in the audit log and on the transparency portal"
        )
    if not dataset_description(session, dataset_id):
        raise DatasetNotFound(f"no published dataset '{dataset_id}' on this connector")
    ledger = LedgerRepository(session)
    before = ledger.budget(dataset_id, organisation)
    total = before.total_micro if before else total_to_micro(default_total)
    remaining_before = before.remaining_micro if before else total
    if kind == "raise":
        if epsilon is None or not math.isfinite(epsilon) or not 0 < epsilon <= MAX_RAISE:
            raise BadRequest(f"a raise is an epsilon above 0 and at most {MAX_RAISE:g}")
        micro = total_to_micro(epsilon)
    elif kind == "reset":
        micro = before.counted_micro if before else 0
        if micro <= 0:
            raise BadRequest(
                f"{organisation} has spent nothing on '{dataset_id}' since its budget was last "
                "reset: there is nothing to reset"
            )
    else:
        raise BadRequest(f"unknown budget act '{kind}': raise or reset")
    after = ledger.credit(dataset_id, organisation, micro, total)
    act = BudgetAdjustment(
        id=f"urn:gemello:budget-act:{uuid.uuid4()}",
        dataset_id=dataset_id,
        organisation=organisation,
        kind=kind,
        credit_micro=micro,
        remaining_before_micro=remaining_before,
        remaining_after_micro=after.remaining_micro,
        reason=why,
        made_by=who,
        made_at=utcnow(),
    )
    ledger.add_adjustment(act)
    return act


def adjustment_view(a: BudgetAdjustment) -> dict[str, Any]:
    """A raise or reset in epsilon."""
    return {
        "id": a.id,
        "dataset_id": a.dataset_id,
        "organisation": a.organisation,
        "kind": a.kind,
        "epsilon": from_micro(a.credit_micro),
        "remaining_before": from_micro(a.remaining_before_micro),
        "remaining_after": from_micro(a.remaining_after_micro),
        "reason": a.reason,
        "made_by": a.made_by,
        "made_at": a.made_at,
    }


def adjustments(session: Session, dataset_id: str | None = None) -> list[dict[str, Any]]:
    """Stewards' raises and resets, newest first."""
    return [adjustment_view(a) for a in LedgerRepository(session).adjustments(dataset_id)]


def spending_over_time(
    session: Session, dataset_id: str | None = None
) -> dict[tuple[str, str], list[tuple[Any, float]]]:
    """(dataset, organisation) -> [(time, epsilon spent so far)], from the committed charges."""
    series: dict[tuple[str, str], list[tuple[Any, float]]] = {}
    totals: dict[tuple[str, str], int] = {}
    for c in LedgerRepository(session).charge_history(dataset_id):
        key = (c.dataset_id, c.organisation)
        totals[key] = totals.get(key, 0) + c.epsilon_micro
        at = as_utc(c.settled_at or c.created_at)
        series.setdefault(key, []).append((at, from_micro(totals[key])))
    return series


def charges(
    session: Session, dataset_id: str | None, organisation: str | None, limit: int
) -> list[dict[str, Any]]:
    """The latest charges, newest first, in epsilon (stewards and auditors)."""
    rows = LedgerRepository(session).charges(dataset_id, organisation, limit)
    return [
        r.model_dump(exclude={"epsilon_micro"}) | {"epsilon": from_micro(r.epsilon_micro)}
        for r in rows
    ]
