"""Sweeps and Monte Carlo samples: several scenarios of one model in one federated job.

A scenario may carry a `sweep` (decision 0033):

* over one parameter: `{"parameter": "rain_multiplier", "values": [1, 1.25, 1.5]}` or a range
  `{"parameter": "rain_multiplier", "start": 1, "stop": 2, "step": 0.25}` (stop included);
* or a Monte Carlo sample of uncertain inputs: `{"samples": 32, "vary": {"curve_number_shift":
  [-5, 5]}, "seed": 1}`, each varied parameter drawn uniformly in its range.

Each point is the job's scenario with the swept values put in, validated by the model's own
schema, so a point out of range is refused before the job starts. The job's scenario itself
stays the result's main scenario; the points come back as curves (a sweep) or as percentile
bands (a sample). A model lists which of its parameters may be swept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MAX_POINTS = 64  # scenarios in one job: a sweep's results travel as one partial per holder
BANDS = (5.0, 50.0, 95.0)  # the percentiles a Monte Carlo sample is summarised by


class Sweep(BaseModel):
    """Several scenarios in one job: one parameter over values or a range, or a Monte Carlo
    sample of uncertain inputs."""

    model_config = ConfigDict(extra="forbid")

    parameter: str | None = Field(None, description="the parameter a sweep varies")
    values: list[float] | None = Field(None, description="its values, in order")
    start: float | None = Field(None, description="first value of a range")
    stop: float | None = Field(None, description="last value of a range (included)")
    step: float | None = Field(None, gt=0, description="step of a range")
    samples: int | None = Field(
        None, ge=2, le=MAX_POINTS, description="Monte Carlo: how many scenarios to draw"
    )
    vary: dict[str, Annotated[list[float], Field(min_length=2, max_length=2)]] | None = Field(
        None, description="Monte Carlo: each uncertain parameter's range [low, high], uniform"
    )
    seed: int | None = Field(
        None, ge=0, le=2**31, description="Monte Carlo: the sample's seed (default 1)"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Sweep:
        ranged = (self.start, self.stop, self.step)
        if self.parameter is not None:
            if self.samples is not None or self.vary is not None:
                raise ValueError("a sweep varies one parameter, or draws samples: not both")
            if (self.values is None) == all(v is None for v in ranged):
                raise ValueError("a sweep gives its values, or start, stop and step")
            if self.values is None and any(v is None for v in ranged):
                raise ValueError("a range needs start, stop and step")
        elif self.samples is None or not self.vary:
            raise ValueError(
                "a sweep names a parameter with values (or start, stop, step), or gives "
                "samples and the ranges to vary"
            )
        for name, (low, high) in (self.vary or {}).items():
            if not (math.isfinite(low) and math.isfinite(high)) or low > high:
                raise ValueError(f"the range of {name} is not [low, high]: [{low:g}, {high:g}]")
        if len(self.points()) > MAX_POINTS:
            raise ValueError(f"a sweep has at most {MAX_POINTS} scenarios")
        if not self.points():
            raise ValueError("the sweep has no scenario")
        return self

    @property
    def monte_carlo(self) -> bool:
        """Whether the points are a random sample (summarised by bands, not a curve)."""
        return self.samples is not None

    @property
    def parameters(self) -> list[str]:
        """The parameters the points set."""
        return [self.parameter] if self.parameter else sorted(self.vary or {})

    def points(self) -> list[dict[str, float]]:
        """Each scenario's swept values."""
        if self.parameter is not None:
            if self.values is not None:
                values = list(self.values)
            else:
                assert self.start is not None
                assert self.stop is not None
                assert self.step
                n = math.floor((self.stop - self.start) / self.step + 1e-9) + 1
                if n > MAX_POINTS:  # before allocating a range someone made huge
                    return [{}] * (MAX_POINTS + 1)
                values = [round(self.start + i * self.step, 12) for i in range(max(n, 0))]
            return [{self.parameter: v} for v in values]
        rng = np.random.default_rng(1 if self.seed is None else self.seed)
        names = sorted(self.vary or {})
        ranges = self.vary or {}
        draws = {n: rng.uniform(ranges[n][0], ranges[n][1], size=self.samples or 0) for n in names}
        return [{n: float(draws[n][i]) for n in names} for i in range(self.samples or 0)]


def expand(scenario: BaseModel, sweepable: Sequence[str]) -> list[BaseModel]:
    """The scenarios of `scenario.sweep`, each validated by the scenario's own schema
    (ValueError naming the point when one is refused); [] without a sweep."""
    sweep: Sweep | None = getattr(scenario, "sweep", None)
    if sweep is None:
        return []
    unknown = sorted(set(sweep.parameters) - set(sweepable))
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)} cannot be swept; the sweepable parameters are: "
            f"{', '.join(sweepable)}"
        )
    base = scenario.model_dump(exclude={"sweep"})
    out: list[BaseModel] = []
    for point in sweep.points():
        try:
            out.append(type(scenario).model_validate(put(base, point)))
        except ValidationError as exc:
            what = ", ".join(f"{k} = {v:g}" for k, v in point.items())
            first = exc.errors()[0]
            raise ValueError(f"the sweep's scenario {what} is refused: {first['msg']}") from exc
    return out


def put(base: dict[str, Any], point: dict[str, float]) -> dict[str, Any]:
    """The scenario's fields with a point's values put in; a dotted name sets a key of a
    mapping field (`speed_limits.street` is `speed_limits["street"]`)."""
    out = dict(base)
    for name, value in point.items():
        head, dot, key = name.partition(".")
        if dot:
            out[head] = {**(out.get(head) or {}), key: value}
        else:
            out[name] = value
    return out


def bands(values: np.ndarray) -> np.ndarray:
    """The percentiles BANDS of each column over the first axis (the sample)."""
    return np.percentile(np.asarray(values, dtype=np.float64), BANDS, axis=0)


def describe(sweep: Sweep) -> dict[str, Any]:
    """What a sweep ran, for a summary."""
    if sweep.monte_carlo:
        return {
            "samples": sweep.samples,
            "seed": 1 if sweep.seed is None else sweep.seed,
            "vary": {k: list(v) for k, v in (sweep.vary or {}).items()},
            "percentiles": list(BANDS),
        }
    return {"parameter": sweep.parameter, "values": [p[sweep.parameter or ""] for p in
                                                      sweep.points()]}  # fmt: skip
