"""What a researcher may ask of a dataset, and what the connector knows publicly about it.

A query names an aggregate over one bounded numeric column, filtered and grouped only by the
dataset's public dimensions. Everything the noise depends on — clamping bounds, group domains,
the contribution limit — comes from the `DatasetProfile`, which the connector builds from the
dataset's catalogue metadata, never from the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Aggregate(StrEnum):
    """The aggregates the privacy layer answers."""

    count = "count"  # type: ignore[assignment]  # (str.count)
    sum = "sum"
    mean = "mean"
    variance = "variance"
    histogram = "histogram"
    quantile = "quantile"


class TimePart(StrEnum):
    """A public dimension derived from a timestamp or date column."""

    hour = "hour"
    weekday = "weekday"  # Monday = 0
    month = "month"


class Filter(BaseModel):
    """Keep rows whose public dimension takes one of these values."""

    model_config = ConfigDict(extra="forbid")

    dimension: str = Field(min_length=1, max_length=60)
    values: list[str] = Field(min_length=1, max_length=500)


# The epsilon ledger counts in millionths: a smaller epsilon could not be charged at all, and a
# query answered for free is a query without a budget.
EPSILON_UNIT = 1e-6


def at_least_one_unit(epsilon: float) -> float:
    """An epsilon the ledger can charge, or ValueError saying why not."""
    if epsilon < EPSILON_UNIT:
        raise ValueError(
            f"epsilon {epsilon:g} is below {EPSILON_UNIT:g}, the ledger's unit (one "
            "micro-epsilon): it could not be charged"
        )
    return epsilon


class AggregateQuery(BaseModel):
    """A differentially private aggregate over one dataset of the connector."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, max_length=120, description="dataset id")
    aggregate: Aggregate
    column: str | None = Field(
        default=None, max_length=60, description="the bounded numeric column (not for count)"
    )
    filters: list[Filter] = Field(default_factory=list, max_length=4)
    group_by: list[str] = Field(
        default_factory=list, max_length=2, description="public dimensions of the dataset"
    )
    epsilon: float = Field(
        gt=0,
        le=10,
        description="privacy budget this query spends (at least 0.000001)",
        json_schema_extra={"minimum": EPSILON_UNIT},
    )
    quantile: float = Field(default=0.5, gt=0, lt=1, description="for aggregate=quantile")
    bins: int = Field(default=10, ge=2, le=100, description="for aggregate=histogram")

    @field_validator("epsilon")
    @classmethod
    def _chargeable(cls, value: float) -> float:
        return at_least_one_unit(value)

    @model_validator(mode="after")
    def _column_when_needed(self) -> AggregateQuery:
        if self.aggregate is not Aggregate.count and not self.column:
            raise ValueError(f"aggregate '{self.aggregate}' needs a column")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by names a dimension twice")
        return self


@dataclass(frozen=True)
class Dimension:
    """A public, low-cardinality way to slice a dataset, with its declared domain."""

    name: str
    column: str
    values: tuple[str, ...]
    part: TimePart | None = None


@dataclass(frozen=True)
class DatasetProfile:
    """The public facts the privacy layer relies on for one dataset.

    `bounds` clamp each numeric column; `dimensions` are the only filters and group keys, and
    their declared values are the only groups released (so a group absent from the data leaks
    nothing); `identifiers` are pseudonymised columns that never leave; when `contributor` is
    set, each contributor (e.g. a person) keeps at most `max_rows` rows, so the guarantee is per
    contributor rather than per row.
    """

    dataset: str
    bounds: dict[str, tuple[float, float]]
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    identifiers: tuple[str, ...] = ()
    contributor: str | None = None
    max_rows: int = 1
    row_bound: int = 1_000_000


@dataclass(frozen=True)
class DisclosureRules:
    """Statistical disclosure control applied after the noise.

    A cell whose noisy count is below `min_group_size` is suppressed; a sum (or mean) cell where
    one contributor could hold more than `dominance_share` of the released total is suppressed.
    Both tests use only released values and public bounds, so they cost no extra budget.
    """

    min_group_size: int = 10
    dominance_share: float = 0.5
    max_cells: int = 5000


def published_profile(dataset: str, published: dict[str, Any]) -> DatasetProfile:
    """A dataset's profile as a consumer knows it: from the query profile its catalogue entry
    publishes (columns with bounds, dimensions with values, the contribution limit). Enough to
    check a query and preview its error; the holder answers with its own."""
    limit = published.get("contributionLimit")
    return DatasetProfile(
        dataset=dataset,
        bounds={
            str(c["name"]): (float(c["lower"]), float(c["upper"]))
            for c in published.get("columns") or []
        },
        dimensions={
            str(d["name"]): Dimension(str(d["name"]), str(d["name"]), tuple(map(str, d["values"])))
            for d in published.get("dimensions") or []
        },
        contributor="contributor" if limit else None,
        max_rows=int(limit) if limit else 1,
    )
