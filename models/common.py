"""Helpers the models share: the public area domain, stable selections, partial folding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from models.base import Partial

# Bologna's 90 statistical areas are numbered 1..90 (the Comune's open dataset): a public
# domain, so every partial is indexed the same way whatever rows a holder has.
AREAS = np.arange(1, 91, dtype=np.int32)
N_AREAS = len(AREAS)


def area_index(codes: np.ndarray) -> np.ndarray:
    """Row index into AREAS for each code, -1 outside the domain."""
    codes = np.asarray(codes, dtype=np.int64)
    ok = (codes >= 1) & (codes <= N_AREAS)
    return np.where(ok, codes - 1, -1)


def stable_fraction(ids: pa.Array | pd.Series) -> np.ndarray:
    """A number in [0, 1) per id that never changes between runs or machines: picks which
    buildings a '30 % retrofit' touches, identically at every holder and in a central run."""
    hashed = pd.util.hash_pandas_object(pd.Series(ids, dtype="string"), index=False)
    return (hashed.to_numpy(dtype=np.uint64) % np.uint64(1_000_003)) / 1_000_003.0


def sum_partials(partials: Sequence[Partial], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Element-wise sums of the named arrays over holders; suppressed cells (NaN) stay NaN."""
    out: dict[str, np.ndarray] = {}
    for name in names:
        arrays = [
            np.asarray(p.arrays[name], dtype=np.float64) for p in partials if name in p.arrays
        ]
        if not arrays:
            raise ValueError(f"no holder returned '{name}'")
        out[name] = np.sum(arrays, axis=0)
    return out


def month_of_hours(year: int) -> tuple[np.ndarray, np.ndarray]:
    """Day-of-year (1-based) per day and month index (0..11) per day of `year`."""
    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"))
    doy = (days - days[0]).astype(np.int64) + 1
    months = days.astype("datetime64[M]").astype(np.int64) % 12
    return doy, months
