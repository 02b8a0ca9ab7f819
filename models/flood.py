"""Flood: SCS curve-number runoff with Nash-cascade routing per urban sub-catchment.

Stage `rain` runs where the daily rainfall is (cineca) and returns the period's rain per time
step (each day's total spread evenly over its hours: the series is daily). Stage `catchments`
runs where the sub-catchments are (unibo): for the baseline and the scenario (a rain multiplier
for a wetter climate, a share of paved surface made permeable) it returns the discharge of every
outlet and of every statistical area per step. The gateway sums them and derives peak flow and
time to peak per outlet and the hours each area spends above a specific-discharge threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from models import common, weather
from models.base import Context, Model, Partial, Stage, Tables
from models.kernels import flood as kernel

OUTLETS = ("Reno", "Savena", "Aposa", "Navile", "Idice")  # public: the city's receiving rivers


class FloodScenario(BaseModel):
    """A rainfall period and a climate / land-use scenario."""

    model_config = ConfigDict(extra="forbid")

    start: date = Field(date(2023, 5, 1), description="first day (May 2023 flood by default)")
    end: date = Field(date(2023, 5, 31), description="last day")
    step_minutes: int = Field(60, ge=5, le=60, description="routing step")
    rain_multiplier: float = Field(1.0, gt=0, le=3, description="climate change factor")
    permeable_share: float = Field(0.0, ge=0, le=1, description="share of paving made permeable")
    threshold_m3s_km2: float = Field(1.1, gt=0, description="specific discharge alarm level")
    dry_hours: int = Field(24, ge=1, le=240, description="hours without rain ending an event")

    @model_validator(mode="after")
    def _period(self) -> FloodScenario:
        if self.end < self.start:
            raise ValueError("end is before start")
        if (self.end - self.start).days > 366:
            raise ValueError("the period is limited to one year")
        if 60 % self.step_minutes:
            raise ValueError("step_minutes must divide an hour")
        return self

    @property
    def steps_per_hour(self) -> int:
        """Routing steps per hour."""
        return 60 // self.step_minutes


def _rain_local(tables: Tables, params: BaseModel, _ctx: Context) -> Partial:
    assert isinstance(params, FloodScenario)
    first, last = np.datetime64(params.start, "D"), np.datetime64(params.end, "D")
    cols, filled = weather.daily_columns(tables["rainfall-daily"], ("rain_mm",), first, last)
    daily = cols["rain_mm"]
    hourly = weather.hourly_rain(daily).ravel()
    steps = np.repeat(hourly / params.steps_per_hour, params.steps_per_hour)
    return Partial(
        arrays={"rain": steps},
        meta={"days": int(np.isfinite(daily).sum()), "filled_days": filled},
    )


def _rain_combine(partials: Sequence[Partial], _p: BaseModel, _ctx: Context) -> Context:
    return {
        "rain": np.mean([p.arrays["rain"] for p in partials], axis=0),
        "rain_days_filled": max(int(p.meta.get("filled_days", 0)) for p in partials),
    }


class Runoff(NamedTuple):
    """Each sub-area's parameters: a sub-catchment's impervious part, then its pervious part,
    so one `simulate` call runs both (`catchment` maps each sub-area to its table row)."""

    s_mm: np.ndarray  # SCS potential retention S (mm)
    decay: np.ndarray  # (MAX_RES, sub-areas) a = exp(-dt/k)
    gain: np.ndarray  # (MAX_RES, sub-areas) b = k (1 - a) / dt
    to_flow: np.ndarray  # mm per step -> m³/s
    catchment: np.ndarray  # the sub-catchment (row) of each sub-area


IMPERVIOUS_CN = 98.0


def catchment_parameters(table: pa.Table, scenario: FloodScenario, scenario_land: bool) -> Runoff:
    """Each sub-catchment as two sub-areas with their own curve numbers: the impervious part
    (98) and the pervious part (the table's curve number is their area-weighted mix), routed
    through the same cascade. A composite curve number would hold back all runoff of a small
    storm until the mix's initial abstraction is filled, where paving runs off at once: beside
    EPA SWMM it gave peaks 43 % low on the demo's storms (docs/models.md, validation)."""

    def col(name: str) -> np.ndarray:
        return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)

    cn, imperv = np.clip(col("curve_number"), 30, 99), np.clip(col("impervious_share"), 0, 0.99)
    pervious_cn = np.clip((cn - IMPERVIOUS_CN * imperv) / (1 - imperv), 30, IMPERVIOUS_CN)
    if scenario_land and scenario.permeable_share > 0:
        imperv = imperv * (1 - scenario.permeable_share)  # the paving made permeable
    n = table.num_rows
    s_mm = 25400.0 / np.r_[np.full(n, IMPERVIOUS_CN), pervious_cn] - 254.0
    dt_h = scenario.step_minutes / 60.0
    k_h = np.tile(np.maximum(col("reservoir_k_h"), 1e-6), 2)
    n_res = np.tile(np.clip(col("n_reservoirs").astype(np.int64), 1, kernel.MAX_RES), 2)
    used = np.arange(kernel.MAX_RES)[:, None] < n_res[None, :]
    k = np.where(used, k_h[None, :], 1e-9)  # pass-through reservoirs pad the cascade
    decay = np.exp(-dt_h / k)
    gain = k * (1 - decay) / dt_h
    km2 = col("area_km2")
    to_flow = np.r_[km2 * imperv, km2 * (1 - imperv)] * 1e6 / 1000.0 / (dt_h * 3600.0)
    return Runoff(s_mm, np.ascontiguousarray(decay), np.ascontiguousarray(gain), to_flow,
                  np.tile(np.arange(n), 2))  # fmt: skip


def simulate(
    rain: np.ndarray,
    params: Runoff,
    group: np.ndarray,
    groups: int,
    dry_steps: int,
    numpy: bool = False,
) -> np.ndarray:
    """Discharge (groups × steps, m³/s) of sub-catchments grouped by `group` (one index < groups
    per sub-catchment)."""
    group = np.asarray(group)[params.catchment]
    order = np.argsort(group, kind="stable")
    start = np.searchsorted(group[order], np.arange(groups + 1)).astype(np.int64)
    out = np.empty((groups, len(rain)))
    run = kernel.simulate_numpy if numpy else kernel.simulate
    run(
        np.ascontiguousarray(rain, dtype=np.float64),
        np.ascontiguousarray(params.s_mm[order]),
        np.ascontiguousarray(params.decay[:, order]),
        np.ascontiguousarray(params.gain[:, order]),
        np.ascontiguousarray(params.to_flow[order]),
        dry_steps,
        start,
        out,
    )
    return out


def _catchments_local(tables: Tables, params: BaseModel, ctx: Context) -> Partial:
    assert isinstance(params, FloodScenario)
    table = tables["sub-catchments"]
    area = common.area_index(table.column("area_code").to_numpy(zero_copy_only=False))
    names = table.column("outlet").to_pylist()
    outlet = np.array([OUTLETS.index(o) if o in OUTLETS else -1 for o in names], dtype=np.int64)
    # One group per (area, outlet); catchments outside both domains go to a last, dropped one.
    n_out = len(OUTLETS)
    group = np.where((area >= 0) & (outlet >= 0), area * n_out + outlet, common.N_AREAS * n_out)
    rain = np.asarray(ctx["rain"], dtype=np.float64)
    dry = params.dry_hours * params.steps_per_hour
    arrays: dict[str, np.ndarray] = {}
    for tag, multiplier, land in (("base", 1.0, False), ("scen", params.rain_multiplier, True)):
        params_c = catchment_parameters(table, params, land)
        flow = simulate(rain * multiplier, params_c, group, common.N_AREAS * n_out + 1, dry)
        cells = flow[:-1].reshape(common.N_AREAS, n_out, -1)
        arrays[f"outlet_{tag}"] = cells.sum(axis=0)
        arrays[f"area_{tag}"] = cells.sum(axis=1)
    km2 = table.column("area_km2").to_numpy(zero_copy_only=False).astype(np.float64)
    arrays["area_km2"] = np.bincount(area[area >= 0], km2[area >= 0], common.N_AREAS)
    support = np.bincount(area[area >= 0], minlength=common.N_AREAS).astype(np.float64)
    return Partial(
        arrays=arrays,
        support={f"area_{t}": support for t in ("base", "scen")},
        meta={"catchments": int(len(area))},
    )


SUMMED = ("outlet_base", "outlet_scen", "area_base", "area_scen", "area_km2")


def _catchments_combine(partials: Sequence[Partial], params: BaseModel, ctx: Context) -> Context:
    assert isinstance(params, FloodScenario)
    out: Context = dict(common.sum_partials(partials, SUMMED))
    step_h = params.step_minutes / 60.0
    km2 = np.where(out["area_km2"] > 0, out["area_km2"], np.nan)
    for tag in ("base", "scen"):
        outlet = out[f"outlet_{tag}"]
        out[f"peak_{tag}"] = outlet.max(axis=1)
        out[f"time_to_peak_h_{tag}"] = outlet.argmax(axis=1) * step_h
        specific = out[f"area_{tag}"] / km2[:, None]
        above = specific > params.threshold_m3s_km2
        out[f"exceed_h_{tag}"] = above.sum(axis=1) * step_h
        # when each area first goes above the alarm (hours from the start; NaN: never), and
        # its highest specific discharge: which areas flood first, and how close the others came
        out[f"first_alarm_h_{tag}"] = np.where(above.any(axis=1), above.argmax(axis=1) * step_h,
                                               np.nan)  # fmt: skip
        out[f"peak_q_{tag}"] = np.where(np.isfinite(km2), np.nan_to_num(specific).max(axis=1),
                                        np.nan)  # fmt: skip
    out["rain"] = ctx["rain"]
    out["rain_days_filled"] = int(ctx.get("rain_days_filled", 0))
    return out


def summary(result: Context) -> dict[str, Any]:
    """Headline figures: peak flow per outlet, baseline and scenario, and areas above alarm."""
    peaks = {
        name: [round(float(result["peak_base"][i]), 1), round(float(result["peak_scen"][i]), 1)]
        for i, name in enumerate(OUTLETS)
    }
    return {
        "peak_m3s_base_scen": peaks,
        "areas_above_threshold_base": int((result["exceed_h_base"] > 0).sum()),
        "areas_above_threshold_scen": int((result["exceed_h_scen"] > 0).sum()),
        # the five areas above the alarm first, earliest first and, at the same hour, the
        # highest peak first
        "first_above_alarm_scen": first_above(result, "scen"),
        # days the rainfall series lacked inside the period, filled from their neighbours
        "rain_days_filled": int(result.get("rain_days_filled", 0)),
    }


def first_above(result: Context, tag: str, n: int = 5) -> list[dict[str, float]]:
    """The `n` areas that go above the alarm first: area code, hours from the start."""
    first = np.asarray(result.get(f"first_alarm_h_{tag}", []), dtype=np.float64)
    peak = np.asarray(result.get(f"peak_q_{tag}", np.zeros_like(first)), dtype=np.float64)
    seen = np.flatnonzero(np.isfinite(first))
    order = seen[np.lexsort((-np.nan_to_num(peak[seen]), first[seen]))][:n]
    return [{"area": int(i) + 1, "hours_from_start": float(first[i])} for i in order]


MODEL = Model(
    name="flood-scs-nash",
    version="1.1.0",
    title="Urban runoff: SCS curve number with Nash-cascade routing",
    params=FloodScenario,
    stages=(
        Stage("rain", ("rainfall-daily",), _rain_local, _rain_combine),
        # heavy: a year of steps over every sub-catchment of a real city (thousands), twice
        Stage(
            "catchments", ("sub-catchments",), _catchments_local, _catchments_combine, heavy=True
        ),  # fmt: skip
    ),
    modules=("models.flood", "models.weather", "models.common", "models.kernels.flood"),
    summary=summary,
)
