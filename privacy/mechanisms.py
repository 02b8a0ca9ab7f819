"""The noise: diffprivlib's mechanisms, never a sampler of our own.

Counts get the two-sided geometric mechanism (integer noise, nothing for floating-point attacks
to exploit). Sums get Mironov's snapping mechanism, the floating-point-safe Laplace. Quantiles use
diffprivlib's exponential-mechanism quantile on clamped values. Any `PrivacyLeakWarning` from
diffprivlib is raised as an error: it means a bound came from the data.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from diffprivlib.mechanisms import Geometric, Snapping
from diffprivlib.tools import quantile as dp_quantile
from diffprivlib.utils import PrivacyLeakWarning


class PrivacyLeak(Exception):
    """diffprivlib warned that a computation would leak (e.g. bounds taken from the data)."""


@contextmanager
def leaks_are_errors() -> Iterator[None]:
    """Turn diffprivlib's PrivacyLeakWarning into a PrivacyLeak error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyLeakWarning)
        try:
            yield
        except PrivacyLeakWarning as exc:
            raise PrivacyLeak(str(exc)) from exc


@dataclass(frozen=True)
class Component:
    """One noisy measurement of a release: which mechanism, how much budget, how much noise."""

    measures: str
    mechanism: str
    epsilon: float
    sensitivity: float
    scale: float | None  # the noise's scale (Laplace b; geometric Δ/ε); None: no closed form
    std: float | None  # its standard deviation, for error bars

    @property
    def sd(self) -> float:
        """The noise's standard deviation, for mechanisms that have one in closed form."""
        if self.std is None:
            raise ValueError(f"the {self.mechanism} mechanism has no closed-form error")
        return self.std

    def as_dict(self) -> dict[str, object]:
        """The component as released to the researcher."""
        return {
            "measures": self.measures,
            "mechanism": self.mechanism,
            "epsilon": self.epsilon,
            "sensitivity": self.sensitivity,
            "scale": self.scale,
            "std": self.std,
        }


def noisy_counts(
    counts: np.ndarray, epsilon: float, sensitivity: int
) -> tuple[np.ndarray, Component]:
    """Each count plus two-sided geometric noise (cells are disjoint: parallel composition)."""
    mech = Geometric(epsilon=epsilon, sensitivity=sensitivity)
    with leaks_are_errors():
        out = np.fromiter(
            (mech.randomise(int(c)) for c in counts), dtype=np.int64, count=len(counts)
        )
    std = geometric_sd(epsilon, sensitivity)
    return out, Component("count", "geometric", epsilon, sensitivity, sensitivity / epsilon, std)


def geometric_sd(epsilon: float, sensitivity: float) -> float:
    """The standard deviation of two-sided geometric noise for counts."""
    p = math.exp(-epsilon / sensitivity)
    return math.sqrt(2 * p) / (1 - p)


def laplace_sd(epsilon: float, sensitivity: float) -> float:
    """The standard deviation of Laplace noise (the snapping mechanism's, before snapping)."""
    return sensitivity / epsilon * math.sqrt(2)


def noisy_sums(
    sums: np.ndarray, epsilon: float, sensitivity: float, bound: float, measures: str
) -> tuple[np.ndarray, Component]:
    """Each sum plus snapping-mechanism noise; `bound` is a public bound on |sum|."""
    mech = Snapping(epsilon=epsilon, sensitivity=sensitivity, lower=-bound, upper=bound)
    with leaks_are_errors():
        out = np.fromiter(
            (mech.randomise(float(s)) for s in sums), dtype=np.float64, count=len(sums)
        )
    scale = sensitivity / epsilon
    return out, Component(
        measures, "snapping (Laplace)", epsilon, sensitivity, scale, scale * math.sqrt(2)
    )


def noisy_quantile(
    values: np.ndarray, q: float, epsilon: float, bounds: tuple[float, float]
) -> float:
    """diffprivlib's exponential-mechanism quantile of values already clamped to `bounds`."""
    with leaks_are_errors():
        return float(dp_quantile(values, q, epsilon=epsilon, bounds=bounds))


def quantile_component(epsilon: float, bounds: tuple[float, float]) -> Component:
    """How a quantile was released (its error depends on the data's spread: no closed form)."""
    return Component("quantile", "exponential", epsilon, bounds[1] - bounds[0], None, None)
