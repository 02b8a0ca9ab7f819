"""Run a differentially private aggregate on an Arrow table.

Selection and grouping run on pyarrow compute (`is_in`, `index_in`, temporal parts); the
per-group reductions are NumPy `bincount`s over group codes, so every declared group exists —
empty ones included — without the data deciding which groups are released. Values are clamped to
the declared bounds before any sum; with a contributor limit each contributor keeps at most
`max_rows` rows and every sensitivity is multiplied by it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privacy.mechanisms import (
    Component,
    geometric_sd,
    laplace_sd,
    noisy_counts,
    noisy_quantile,
    noisy_sums,
    quantile_component,
)
from privacy.query import (
    Aggregate,
    AggregateQuery,
    DatasetProfile,
    Dimension,
    DisclosureRules,
    TimePart,
)


class QueryRefused(ValueError):
    """The query asks for something the privacy layer never answers; the message says what."""


T = TypeVar("T")
_PARTS = {TimePart.hour: pc.hour, TimePart.weekday: pc.day_of_week, TimePart.month: pc.month}


@dataclass
class Cell:
    """One released value: its group, the noisy value, the noisy count, or why it is withheld."""

    group: dict[str, str]
    value: float | int | None
    count: int | None = None
    stderr: float | None = None
    bin: tuple[float, float] | None = None
    suppressed: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The cell as released."""
        out: dict[str, Any] = {"group": self.group, "value": self.value}
        if self.count is not None:
            out["count"] = self.count
        if self.stderr is not None:
            out["stderr"] = self.stderr
        if self.bin is not None:
            out["bin"] = list(self.bin)
        if self.suppressed is not None:
            out["suppressed"] = self.suppressed
        return out


@dataclass
class Release:
    """What leaves the connector for one query: noisy cells and how they were made."""

    query: AggregateQuery
    bounds: tuple[float, float] | None
    components: list[Component]
    cells: list[Cell]
    rules: DisclosureRules
    contributor_limit: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def epsilon(self) -> float:
        """Budget spent (sequential composition over the components)."""
        return self.query.epsilon

    def as_dict(self) -> dict[str, Any]:
        """The release as JSON-ready data."""
        return {
            "dataset": self.query.dataset,
            "aggregate": self.query.aggregate.value,
            "column": self.query.column,
            "group_by": self.query.group_by,
            "filters": [f.model_dump() for f in self.query.filters],
            "epsilon": self.epsilon,
            "bounds": list(self.bounds) if self.bounds else None,
            "contributor_limit": self.contributor_limit,
            "mechanisms": [c.as_dict() for c in self.components],
            "min_group_size": self.rules.min_group_size,
            "cells": [c.as_dict() for c in self.cells],
            "notes": self.notes,
        }


# --- checking a query against the profile -----------------------------------------------------


def _dimension(profile: DatasetProfile, name: str) -> Dimension:
    dim = profile.dimensions.get(name)
    if dim is None:
        known = sorted(profile.dimensions) or ["none declared"]
        raise QueryRefused(
            f"'{name}' is not a public dimension of {profile.dataset}; public dimensions: "
            f"{', '.join(known)}"
        )
    return dim


def check(query: AggregateQuery, profile: DatasetProfile, rules: DisclosureRules) -> None:
    """Refuse anything outside the profile, with a message that names the problem."""
    column = query.column
    if column is not None:
        if column in profile.identifiers or column == profile.contributor:
            raise QueryRefused(f"column '{column}' is a personal identifier and never leaves")
        if column not in profile.bounds:
            bounded = ", ".join(sorted(profile.bounds)) or "none declared"
            raise QueryRefused(
                f"column '{column}' has no declared bounds in the catalogue, so it cannot be "
                f"aggregated; bounded columns: {bounded}"
            )
    for f in query.filters:
        dim = _dimension(profile, f.dimension)
        unknown = sorted(set(f.values) - set(dim.values))
        if unknown:
            raise QueryRefused(
                f"filter on '{f.dimension}': {unknown} not in its declared domain "
                f"({len(dim.values)} values)"
            )
    cells = math.prod(len(_dimension(profile, g).values) for g in query.group_by)
    if query.aggregate is Aggregate.histogram:
        cells *= query.bins
    if cells > rules.max_cells:
        raise QueryRefused(f"the query would release {cells} cells; at most {rules.max_cells}")


# --- reading the table --------------------------------------------------------------------------


def _to_numpy(array: pa.ChunkedArray | pa.Array, fill: Any) -> np.ndarray:
    if array.null_count:
        array = pc.fill_null(array, fill)
    return np.asarray(
        array.to_numpy(zero_copy_only=False) if isinstance(array, pa.Array) else array.to_numpy()
    )


class TableView:
    """A table with the arrays queries derive from it, computed once: group codes per
    dimension, numeric columns as float64, contributor ids sorted. A connector keeps one per
    table digest, so a small query costs only its own filtering and noise."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.num_rows = table.num_rows
        self._cache: dict[tuple[object, ...], Any] = {}
        self._selections: dict[tuple[object, ...], Any] = {}
        self._lock = threading.Lock()

    def _memo(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    SELECTIONS = 32

    def selection(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        """The rows and group codes of a query shape, kept for the most recent shapes: a
        dashboard asks the same question again and again (the noise is drawn every time)."""
        with self._lock:
            found = self._selections.pop(key, None)
        if found is None:
            found = make()  # outside the lock: threads asking other shapes need not wait
        with self._lock:
            self._selections[key] = found
            while len(self._selections) > self.SELECTIONS:
                self._selections.pop(next(iter(self._selections)))
        return found

    def codes(self, dim: Dimension) -> np.ndarray:
        """Each row's index in the dimension's declared domain; -1 outside it."""
        return self._memo(("codes", dim), lambda: self._codes(dim))

    def _codes(self, dim: Dimension) -> np.ndarray:
        if dim.column not in self.table.column_names:
            raise QueryRefused(
                f"dimension '{dim.name}' reads column '{dim.column}', which is missing"
            )
        values = self.table[dim.column]
        if dim.part is not None:
            values = _PARTS[dim.part](values)
        try:
            domain = pa.array(dim.values).cast(values.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise QueryRefused(
                f"the domain of '{dim.name}' does not fit its column: {exc}"
            ) from exc
        return _to_numpy(pc.index_in(values, value_set=domain), -1).astype(np.int64)

    def numbers(self, column: str) -> tuple[np.ndarray, np.ndarray | None]:
        """A numeric column as float64 (nulls as 0) and its validity mask (None: no nulls)."""
        return self._memo(("numbers", column), lambda: self._numbers(column))

    def _numbers(self, column: str) -> tuple[np.ndarray, np.ndarray | None]:
        if column not in self.table.column_names:
            raise QueryRefused(f"column '{column}' is not in the table")
        data = self.table[column]
        if not pa.types.is_integer(data.type) and not pa.types.is_floating(data.type):
            raise QueryRefused(f"column '{column}' is not numeric")
        valid = _to_numpy(pc.is_valid(data), False).astype(bool) if data.null_count else None
        return _to_numpy(data, 0).astype(np.float64, copy=False), valid

    def clamped(self, column: str, lower: float, upper: float) -> np.ndarray:
        """A numeric column clamped to public bounds (the bounds are metadata, so the clamped
        copy can be kept for the table's life)."""
        return self._memo(
            ("clamped", column, lower, upper),
            lambda: np.clip(self.numbers(column)[0], lower, upper),
        )

    def contributors(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Contributor codes per row, and the rows ordered by contributor (stable)."""
        return self._memo(("contributors", column), lambda: self._contributors(column))

    def _contributors(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        ids = self.table[column]
        codes = _to_numpy(pc.dictionary_encode(ids).combine_chunks().indices, -1)
        codes = codes.astype(np.int64)
        return codes, np.argsort(codes, kind="stable")


@dataclass
class _Selection:
    """The rows a query aggregates: their group code and (clamped) value."""

    groups: np.ndarray | None  # int64 code per kept row; None: one group
    values: np.ndarray | None  # float64 per kept row, clamped
    n_groups: int
    n_rows: int

    def counts(self) -> np.ndarray:
        """Rows per group."""
        if self.groups is None:
            return np.array([self.n_rows])
        return np.bincount(self.groups, minlength=self.n_groups)

    def codes(self) -> np.ndarray:
        """The group code of each kept row."""
        if self.groups is None:
            return np.zeros(self.n_rows, dtype=np.int64)
        return self.groups

    def sums(self, power: int = 1) -> np.ndarray:
        """Σ value**power per group."""
        v = self.values if self.values is not None else np.zeros(self.n_rows)
        if self.groups is None:
            return np.array([float(v.sum()) if power == 1 else float(np.dot(v, v))])
        return np.bincount(self.groups, weights=v if power == 1 else v * v, minlength=self.n_groups)


def _selection_key(
    query: AggregateQuery, profile: DatasetProfile, clamp: bool
) -> tuple[object, ...]:
    """Everything a selection depends on: not the aggregate, the epsilon or the noise."""
    return (
        tuple((f.dimension, tuple(f.values)) for f in query.filters),
        tuple(query.group_by),
        query.column,
        clamp,
        tuple(profile.dimensions.get(n) for n in query.group_by),
        tuple(profile.dimensions.get(f.dimension) for f in query.filters),
        profile.bounds.get(query.column or ""),
        profile.contributor,
        profile.max_rows,
    )


def _select(
    view: TableView, query: AggregateQuery, profile: DatasetProfile, clamp: bool = True
) -> _Selection:
    keep: np.ndarray | None = None

    def narrow(mask: np.ndarray) -> None:
        nonlocal keep
        keep = mask if keep is None else keep & mask

    for f in query.filters:
        dim = profile.dimensions[f.dimension]
        chosen = [dim.values.index(v) for v in f.values]
        narrow(np.isin(view.codes(dim), chosen))
    codes: np.ndarray | None = None
    n_groups = 1
    for name in query.group_by:
        dim = profile.dimensions[name]
        idx = view.codes(dim)
        narrow(idx >= 0)  # rows outside the declared domain belong to no released group
        codes = idx if codes is None else codes * len(dim.values) + idx
        n_groups *= len(dim.values)
    raw = None
    if query.column is not None:
        numbers, valid = view.numbers(query.column)
        if valid is not None:
            narrow(valid)
        lo, hi = profile.bounds[query.column]
        raw = view.clamped(query.column, lo, hi) if clamp else numbers
    if profile.contributor is not None:
        narrow(_contribution_mask(view, profile.contributor, keep, profile.max_rows))
    n_rows = view.num_rows
    if keep is not None:
        codes = codes[keep] if codes is not None else None
        raw = raw[keep] if raw is not None else None
        n_rows = int(np.count_nonzero(keep))
    return _Selection(codes, raw, n_groups, n_rows)


def _contribution_mask(
    view: TableView, column: str, keep: np.ndarray | None, limit: int
) -> np.ndarray:
    """Keep the first `limit` eligible rows of each contributor (in table order)."""
    person, by_person = view.contributors(column)
    order = by_person if keep is None else by_person[keep[by_person]]
    sorted_ids = person[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    mask = np.zeros(len(person), dtype=bool)
    mask[order[rank < limit]] = True
    return mask


# --- releasing --------------------------------------------------------------------------------


def _round(value: float, std: float) -> float:
    """Drop digits far below the noise: keep one decimal place under the error's order."""
    value = float(value)
    if not math.isfinite(value) or not math.isfinite(std) or std <= 0:
        return value
    digits = 1 - math.floor(math.log10(std))
    return float(round(value, max(digits, -6)))


@dataclass
class _Job:
    """Everything a release needs: the selection, the query and the public facts."""

    sel: _Selection
    query: AggregateQuery
    rules: DisclosureRules
    k: int  # rows one contributor may add: multiplies every sensitivity
    groups: list[dict[str, str]]
    bounds: tuple[float, float]

    @property
    def epsilon(self) -> float:
        return self.query.epsilon

    def counts(self) -> np.ndarray:
        return self.sel.counts()

    def centred(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Per group Σ(v - mid) and Σ(v - mid)², from plain sums (no centred copy)."""
        lo, hi = self.bounds
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        n, s1 = self.counts(), self.sel.sums(1)
        first = s1 - mid * n
        second = (
            self.sel.sums(2) - 2 * mid * s1 + mid * mid * n
            if self.query.aggregate is Aggregate.variance
            else np.zeros_like(first)
        )
        return first, second, mid, half

    def release(self, components: list[Component], cells: list[Cell]) -> Release:
        bounds = None if self.query.aggregate is Aggregate.count else self.bounds
        return Release(self.query, bounds, components, cells, self.rules)


def run_query(
    table: pa.Table | TableView,
    query: AggregateQuery,
    profile: DatasetProfile,
    rules: DisclosureRules | None = None,
    *,
    clamp: bool = True,
) -> Release:
    """Answer one query with noise. `clamp=False` exists only for the negative-control test
    that proves the privacy audit detects a leak; nothing in the product passes it."""
    rules = rules or DisclosureRules()
    check(query, profile, rules)
    view = table if isinstance(table, TableView) else TableView(table)
    sel = view.selection(
        _selection_key(query, profile, clamp), lambda: _select(view, query, profile, clamp)
    )
    k = profile.max_rows if profile.contributor else 1
    domains = [profile.dimensions[g].values for g in query.group_by]
    groups = [dict(zip(query.group_by, combo, strict=True)) for combo in product(*domains)]
    bounds = profile.bounds.get(query.column or "", (0.0, 0.0))
    job = _Job(sel, query, rules, k, groups, bounds)
    release = _RELEASES[query.aggregate](job, profile)
    release.contributor_limit = k if profile.contributor else None
    return release


def _suppressed(cell: Cell, noisy_count: float, rules: DisclosureRules) -> bool:
    """Withhold a cell whose noisy count is below the minimum group size."""
    if noisy_count < rules.min_group_size:
        cell.value = cell.count = cell.stderr = None
        cell.suppressed = f"fewer than {rules.min_group_size} rows"
        return True
    return False


def _dominated(cell: Cell, total: float, job: _Job) -> bool:
    """Withhold a cell where one contributor could hold more than the dominance share: the
    most one contributor can add is k rows at the largest bound, a public figure."""
    most = job.k * max(abs(job.bounds[0]), abs(job.bounds[1]))
    if most > job.rules.dominance_share * abs(total):
        cell.value = cell.stderr = None
        share = round(100 * job.rules.dominance_share)
        cell.suppressed = f"one contributor could account for more than {share}% of the total"
        return True
    return False


def _release_count(job: _Job, profile: DatasetProfile) -> Release:
    del profile
    noisy, comp = noisy_counts(job.counts(), job.epsilon, job.k)
    cells = []
    for g, n in zip(job.groups, noisy, strict=True):
        cell = Cell(g, int(max(n, 0)), stderr=_round(comp.sd, comp.sd))
        _suppressed(cell, int(n), job.rules)
        cells.append(cell)
    return job.release([comp], cells)


def _sum_bound(per_row: float, profile: DatasetProfile) -> float:
    """A public bound on |sum| for the snapping mechanism: the most rows times the most each."""
    return per_row * profile.row_bound


def _release_sum(job: _Job, profile: DatasetProfile) -> Release:
    lo, hi = job.bounds
    counts, c_comp = noisy_counts(job.counts(), job.epsilon / 4, job.k)
    top = max(abs(lo), abs(hi))
    sens = top * job.k
    sums, s_comp = noisy_sums(
        job.sel.sums(),
        job.epsilon * 3 / 4,
        sens,
        _sum_bound(top, profile),
        "sum",
    )
    cells = []
    for g, n, s in zip(job.groups, counts, sums, strict=True):
        cell = Cell(g, _round(float(s), s_comp.sd), int(n), _round(s_comp.sd, s_comp.sd))
        if not _suppressed(cell, int(n), job.rules):
            _dominated(cell, float(s), job)
        cells.append(cell)
    return job.release([c_comp, s_comp], cells)


def _release_mean(job: _Job, profile: DatasetProfile) -> Release:
    lo, hi = job.bounds
    centred, _, mid, half = job.centred()
    counts, c_comp = noisy_counts(job.counts(), job.epsilon / 2, job.k)
    sens = half * job.k
    sums, s_comp = noisy_sums(
        centred, job.epsilon / 2, sens, _sum_bound(half, profile), "centred sum"
    )
    cells = []
    for g, n, s in zip(job.groups, counts, sums, strict=True):
        cell = Cell(g, None, int(n))
        if not _suppressed(cell, int(n), job.rules):
            mean = min(max(mid + float(s) / n, lo), hi)
            se = s_comp.sd / n
            cell.value, cell.stderr = _round(mean, se), _round(se, se)
            _dominated(cell, mean * n, job)
        cells.append(cell)
    return job.release([c_comp, s_comp], cells)


def _release_variance(job: _Job, profile: DatasetProfile) -> Release:
    centred, squared, _, half = job.centred()
    third = job.epsilon / 3
    counts, c_comp = noisy_counts(job.counts(), third, job.k)
    sums, s_comp = noisy_sums(
        centred, third, half * job.k, _sum_bound(half, profile), "centred sum"
    )
    squares, q_comp = noisy_sums(
        squared,
        third,
        half * half * job.k,
        _sum_bound(half * half, profile),
        "centred squares",
    )
    cells = []
    for g, n, s, q in zip(job.groups, counts, sums, squares, strict=True):
        cell = Cell(g, None, int(n))
        if not _suppressed(cell, int(n), job.rules):
            mean = float(s) / n
            var = min(max(float(q) / n - mean * mean, 0.0), half * half)
            se = q_comp.sd / n
            cell.value, cell.stderr = _round(var, se), _round(se, se)
        cells.append(cell)
    return job.release([c_comp, s_comp, q_comp], cells)


def _release_histogram(job: _Job, profile: DatasetProfile) -> Release:
    del profile
    lo, hi = job.bounds
    bins = job.query.bins
    values = job.sel.values if job.sel.values is not None else np.zeros(0)
    which = np.clip(((values - lo) / (hi - lo) * bins).astype(np.int64), 0, bins - 1)
    codes = job.sel.codes() * bins + which
    counts = np.bincount(codes, minlength=job.sel.n_groups * bins)
    noisy, comp = noisy_counts(counts, job.epsilon, job.k)
    width = (hi - lo) / bins
    cells = []
    for i, n in enumerate(noisy):
        g, b = divmod(i, bins)
        edges = (lo + b * width, lo + (b + 1) * width)
        cell = Cell(job.groups[g], int(max(n, 0)), stderr=_round(comp.sd, comp.sd), bin=edges)
        _suppressed(cell, int(n), job.rules)
        cells.append(cell)
    return job.release([comp], cells)


def _release_quantile(job: _Job, profile: DatasetProfile) -> Release:
    del profile
    half = job.epsilon / 2
    counts, c_comp = noisy_counts(job.counts(), half, job.k)
    values = job.sel.values if job.sel.values is not None else np.zeros(0)
    groups = job.sel.codes()
    order = np.argsort(groups, kind="stable")
    split = np.cumsum(np.bincount(groups, minlength=job.sel.n_groups))[:-1]
    per_group = np.split(values[order], split)
    # A contributor limit of k rows changes the quantile's utility score by up to k.
    eps_q = half / job.k
    cells = []
    for g, n, vals in zip(job.groups, counts, per_group, strict=True):
        cell = Cell(g, None, int(n))
        if not _suppressed(cell, int(n), job.rules):
            cell.value = round(noisy_quantile(vals, job.query.quantile, eps_q, job.bounds), 6)
        cells.append(cell)
    return job.release([c_comp, quantile_component(half, job.bounds)], cells)


_RELEASES = {
    Aggregate.count: _release_count,
    Aggregate.sum: _release_sum,
    Aggregate.mean: _release_mean,
    Aggregate.variance: _release_variance,
    Aggregate.histogram: _release_histogram,
    Aggregate.quantile: _release_quantile,
}


# --- before spending: the error a query will carry ---------------------------------------------


@dataclass(frozen=True)
class Expected:
    """The noise one query will add, known before it is asked (public facts only).

    For counts, sums and histograms `sd` is the error of each cell. For means and variances the
    error shrinks with the group's rows: `sd / n` for a group of n rows (`per_row`). A
    quantile's error depends on the data's spread: no closed form (`sd` None).
    """

    measures: str
    sd: float | None
    per_row: bool = False


def expected_error(query: AggregateQuery, profile: DatasetProfile) -> Expected:
    """The standard error a query's answer will carry, from its epsilon and the dataset's
    public profile, with the same budget split the releases above use."""
    k = profile.max_rows if profile.contributor else 1
    eps = query.epsilon
    lo, hi = profile.bounds.get(query.column or "", (0.0, 0.0))
    top, half = max(abs(lo), abs(hi)), (hi - lo) / 2
    agg = query.aggregate
    if agg in (Aggregate.count, Aggregate.histogram):
        return Expected("count", geometric_sd(eps, k))
    if agg is Aggregate.sum:
        return Expected("sum", laplace_sd(eps * 3 / 4, top * k))
    if agg is Aggregate.mean:
        return Expected("mean", laplace_sd(eps / 2, half * k), per_row=True)
    if agg is Aggregate.variance:
        return Expected("variance", laplace_sd(eps / 3, half * half * k), per_row=True)
    return Expected("quantile", None)
