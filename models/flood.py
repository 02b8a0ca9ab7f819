"""Flood: SCS curve-number runoff with Nash-cascade routing per urban sub-catchment.

Stage `rain` runs where the daily rainfall is (cineca) and returns the period's rain per time
step (each day's total spread evenly over its hours: the series is daily). Stage `catchments`
runs where the sub-catchments are (unibo): for the baseline and the scenario (a rain multiplier
for a wetter climate, a share of paved surface made permeable) it returns the discharge of every
outlet and of every statistical area per step. The gateway sums them and derives peak flow and
time to peak per outlet and the hours each area spends above a specific-discharge threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, NamedTuple

import numba
import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from models import common, sweeps, weather
from models.base import Context, Model, Partial, Stage, Tables
from models.kernels import flood as kernel

OUTLETS = ("Reno", "Savena", "Aposa", "Navile", "Idice")  # public: the city's receiving rivers
# What a sweep may vary: the climate and land-use scenario, the uncertain soils, the alarm level
SWEEPABLE = ("rain_multiplier", "permeable_share", "curve_number_shift", "threshold_m3s_km2")


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
    curve_number_shift: float = Field(
        0.0,
        ge=-20,
        le=20,
        description="uncertain input: added to every pervious curve number, in the baseline "
        "as in the scenario (how much the soils' retention is off)",
    )
    sweep: sweeps.Sweep | None = Field(
        None,
        description="several scenarios in one job: a sweep over one of "
        f"{', '.join(SWEEPABLE)}, or a Monte Carlo sample of them (decision 0033)",
    )

    @model_validator(mode="after")
    def _period(self) -> FloodScenario:
        if self.end < self.start:
            raise ValueError("end is before start")
        if (self.end - self.start).days > 366:
            raise ValueError("the period is limited to one year")
        if 60 % self.step_minutes:
            raise ValueError("step_minutes must divide an hour")
        self.points()  # every point of a sweep is a valid scenario, or the job is refused
        return self

    def points(self) -> list[FloodScenario]:
        """The scenarios of the sweep (validated), [] without one."""
        return [p for p in sweeps.expand(self, SWEEPABLE) if isinstance(p, FloodScenario)]

    def run_key(self, scenario: bool) -> tuple[float, float, float]:
        """What one simulation depends on beyond the tables and the period: the rain factor,
        the paving made permeable and the curve-number shift (the baseline: neither of the
        first two)."""
        if not scenario:
            return (1.0, 0.0, self.curve_number_shift)
        return (self.rain_multiplier, self.permeable_share, self.curve_number_shift)

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


def catchment_parameters(
    table: pa.Table,
    scenario: FloodScenario,
    scenario_land: bool,
    key: tuple[float, float, float] | None = None,
) -> Runoff:
    """Each sub-catchment as two sub-areas with their own curve numbers: the impervious part
    (98) and the pervious part (the table's curve number is their area-weighted mix), routed
    through the same cascade. A composite curve number would hold back all runoff of a small
    storm until the mix's initial abstraction is filled, where paving runs off at once: beside
    EPA SWMM it gave peaks 43 % low on the demo's storms (docs/models.md, validation).

    `key` (a `run_key`) sets the paving made permeable and the curve-number shift instead of
    the scenario's own (a sweep's runs share one table read)."""
    _, permeable, shift = key if key is not None else scenario.run_key(scenario_land)

    def col(name: str) -> np.ndarray:
        return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)

    cn, imperv = np.clip(col("curve_number"), 30, 99), np.clip(col("impervious_share"), 0, 0.99)
    pervious_cn = np.clip((cn - IMPERVIOUS_CN * imperv) / (1 - imperv), 30, IMPERVIOUS_CN)
    if shift:
        pervious_cn = np.clip(pervious_cn + shift, 30, IMPERVIOUS_CN)
    if permeable > 0:
        imperv = imperv * (1 - permeable)  # the paving made permeable
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
    none = np.full(len(group), -1, dtype=np.int64)
    return simulate_runs(rain, [params], np.ones(1), group, none, groups, dry_steps, numpy)[0][0]


def simulate_runs(
    rain: np.ndarray,
    runs: Sequence[Runoff],
    multiplier: np.ndarray,
    group: np.ndarray,
    outlet: np.ndarray,
    groups: int,
    dry_steps: int,
    numpy: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Discharge of several runs at once, each its own rain factor, retentions and paved
    areas, on the same sub-catchments and cascades: per group (runs × groups × steps, m³/s)
    and per outlet (runs × outlets × steps; `outlet` indexes OUTLETS per sub-catchment, -1 for
    none)."""
    first = runs[0]
    group = np.asarray(group)[first.catchment]
    order = np.argsort(group, kind="stable")
    start = np.searchsorted(group[order], np.arange(groups + 1)).astype(np.int64)
    out = np.empty((len(runs), groups, len(rain)))
    threads = 1 if numpy else numba.get_num_threads()
    outlet_out = np.zeros((threads, len(runs), len(OUTLETS), len(rain)))
    run = kernel.simulate_numpy if numpy else kernel.simulate
    run(
        np.ascontiguousarray(rain, dtype=np.float64),
        np.ascontiguousarray(multiplier, dtype=np.float64),
        np.ascontiguousarray(np.stack([r.s_mm[order] for r in runs], axis=1)),
        np.ascontiguousarray(first.decay[:, order]),
        np.ascontiguousarray(first.gain[:, order]),
        np.ascontiguousarray(np.stack([r.to_flow[order] for r in runs], axis=1)),
        np.ascontiguousarray(np.asarray(outlet, dtype=np.int64)[first.catchment][order]),
        dry_steps,
        start,
        out,
        outlet_out,
    )
    return out, outlet_out.sum(axis=0)


def run_keys(params: FloodScenario) -> list[tuple[float, float, float]]:
    """The distinct simulations a job needs: the baseline and the scenario, then each sweep
    point's (points that differ only in the alarm level share theirs)."""
    keys: dict[tuple[float, float, float], None] = {}
    for scen in (params, *params.points()):
        keys.setdefault(scen.run_key(False))
        keys.setdefault(scen.run_key(True))
    return list(keys)


def _catchments_local(tables: Tables, params: BaseModel, ctx: Context) -> Partial:
    assert isinstance(params, FloodScenario)
    table = tables["sub-catchments"]
    area = common.area_index(table.column("area_code").to_numpy(zero_copy_only=False))
    names = table.column("outlet").to_pylist()
    outlet = np.array([OUTLETS.index(o) if o in OUTLETS else -1 for o in names], dtype=np.int64)
    # One group per area; catchments outside the areas or the outlets go to a last, dropped one.
    n_areas = common.N_AREAS
    inside = (area >= 0) & (outlet >= 0)
    rain = np.asarray(ctx["rain"], dtype=np.float64)
    dry = params.dry_hours * params.steps_per_hour
    keys = run_keys(params)
    area_runs, outlet_runs = simulate_runs(
        rain,
        [catchment_parameters(table, params, True, key) for key in keys],
        np.array([key[0] for key in keys]),
        np.where(inside, area, n_areas),
        np.where(inside, outlet, -1),
        n_areas + 1,
        dry,
    )
    area_runs = area_runs[:, :n_areas]
    arrays: dict[str, np.ndarray] = {}
    for tag, land in (("base", False), ("scen", True)):
        at = keys.index(params.run_key(land))
        arrays[f"outlet_{tag}"] = outlet_runs[at]
        arrays[f"area_{tag}"] = area_runs[at]
    km2 = table.column("area_km2").to_numpy(zero_copy_only=False).astype(np.float64)
    arrays["area_km2"] = np.bincount(area[area >= 0], km2[area >= 0], common.N_AREAS)
    if params.sweep is not None:
        # every run's outlet hydrographs (the gateway sums them over the holders), and each
        # point's figures for the areas of this holder's sub-catchments: a sweep's area
        # hydrographs would be megabytes (decision 0033)
        arrays["outlet_runs"] = outlet_runs
        own = np.where(arrays["area_km2"] > 0, arrays["area_km2"], np.nan)
        step_h = params.step_minutes / 60.0
        by_area = _per_point(lambda level: _area_figures(area_runs, own, level, step_h),
                             params, keys)  # fmt: skip
        arrays |= {f"sweep_{k}": v for k, v in by_area.items()}
    support = np.bincount(area[area >= 0], minlength=common.N_AREAS).astype(np.float64)
    return Partial(
        arrays=arrays,
        support={f"area_{t}": support for t in ("base", "scen")},
        meta={"catchments": int(len(area)), "runs": [list(k) for k in keys]},
    )


SUMMED = ("outlet_base", "outlet_scen", "area_base", "area_scen", "area_km2")


def _outlet_figures(outlet: np.ndarray, step_h: float) -> dict[str, np.ndarray]:
    """Peak and time to peak per outlet (of several runs at once: leading axes)."""
    return {"peak": outlet.max(axis=-1), "time_to_peak_h": outlet.argmax(axis=-1) * step_h}


def _area_figures(
    area: np.ndarray, km2: np.ndarray, threshold: float, step_h: float
) -> dict[str, np.ndarray]:
    """Per area the hours above the alarm, the first hour above it (NaN: never) and the peak
    specific discharge (of several runs at once: leading axes)."""
    above = area / km2[:, None] > threshold
    return {
        "exceed_h": above.sum(axis=-1) * step_h,
        # when each area first goes above the alarm (hours from the start; NaN: never), and
        # its highest specific discharge: which areas flood first, and how close the others came
        "first_alarm_h": np.where(above.any(axis=-1), above.argmax(axis=-1) * step_h, np.nan),
        # the highest flow over the area (division by a positive area keeps the order); NaN
        # where the area has no sub-catchment
        "peak_q": area.max(axis=-1) / km2,
    }


AREA_FIGURES = ("exceed_h", "first_alarm_h", "peak_q")


def _per_point(
    figures: Callable[[float], dict[str, np.ndarray]],
    params: FloodScenario,
    keys: list[tuple[float, float, float]],
) -> dict[str, np.ndarray]:
    """Each sweep point's figures (`{name}_{base|scen}`, points first): `figures(level)` gives
    every run's at an alarm level, and each point takes its baseline's and its scenario's run
    (by run key) at its own level."""
    points = params.points()
    levels = sorted({p.threshold_m3s_km2 for p in points})  # one unless the level is swept
    at_level = [figures(level) for level in levels]
    out: dict[str, np.ndarray] = {}
    for tag, land in (("base", False), ("scen", True)):
        run = [keys.index(p.run_key(land)) for p in points]
        level = [levels.index(p.threshold_m3s_km2) for p in points]
        for name in at_level[0]:
            out[f"{name}_{tag}"] = np.stack(
                [at_level[v][name][k] for k, v in zip(run, level, strict=True)]
            )
    return out


def _sweep_results(partials: Sequence[Partial], params: FloodScenario) -> Context:
    """Each sweep point's figures: per outlet from the runs' hydrographs summed over the
    holders; per area as the holder of the area's sub-catchments computed them (an area whose
    sub-catchments lie with two holders has none: NaN, decision 0033)."""
    keys = [tuple(k) for k in partials[0].meta["runs"]]
    if any([tuple(k) for k in p.meta.get("runs", [])] != keys for p in partials):
        raise ValueError("the holders ran different sweeps")
    outlet = np.sum([np.asarray(p.arrays["outlet_runs"]) for p in partials], axis=0)
    step_h = params.step_minutes / 60.0
    by_outlet = _per_point(lambda _level: _outlet_figures(outlet, step_h), params, keys)
    out: Context = {f"sweep_{k}": v for k, v in by_outlet.items()}
    held = sum((np.asarray(p.arrays["area_km2"]) > 0).astype(int) for p in partials)
    for name in AREA_FIGURES:
        for tag in ("base", "scen"):
            values = np.full((len(params.points()), common.N_AREAS), np.nan)
            for p in partials:
                mine = (np.asarray(p.arrays["area_km2"]) > 0) & (held == 1)
                values[:, mine] = np.asarray(p.arrays[f"sweep_{name}_{tag}"])[:, mine]
            out[f"sweep_{name}_{tag}"] = values
    points = params.points()
    assert params.sweep is not None
    out["sweep_values"] = np.array(
        [[float(getattr(p, n)) for n in params.sweep.parameters] for p in points]
    )
    out["sweep"] = sweeps.describe(params.sweep) | {"parameters": params.sweep.parameters}
    return out


def _catchments_combine(partials: Sequence[Partial], params: BaseModel, ctx: Context) -> Context:
    assert isinstance(params, FloodScenario)
    out: Context = dict(common.sum_partials(partials, SUMMED))
    step_h = params.step_minutes / 60.0
    km2 = np.where(out["area_km2"] > 0, out["area_km2"], np.nan)
    for tag in ("base", "scen"):
        figures = _outlet_figures(out[f"outlet_{tag}"], step_h) | _area_figures(
            out[f"area_{tag}"], km2, params.threshold_m3s_km2, step_h
        )
        out.update({f"{name}_{tag}": values for name, values in figures.items()})
    if params.sweep is not None:
        out.update(_sweep_results(partials, params))
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
    } | sweep_summary(result)


def sweep_summary(result: Context) -> dict[str, Any]:
    """A sweep as a curve (one row per point: its values, each outlet's peak, the areas above
    the alarm, the first of them), a Monte Carlo sample as bands (5th, 50th, 95th percentile
    of the same figures); {} without a sweep."""
    about = result.get("sweep")
    if not about:
        return {}
    values = np.asarray(result["sweep_values"])
    peak = np.asarray(result["sweep_peak_scen"])  # points × outlets
    above = (np.asarray(result["sweep_exceed_h_scen"]) > 0).sum(axis=1)
    above_base = (np.asarray(result["sweep_exceed_h_base"]) > 0).sum(axis=1)
    if about.get("samples"):
        rows = [("areas above the alarm, baseline", above_base),
                ("areas above the alarm, scenario", above)]  # fmt: skip
        rows += [(f"{name} peak, m³/s", peak[:, i]) for i, name in enumerate(OUTLETS)]
        band = [
            {"figure": label, **{f"p{q:g}": round(float(v), 2) for q, v in
                                 zip(sweeps.BANDS, sweeps.bands(x), strict=True)}}
            for label, x in rows
        ]  # fmt: skip
        return {"sweep": about, "uncertainty_bands": band}
    curve = []
    for i in range(len(values)):
        first = first_above(
            {"first_alarm_h_scen": result["sweep_first_alarm_h_scen"][i],
             "peak_q_scen": result["sweep_peak_q_scen"][i]}, "scen", 1,
        )  # fmt: skip
        row: dict[str, Any] = {n: round(float(v), 4) for n, v in
                               zip(about["parameters"], values[i], strict=True)}  # fmt: skip
        row |= {f"{name} peak, m³/s": round(float(peak[i, k]), 1) for k, name in
                enumerate(OUTLETS)}  # fmt: skip
        row["areas above the alarm"] = int(above[i])
        row["first above the alarm, hours"] = first[0]["hours_from_start"] if first else None
        curve.append(row)
    return {"sweep": about, "sweep_curve": curve}


def first_above(result: Context, tag: str, n: int = 5) -> list[dict[str, float]]:
    """The `n` areas that go above the alarm first: area code, hours from the start."""
    first = np.asarray(result.get(f"first_alarm_h_{tag}", []), dtype=np.float64)
    peak = np.asarray(result.get(f"peak_q_{tag}", np.zeros_like(first)), dtype=np.float64)
    seen = np.flatnonzero(np.isfinite(first))
    order = seen[np.lexsort((-np.nan_to_num(peak[seen]), first[seen]))][:n]
    return [{"area": int(i) + 1, "hours_from_start": float(first[i])} for i in order]


MODEL = Model(
    name="flood-scs-nash",
    version="1.2.0",
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
