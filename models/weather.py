"""Hourly weather from the daily series: air temperature and clear-sky facade irradiance.

Methods (documented in docs/models.md):

- **Temperature.** The ERG5 series gives each day's minimum and maximum. The hour-by-hour curve
  is the classic two-cosine interpolation: the minimum at 06:00, the maximum at 15:00, a
  half-cosine rise between them and a half-cosine fall to the next morning's minimum. A missing
  day is filled linearly from its neighbours.
- **Solar.** The sun's position for Bologna (44.49° N, 11.34° E, solar time) gives a clear-sky
  direct normal irradiance by Meinel's air-mass formula, a sky-diffuse share and ground
  reflection (albedo 0.2). The facade value is the mean over the four orientations, which for
  beam light is cos(altitude) × (|cos az| + |sin az|) / 4. Each day is dimmed by the
  Hargreaves–Samani clearness implied by its temperature range: 0.16 √(Tmax − Tmin) / 0.75,
  capped at 1.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

LAT = np.radians(44.49)
SOLAR_CONSTANT = 1367.0
ALBEDO = 0.2


def daily_columns(
    table: pa.Table, columns: tuple[str, ...], first: np.datetime64, last: np.datetime64
) -> tuple[dict[str, np.ndarray], int]:
    """Each column's value for every day from `first` to `last` (NaN where the series lacks a
    day, to be filled from its neighbours) and how many days it lacks. A period reaching
    beyond the series is refused: those days would be invented, not interpolated."""
    dates = table.column("date").to_numpy(zero_copy_only=False).astype("datetime64[D]")
    if not len(dates):
        raise ValueError("the weather series is empty")
    start, end = dates.min(), dates.max()
    if first < start or last > end:
        raise ValueError(
            f"the weather series covers {start} to {end}; the period {first} to {last} "
            "reaches beyond it"
        )
    days = np.arange(first, last + np.timedelta64(1, "D"))
    pos = {d: i for i, d in enumerate(dates)}
    take = np.array([pos.get(d, -1) for d in days], dtype=np.int64)
    have = take >= 0
    out: dict[str, np.ndarray] = {}
    for name in columns:
        values = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        out[name] = np.where(have, values[np.maximum(take, 0)], np.nan)
    gaps = np.zeros(len(days), dtype=bool)
    for v in out.values():
        gaps |= ~np.isfinite(v)
    return out, int(gaps.sum())


def hourly_temperature(t_min: np.ndarray, t_max: np.ndarray) -> np.ndarray:
    """Hourly air temperature (days × 24) from daily minima and maxima (two-cosine method)."""
    lo, hi = _filled(t_min), _filled(t_max)
    days = len(lo)
    hours = np.arange(24.0)
    prev_hi = np.concatenate([hi[:1], hi[:-1]])
    next_lo = np.concatenate([lo[1:], lo[-1:]])
    out = np.empty((days, 24))
    rise = (hours >= 6) & (hours <= 15)
    late = hours > 15
    early = hours < 6
    out[:, rise] = (
        lo[:, None] + (hi - lo)[:, None] * (1 - np.cos(np.pi * (hours[rise] - 6) / 9)) / 2
    )
    out[:, late] = (
        next_lo[:, None]
        + (hi - next_lo)[:, None] * (1 + np.cos(np.pi * (hours[late] - 15) / 15)) / 2
    )
    out[:, early] = (
        lo[:, None] + (prev_hi - lo)[:, None] * (1 + np.cos(np.pi * (hours[early] + 9) / 15)) / 2
    )
    return out


def facade_irradiance(day_of_year: np.ndarray, t_range: np.ndarray) -> np.ndarray:
    """Mean irradiance on a vertical facade (days × 24, W/m²), clear sky dimmed per day."""
    n = day_of_year.astype(np.float64)[:, None]
    hour = np.arange(24.0)[None, :] + 0.5
    decl = np.radians(23.45) * np.sin(2 * np.pi * (284 + n) / 365)
    omega = np.radians(15.0 * (hour - 12.0))
    sin_alt = np.sin(LAT) * np.sin(decl) + np.cos(LAT) * np.cos(decl) * np.cos(omega)
    up = sin_alt > 0.01
    sin_alt = np.where(up, sin_alt, 1.0)
    cos_alt = np.sqrt(1 - sin_alt**2)
    cos_az = np.clip(
        (np.sin(decl) - sin_alt * np.sin(LAT)) / (np.maximum(cos_alt, 1e-9) * np.cos(LAT)), -1, 1
    )
    sin_az = np.sqrt(1 - cos_az**2)
    air_mass = 1.0 / sin_alt
    dni = SOLAR_CONSTANT * 0.7 ** (air_mass**0.678)
    diffuse = 0.1 * dni
    ghi = dni * sin_alt + diffuse
    beam = dni * cos_alt * (np.abs(cos_az) + sin_az) / 4
    facade = np.where(up, beam + 0.5 * diffuse + 0.5 * ALBEDO * ghi, 0.0)
    clearness = np.clip(0.16 * np.sqrt(np.clip(_filled(t_range), 0, None)) / 0.75, 0.2, 1.0)
    return facade * clearness[:, None]


def hourly_rain(daily_mm: np.ndarray) -> np.ndarray:
    """Hourly rain (days × 24, mm): each day's total spread evenly over its hours."""
    return np.repeat(np.nan_to_num(_filled(daily_mm), nan=0.0)[:, None] / 24.0, 24, axis=1)


def _filled(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(v)
    if bad.all():
        raise ValueError("the weather series has no values in the period")
    if bad.any():
        idx = np.arange(len(v))
        v = v.copy()
        v[bad] = np.interp(idx[bad], idx[~bad], v[~bad])
    return v
