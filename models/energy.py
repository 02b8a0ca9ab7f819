"""Energy: the building stock's heating and cooling demand, hour by hour (ISO 13790 5R1C).

Stage `weather` runs where the daily temperature is (cineca) and returns the year's hourly air
temperature and facade irradiance (models.weather). Stage `buildings` runs where the building
stock is (comune): it derives each building's network from its floor area, storeys, window
ratio and U-values, simulates the baseline and the scenario, and returns per area the heating
and cooling energy (kWh) by month and hour of day, or with `hourly` for every hour of the year
— never a building's own figures.

Geometry (documented assumptions): square footprint, 3 m storeys, windows spread evenly over
the four facades, ground floor with b = 0.5, medium thermal class (A_m = 2.5 A_f,
C_m = 165 kJ/K per m²), 0.5 air changes per hour, 4 W/m² internal gains, solar aperture
0.6 × 0.7 × 0.8 of the window area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models import common, sweeps, weather
from models.base import Context, Model, Noise, Partial, Stage, Tables
from models.kernels import energy as kernel

# The building stock's archetypes (TABULA IT age classes); the first three are retrofitted by
# default.
ARCHETYPES = ("pre1945_masonry", "1946_1975_concrete", "1976_1990", "1991_2005", "post2005_nzeb")
RETROFIT_DEFAULT = ARCHETYPES[:3]


# Retrofit targets are what a retrofit reaches: at most about twice the limits of the Italian
# minimum requirements decree (DM 26/06/2015, climate zone E: walls 0.28, roofs 0.24, windows
# 1.4 W/m²K). A target above them would touch only the few worst buildings of an archetype,
# and a share finer than SHARE_STEP a handful of buildings: both select contributors, so both are
# bounded (decision 0018; the holder's noise protects every building whatever the scenario).
U_WALL_MAX, U_ROOF_MAX, U_WINDOW_MAX = 0.6, 0.5, 2.8
U_STEP = 0.01
SHARE_STEP = 0.05
# What a sweep may vary (decision 0033): the retrofit's reach and depth, and the set-points
SWEEPABLE = ("retrofit_share", "u_wall", "u_roof", "u_window", "heating_setpoint",
             "cooling_setpoint")  # fmt: skip


def _on_grid(value: float, step: float) -> bool:
    return abs(value / step - round(value / step)) < 1e-6


def _u_value(value: float | None, what: str) -> float | None:
    if value is not None and not _on_grid(value, U_STEP):
        raise ValueError(f"{what} is given in steps of {U_STEP:g} W/m²K (got {value:g})")
    return value


class Upgrade(BaseModel):
    """U-values one archetype reaches when retrofitted (W/m²K); unset ones are the
    scenario's."""

    model_config = ConfigDict(extra="forbid")

    u_wall: float | None = Field(default=None, gt=0, le=U_WALL_MAX)
    u_roof: float | None = Field(default=None, gt=0, le=U_ROOF_MAX)
    u_window: float | None = Field(default=None, gt=0, le=U_WINDOW_MAX)

    @field_validator("u_wall", "u_roof", "u_window")
    @classmethod
    def _grid(cls, value: float | None) -> float | None:
        return _u_value(value, "a U-value")


class EnergyScenario(BaseModel):
    """A retrofit and set-point scenario over one weather year."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(2024, ge=2001, le=2025, description="weather year (ERG5 daily series)")
    heating_setpoint: float = Field(20.0, ge=10, le=26, description="°C")
    cooling_setpoint: float = Field(26.0, ge=20, le=35, description="°C")
    retrofit_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description=f"share of eligible buildings retrofitted: 0, or {SHARE_STEP:g} to 1 in steps "
        f"of {SHARE_STEP:g}",
    )
    retrofit_archetypes: list[str] = Field(
        default_factory=lambda: list(RETROFIT_DEFAULT),
        description=f"archetypes eligible for retrofit, of: {', '.join(ARCHETYPES)}",
    )
    u_wall: float = Field(
        0.26, gt=0, le=U_WALL_MAX, description=f"W/m²K after retrofit, steps of {U_STEP:g}"
    )
    u_roof: float = Field(
        0.22, gt=0, le=U_ROOF_MAX, description=f"W/m²K after retrofit, steps of {U_STEP:g}"
    )
    u_window: float = Field(
        1.4, gt=0, le=U_WINDOW_MAX, description=f"W/m²K after retrofit, steps of {U_STEP:g}"
    )
    upgrades: dict[str, Upgrade] = Field(
        default_factory=dict,
        description="per retrofitted archetype, U-values that replace u_wall, u_roof, u_window",
    )
    hourly: bool = Field(
        False,
        description="every hour of the year (8,760 values) instead of each month's typical "
        "day (12 × 24) as the profile areas take: ~30x the bytes, and ~5x the noise per value",
    )
    by_archetype: bool = Field(
        False,
        description="also the saving and the retrofit's cost per archetype: two more noised "
        "outputs, so each output gets a smaller share of epsilon",
    )
    cost_wall_eur_m2: float = Field(
        150.0, ge=0, le=2000, description="assumed price of insulating a m² of wall, €"
    )
    cost_roof_eur_m2: float = Field(
        120.0, ge=0, le=2000, description="assumed price of insulating a m² of roof, €"
    )
    cost_window_eur_m2: float = Field(
        600.0, ge=0, le=5000, description="assumed price of replacing a m² of window, €"
    )
    energy_price_eur_kwh: float = Field(
        0.12, gt=0, le=2, description="assumed price of a kWh of heating or cooling, € (payback)"
    )
    sweep: sweeps.Sweep | None = Field(
        None,
        description="several scenarios in one job: one of "
        f"{', '.join(SWEEPABLE)} over values (decision 0033); the savings come back per point",
    )

    @field_validator("retrofit_share")
    @classmethod
    def _coarse_share(cls, value: float) -> float:
        if not _on_grid(value, SHARE_STEP):
            raise ValueError(
                f"retrofit_share is 0 or a multiple of {SHARE_STEP:g} (got {value:g}): a finer "
                "share retrofits a handful of buildings, whose own figures must not be isolated"
            )
        return round(round(value / SHARE_STEP) * SHARE_STEP, 10)

    @field_validator("u_wall", "u_roof", "u_window")
    @classmethod
    def _u_grid(cls, value: float) -> float:
        _u_value(value, "a U-value")
        return value

    @field_validator("retrofit_archetypes", "upgrades")
    @classmethod
    def _known_archetypes(cls, names: Any) -> Any:
        unknown = sorted(set(names) - set(ARCHETYPES))
        if unknown:
            raise ValueError(
                f"no archetype {', '.join(map(repr, unknown))}; known: {', '.join(ARCHETYPES)}"
            )
        return names

    @model_validator(mode="after")
    def _consistent(self) -> EnergyScenario:
        if self.heating_setpoint >= self.cooling_setpoint:
            raise ValueError(
                f"the heating set-point ({self.heating_setpoint:g} °C) must be below the "
                f"cooling set-point ({self.cooling_setpoint:g} °C)"
            )
        idle = sorted(set(self.upgrades) - set(self.retrofit_archetypes))
        if idle:
            raise ValueError(
                f"upgrades for {', '.join(map(repr, idle))}, which retrofit_archetypes does "
                "not retrofit"
            )
        if self.sweep is not None and self.sweep.monte_carlo:
            raise ValueError(
                "energy-5r1c sweeps one parameter over values; it takes no Monte Carlo sample "
                "(its parameters move on grids, and its uncertain inputs are not parameters)"
            )
        self.points()  # every point of a sweep is a valid scenario, or the job is refused
        return self

    def points(self) -> list[EnergyScenario]:
        """The scenarios of the sweep (validated), [] without one."""
        return [p for p in sweeps.expand(self, SWEEPABLE) if isinstance(p, EnergyScenario)]

    @property
    def nested(self) -> bool:
        """A sweep over the retrofit share alone, at the baseline's set-points: each point
        retrofits the buildings of the one before and more, so the buildings added from one
        point to the next are disjoint sets (decision 0033: released as such steps, a
        building's saving counts once for the whole sweep)."""
        base = EnergyScenario.model_fields
        return (
            self.sweep is not None
            and self.sweep.parameter == "retrofit_share"
            and self.heating_setpoint == base["heating_setpoint"].default
            and self.cooling_setpoint == base["cooling_setpoint"].default
        )

    def shares(self) -> list[float]:
        """A nested sweep's distinct shares, smallest first (the order of its steps)."""
        return sorted({p.retrofit_share for p in self.points()})

    def targets(self, archetype: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Wall, roof and window U-values after retrofit, per building of `archetype`."""
        out = [np.full(len(archetype), v) for v in (self.u_wall, self.u_roof, self.u_window)]
        for name, up in self.upgrades.items():
            mine = archetype == name
            for values, u in zip(out, (up.u_wall, up.u_roof, up.u_window), strict=True):
                if u is not None:
                    values[mine] = u
        return out[0], out[1], out[2]


# --- stage 1: weather (at the holder of the daily temperature) ----------------------------------


def _weather_local(tables: Tables, params: BaseModel, _ctx: Context) -> Partial:
    assert isinstance(params, EnergyScenario)
    first, last = np.datetime64(f"{params.year}-01-01"), np.datetime64(f"{params.year}-12-31")
    cols, filled = weather.daily_columns(
        tables["temperature-daily"], ("t_min_c", "t_max_c"), first, last
    )
    t_min, t_max = cols["t_min_c"], cols["t_max_c"]
    doy, _ = common.month_of_hours(params.year)
    return Partial(
        arrays={
            "t_out": weather.hourly_temperature(t_min, t_max).ravel(),
            "solar": weather.facade_irradiance(doy, t_max - t_min).ravel(),
        },
        meta={"days": len(doy) - filled, "filled_days": filled},
    )


def _weather_combine(partials: Sequence[Partial], _p: BaseModel, _ctx: Context) -> Context:
    return {
        "t_out": np.mean([p.arrays["t_out"] for p in partials], axis=0),
        "solar": np.mean([p.arrays["solar"] for p in partials], axis=0),
        "temperature_days_filled": max(int(p.meta.get("filled_days", 0)) for p in partials),
    }


# --- stage 2: buildings (at the holder of the building stock) -----------------------------------


def retrofitted(table: pa.Table, scenario: EnergyScenario) -> np.ndarray:
    """Which buildings the scenario retrofits: eligible ones whose stable hash falls under the
    share (a larger share retrofits the same buildings and more)."""
    return retrofit_fraction(table, scenario) < scenario.retrofit_share


def retrofit_fraction(table: pa.Table, scenario: EnergyScenario) -> np.ndarray:
    """Each building's stable fraction in [0, 1), or 2 when its archetype is not eligible."""
    eligible = pc.is_in(table.column("archetype"), pa.array(scenario.retrofit_archetypes))
    frac = common.stable_fraction(table.column("building_id").to_pandas())
    return np.where(eligible.to_numpy(zero_copy_only=False), frac, 2.0)


def retrofit_cost(table: pa.Table, scenario: EnergyScenario) -> np.ndarray:
    """Each building's retrofit cost (€) at the scenario's assumed unit prices: the wall, roof
    and window areas whose U-value the retrofit lowers (0 for a building it leaves alone)."""

    def col(name: str) -> np.ndarray:
        return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)

    chosen = retrofitted(table, scenario) if scenario.retrofit_share > 0 else np.zeros(
        table.num_rows, bool)  # fmt: skip
    floors = np.maximum(col("floors"), 1)
    footprint = col("floor_area_m2") / floors
    wall = 4 * np.sqrt(footprint) * 3.0 * floors
    window = col("window_wall_ratio") * wall
    t_wall, t_roof, t_win = scenario.targets(table.column("archetype").to_numpy(False))
    cost = (
        scenario.cost_wall_eur_m2 * (wall - window) * (t_wall < col("u_wall"))
        + scenario.cost_roof_eur_m2 * footprint * (t_roof < col("u_roof"))
        + scenario.cost_window_eur_m2 * window * (t_win < col("u_window"))
    )
    return np.where(chosen, cost, 0.0)


def building_parameters(table: pa.Table, scenario: EnergyScenario, retrofit: bool) -> np.ndarray:
    """The 5R1C parameter matrix (buildings × kernel.N_PARAMS) of a building table."""

    def col(name: str) -> np.ndarray:
        return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)

    floor, floors, wwr = (
        col("floor_area_m2"),
        np.maximum(col("floors"), 1),
        col("window_wall_ratio"),
    )
    u_wall, u_roof, u_win, u_floor = col("u_wall"), col("u_roof"), col("u_window"), col("u_floor")
    if retrofit and scenario.retrofit_share > 0:
        chosen = retrofitted(table, scenario)
        t_wall, t_roof, t_win = scenario.targets(
            table.column("archetype").to_numpy(zero_copy_only=False)
        )
        u_wall = np.where(chosen, np.minimum(u_wall, t_wall), u_wall)
        u_roof = np.where(chosen, np.minimum(u_roof, t_roof), u_roof)
        u_win = np.where(chosen, np.minimum(u_win, t_win), u_win)
    footprint = floor / floors
    wall = 4 * np.sqrt(footprint) * 3.0 * floors
    window = wwr * wall
    h_op = u_wall * (wall - window) + u_roof * footprint + 0.5 * u_floor * footprint
    a_m, a_t = 2.5 * floor, 4.5 * floor
    h_ms = 9.1 * a_m
    p = np.empty((len(floor), kernel.N_PARAMS))
    p[:, kernel.H_VE] = 0.5 * floor * 3.0 * 1200.0 / 3600.0
    p[:, kernel.H_TR_W] = u_win * window
    p[:, kernel.H_TR_EM] = 1.0 / (1.0 / h_op - 1.0 / h_ms)
    p[:, kernel.H_TR_IS] = 3.45 * a_t
    p[:, kernel.H_TR_MS] = h_ms
    p[:, kernel.C_M] = 165_000.0 * floor
    p[:, kernel.MASS_SHARE] = a_m / a_t
    p[:, kernel.PHI_INT] = 4.0 * floor
    p[:, kernel.APERTURE] = 0.6 * 0.7 * 0.8 * window
    p[:, kernel.FLOOR] = floor
    return p


@dataclass(frozen=True)
class StockRun:
    """One simulation of a building stock: weighted sums per area and hour (Wh), and each
    building's own yearly heating and cooling (Wh, unweighted, in the table's order)."""

    heat: np.ndarray
    cool: np.ndarray
    heat_total: np.ndarray
    cool_total: np.ndarray


def simulate_stock(
    params: np.ndarray,
    area: np.ndarray,
    t_out: np.ndarray,
    solar: np.ndarray,
    scenario: EnergyScenario,
    weight: np.ndarray | None = None,
    groups: int = common.N_AREAS,
    numpy: bool = False,
) -> StockRun:
    """Heating and cooling of buildings grouped by `area` (an index < `groups`), each counted
    with its `weight` (default 1) in its group's hourly sums."""
    order = np.argsort(area, kind="stable")
    start = np.searchsorted(area[order], np.arange(groups + 1)).astype(np.int64)
    heat = np.empty((groups, len(t_out)))
    cool = np.empty_like(heat)
    w = np.ones(len(area)) if weight is None else np.asarray(weight, dtype=np.float64)
    heat_sorted, cool_sorted = np.zeros(len(area)), np.zeros(len(area))
    run = kernel.simulate_numpy if numpy else kernel.simulate
    run(
        np.ascontiguousarray(params[order]),
        start,
        np.ascontiguousarray(t_out, dtype=np.float64),
        np.ascontiguousarray(solar, dtype=np.float64),
        scenario.heating_setpoint,
        scenario.cooling_setpoint,
        np.ascontiguousarray(w[order]),
        heat,
        cool,
        heat_sorted,
        cool_sorted,
    )
    heat_total, cool_total = np.empty(len(area)), np.empty(len(area))
    heat_total[order], cool_total[order] = heat_sorted, cool_sorted
    return StockRun(heat, cool, heat_total, cool_total)


def simulate_areas(
    params: np.ndarray,
    area: np.ndarray,
    t_out: np.ndarray,
    solar: np.ndarray,
    scenario: EnergyScenario,
    numpy: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Heating and cooling (areas × hours, Wh) of buildings grouped by area index."""
    run = simulate_stock(params, area, t_out, solar, scenario, numpy=numpy)
    return run.heat, run.cool


def by_month_hour(values: np.ndarray, months: np.ndarray) -> np.ndarray:
    """(areas × hours) -> (areas × 12 × 24) summed per month and hour of day (`months`: the
    month of each day)."""
    days = values.reshape(values.shape[0], -1, 24)
    out = np.zeros((values.shape[0], 12, 24))
    for m in range(12):
        out[:, m, :] = days[:, months == m, :].sum(axis=1)
    return out


# What one building may move in what leaves the holder (decision 0018). The yearly heating plus
# cooling of a building is clipped to CLIP_KWH in each of baseline and scenario (~p97 of the
# stock: 76 MWh median, 254 MWh at p99), its saving to SAVING_CLIP_KWH; the holder's noise is
# calibrated to these. Clipping biases the few largest buildings down (documented in
# docs/models.md), and it is what keeps one building from ever being read off a result.
CLIP_KWH = 250_000.0
SAVING_CLIP_KWH = 120_000.0
# A building's retrofit cost is clipped to this in what leaves the holder (by_archetype).
COST_CLIP_EUR = 400_000.0


def _clip_share(total: np.ndarray, bound: float) -> np.ndarray:
    """The share of each contribution kept so that none exceeds `bound` (1 below it)."""
    return np.minimum(1.0, bound / np.maximum(total, 1e-300))


def _clipped_saving(
    heat_base: np.ndarray, cool_base: np.ndarray, heat: np.ndarray, cool: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each building's heating and cooling saving (kWh) against its baseline, both scaled so
    that together they move at most SAVING_CLIP_KWH."""
    dh, dc = heat_base - heat, cool_base - cool
    kd = _clip_share(np.abs(dh) + np.abs(dc), SAVING_CLIP_KWH)
    return kd * dh, kd * dc


def _city_profile(
    run: StockRun,
    params: np.ndarray,
    keep: np.ndarray,
    ctx: tuple[np.ndarray, np.ndarray],
    scenario: EnergyScenario,
) -> tuple[np.ndarray, np.ndarray]:
    """The city's hourly heating and cooling (Wh) with each building counted at its `keep`
    share: the full sums, less what the clipped buildings lose (run again on their own)."""
    heat, cool = run.heat.sum(axis=0), run.cool.sum(axis=0)
    clipped = keep < 1.0
    if clipped.any():
        t_out, solar = ctx
        lost = simulate_stock(
            params[clipped], np.zeros(int(clipped.sum()), dtype=np.int64), t_out, solar,
            scenario, weight=1.0 - keep[clipped], groups=1,
        )  # fmt: skip
        heat, cool = heat - lost.heat[0], cool - lost.cool[0]
    return np.maximum(heat, 0.0), np.maximum(cool, 0.0)


def _buildings_local(tables: Tables, params: BaseModel, ctx: Context) -> Partial:
    """Per area the year's heating and cooling (baseline) and their saving, and the city's
    profile by hour (baseline and scenario), every building's part clipped (kWh)."""
    assert isinstance(params, EnergyScenario)
    table = tables["building-stock"]
    idx = common.area_index(table.column("area_code").to_numpy(zero_copy_only=False))
    inside = idx >= 0
    table, idx = table.filter(pa.array(inside)), idx[inside]
    baseline = EnergyScenario.model_validate({"year": params.year})
    weather_ctx = (np.asarray(ctx["t_out"]), np.asarray(ctx["solar"]))
    _, months = common.month_of_hours(params.year)
    profiles, totals = [], []
    for scen, retrofit in ((baseline, False), (params, True)):
        p = building_parameters(table, scen, retrofit)
        run = simulate_stock(p, idx, *weather_ctx, scen)
        heat_kwh, cool_kwh = run.heat_total / 1000.0, run.cool_total / 1000.0
        keep = _clip_share(heat_kwh + cool_kwh, CLIP_KWH)
        heat, cool = _city_profile(run, p, keep, weather_ctx, scen)
        hours = np.stack([heat, cool]) / 1000.0
        profiles.append(hours if params.hourly else by_month_hour(hours, months))
        totals.append((heat_kwh, cool_kwh, keep))
    (hb, cb, kb), (hs, cs, _) = totals
    dh, dc = _clipped_saving(hb, cb, hs, cs)
    n = common.N_AREAS

    def per_area(heat: np.ndarray, cool: np.ndarray) -> np.ndarray:
        return np.stack([np.bincount(idx, heat, n), np.bincount(idx, cool, n)], axis=1)

    count = np.bincount(idx, minlength=n).astype(np.float64)
    arrays = {
        "area_base": per_area(kb * hb, kb * cb),
        "area_saving": per_area(dh, dc),
        "profile": np.stack(profiles),
    }
    if params.sweep is not None:
        arrays["sweep_saving"] = _sweep_savings(table, idx, params, weather_ctx, hb, cb)
    if params.by_archetype:
        kind = np.array([ARCHETYPES.index(a) if a in ARCHETYPES else len(ARCHETYPES)
                         for a in table.column("archetype").to_pylist()])  # fmt: skip
        k = len(ARCHETYPES) + 1
        arrays["archetype_saving"] = np.stack(
            [np.bincount(kind, dh, k)[:-1], np.bincount(kind, dc, k)[:-1]], axis=1
        )
        cost = np.minimum(retrofit_cost(table, params), COST_CLIP_EUR)
        arrays["archetype_cost"] = np.bincount(kind, cost, k)[:-1]
    return Partial(
        arrays=arrays,
        support={"area_base": count, "area_saving": count},
        meta={"buildings": int(len(idx))},
    )


def _sweep_savings(
    table: pa.Table,
    idx: np.ndarray,
    params: EnergyScenario,
    weather_ctx: tuple[np.ndarray, np.ndarray],
    heat_base: np.ndarray,
    cool_base: np.ndarray,
) -> np.ndarray:
    """Per sweep point (or, nested, per step between its shares) and area, the heating and
    cooling saving (kWh), each building's saving clipped as the scenario's is.

    Only the buildings a point changes are simulated: at the baseline's set-points those it
    retrofits (the others' saving is exactly 0). Points that share their set-points run in one
    kernel call, their buildings side by side. A nested sweep simulates each building once, at
    the largest share."""
    if params.nested:
        return _nested_steps(table, idx, params, weather_ctx, heat_base, cool_base)
    points = params.points()
    defaults = EnergyScenario.model_fields
    by_setpoints: dict[tuple[float, float], list[int]] = {}
    for k, p in enumerate(points):
        by_setpoints.setdefault((p.heating_setpoint, p.cooling_setpoint), []).append(k)
    saving = np.zeros((len(points), common.N_AREAS, 2))
    for (heat_sp, cool_sp), members in by_setpoints.items():
        at_baseline = (heat_sp, cool_sp) == (defaults["heating_setpoint"].default,
                                              defaults["cooling_setpoint"].default)  # fmt: skip
        rows, blocks = [], []
        for k in members:
            mine = retrofitted(table, points[k]) if at_baseline else np.ones(len(idx), bool)
            rows.append(np.flatnonzero(mine))
            blocks.append(building_parameters(table.filter(pa.array(mine)), points[k], True))
        which = np.concatenate(rows)
        if not len(which):
            continue
        # grouped by area: each group's buildings stay in cache, and groups run in parallel
        run = simulate_stock(np.concatenate(blocks), idx[which], *weather_ctx, points[members[0]])
        dh, dc = _clipped_saving(heat_base[which], cool_base[which], run.heat_total / 1000.0,
                                 run.cool_total / 1000.0)  # fmt: skip
        ends = np.cumsum([0] + [len(r) for r in rows])
        for j, k in enumerate(members):
            part = slice(ends[j], ends[j + 1])
            area = idx[rows[j]]
            saving[k, :, 0] = np.bincount(area, dh[part], common.N_AREAS)
            saving[k, :, 1] = np.bincount(area, dc[part], common.N_AREAS)
    return saving


def _nested_steps(
    table: pa.Table,
    idx: np.ndarray,
    params: EnergyScenario,
    weather_ctx: tuple[np.ndarray, np.ndarray],
    heat_base: np.ndarray,
    cool_base: np.ndarray,
) -> np.ndarray:
    """A nested sweep's savings per step between its shares (smallest first) and area: the
    buildings added at each share, a disjoint set per step, each simulated once."""
    top = max(params.points(), key=lambda p: p.retrofit_share)
    frac = retrofit_fraction(table, top)
    whole = retrofitted(table, top)
    which = np.flatnonzero(whole)
    per_building = _nested_savings(table, idx, whole, top, weather_ctx, heat_base, cool_base)
    shares = params.shares()
    steps = np.zeros((len(shares), common.N_AREAS, 2))
    low = 0.0
    for k, share in enumerate(shares):
        step = (frac[which] >= low) & (frac[which] < share)
        for c in range(2):
            steps[k, :, c] = np.bincount(idx[which][step], per_building[c][step],
                                         common.N_AREAS)  # fmt: skip
        low = share
    return steps


def _nested_savings(
    table: pa.Table,
    idx: np.ndarray,
    mask: np.ndarray,
    scenario: EnergyScenario,
    weather_ctx: tuple[np.ndarray, np.ndarray],
    heat_base: np.ndarray,
    cool_base: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The clipped heating and cooling saving of each building in `mask`, retrofitted as the
    scenario says (kWh)."""
    which = np.flatnonzero(mask)
    if not len(which):
        return np.zeros(0), np.zeros(0)
    run = simulate_stock(
        building_parameters(table.filter(pa.array(mask)), scenario, True), idx[which],
        *weather_ctx, scenario,
    )  # fmt: skip
    return _clipped_saving(heat_base[which], cool_base[which], run.heat_total / 1000.0,
                           run.cool_total / 1000.0)  # fmt: skip


def sweep_noise(params: BaseModel) -> dict[str, Noise]:
    """The sensitivity of a sweep's savings: one building's clipped saving for a nested sweep
    (it is in one step only), the sum over the points otherwise."""
    if not isinstance(params, EnergyScenario) or params.sweep is None:
        return {}
    points = 1 if params.nested else len(params.points())
    return {"sweep_saving": Noise(l1=points * SAVING_CLIP_KWH, bound=1e9)}


def scenario_noise(params: BaseModel) -> dict[str, Noise]:
    """Sensitivities of the outputs a scenario asks for: a sweep's, and per archetype one
    building's clipped saving and clipped cost (a building is of one archetype)."""
    out = sweep_noise(params)
    if isinstance(params, EnergyScenario) and params.by_archetype:
        out["archetype_saving"] = Noise(l1=SAVING_CLIP_KWH, bound=1e10)
        out["archetype_cost"] = Noise(l1=COST_CLIP_EUR, bound=1e12)
    return out


OUTPUTS = ("heat_base", "cool_base", "heat_scen", "cool_scen")


def _spread(totals: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Area totals (areas,) spread over the hours as the city's profile (its shape only)."""
    shape = np.maximum(np.nan_to_num(profile), 0.0)
    total = shape.sum()
    share = shape / total if total > 0 else np.zeros_like(shape)
    return np.asarray(totals)[:, None] * share.reshape(1, -1)


def _buildings_combine(partials: Sequence[Partial], params: BaseModel, ctx: Context) -> Context:
    """Area totals by the city's profile: each area's hours take the shape of the city's."""
    assert isinstance(params, EnergyScenario)
    summed = common.sum_partials(partials, ("area_base", "area_saving", "profile"))
    base = np.asarray(summed["area_base"])  # suppressed areas (NaN) stay unknown
    saving = np.asarray(summed["area_saving"])
    scen = np.maximum(base - saving, 0.0)
    profile = np.asarray(summed["profile"])
    grid = profile.shape[2:]
    out: Context = {}
    for s, (tag, totals) in enumerate((("base", base), ("scen", scen))):
        for k, name in enumerate(("heat", "cool")):
            cells = _spread(totals[:, k], profile[s, k])
            out[f"{name}_{tag}"] = cells.reshape((common.N_AREAS, *grid))
    out["savings"] = out["heat_base"] + out["cool_base"] - out["heat_scen"] - out["cool_scen"]
    out["buildings"] = sum(int(p.meta.get("buildings", 0)) for p in partials)
    if params.sweep is not None:
        out.update(_sweep_combine(partials, params))
    if params.by_archetype:
        out.update(common.sum_partials(partials, ("archetype_saving", "archetype_cost")))
        out["prices"] = {"energy_eur_kwh": params.energy_price_eur_kwh}
    out["temperature_days_filled"] = int(ctx.get("temperature_days_filled", 0))
    return out


def _sweep_combine(partials: Sequence[Partial], params: EnergyScenario) -> Context:
    """Each sweep point's saving per area (kWh, heating and cooling): a nested sweep's steps
    summed up to each point's share."""
    points = params.points()
    saving = np.asarray(common.sum_partials(partials, ("sweep_saving",))["sweep_saving"])
    if params.nested:
        total = np.cumsum(saving, axis=0)  # post-processing of the released steps
        shares = params.shares()
        saving = np.stack([total[shares.index(p.retrofit_share)] for p in points])
    assert params.sweep is not None
    return {
        "sweep_saving": saving,
        "sweep_values": np.array(
            [[float(getattr(p, params.sweep.parameter or ""))] for p in points]
        ),  # fmt: skip
        "sweep": sweeps.describe(params.sweep)
        | {"parameters": params.sweep.parameters, "nested": params.nested},  # fmt: skip
    }


def sweep_summary(result: Context) -> dict[str, Any]:
    """A sweep as a curve: per point its value, the city's heating and cooling saving (MWh a
    year) and the saving as a share of the baseline's demand; {} without a sweep."""
    about = result.get("sweep")
    if not about:
        return {}
    saving = np.asarray(result["sweep_saving"])
    base = float(np.nansum(result["heat_base"]) + np.nansum(result["cool_base"]))
    curve = []
    for values, point in zip(np.asarray(result["sweep_values"]), saving, strict=True):
        heat, cool = (float(np.nansum(point[:, c])) / 1000.0 for c in range(2))
        row: dict[str, Any] = {n: round(float(v), 4) for n, v in
                               zip(about["parameters"], values, strict=True)}  # fmt: skip
        row["heating saving, MWh"] = round(heat, 1)
        row["cooling saving, MWh"] = round(cool, 1)
        row["saving, % of the baseline"] = round(100.0 * (heat + cool) * 1000 / base, 2) \
            if base else 0.0  # fmt: skip
        curve.append(row)
    return {"sweep": about, "sweep_curve": curve}


def summary(result: Context) -> dict[str, Any]:
    """Headline figures of an energy result (MWh a year, city-wide)."""
    tot = {k: float(np.nansum(result[k])) / 1000.0 for k in OUTPUTS}
    base, scen = tot["heat_base"] + tot["cool_base"], tot["heat_scen"] + tot["cool_scen"]
    out: dict[str, Any] = {
        "heating_baseline_MWh": round(tot["heat_base"], 1),
        "heating_scenario_MWh": round(tot["heat_scen"], 1),
        "cooling_baseline_MWh": round(tot["cool_base"], 1),
        "cooling_scenario_MWh": round(tot["cool_scen"], 1),
        "saving_pct": round(100.0 * (base - scen) / base, 2) if base else 0.0,
        # days the temperature series lacked in the year, filled from their neighbours
        "temperature_days_filled": int(result.get("temperature_days_filled", 0)),
    }
    if np.ndim(result["heat_base"]) == 2:  # hourly: the city's peak hour (kWh in an hour = kW)
        for tag, label in (("base", "baseline"), ("scen", "scenario")):
            city = np.nansum(result[f"heat_{tag}"], axis=0)
            out[f"peak_heating_{label}_MW"] = round(float(city.max()) / 1000.0, 2)
    return out | archetype_summary(result) | sweep_summary(result)


def archetype_summary(result: Context) -> dict[str, Any]:
    """Per archetype: the saving (MWh a year), the retrofit's cost (M€, at the assumed unit
    prices), what a MWh saved each year costs, and the simple payback at the assumed energy
    price; {} unless asked for (`by_archetype`)."""
    if "archetype_saving" not in result:
        return {}
    price = float(result.get("prices", {}).get("energy_eur_kwh", 0.12))
    rows = []
    for i, name in enumerate(ARCHETYPES):
        heat, cool = (float(result["archetype_saving"][i][c]) / 1000.0 for c in range(2))
        cost = float(result["archetype_cost"][i])
        saved = heat + cool
        useful = saved > 0 and cost > 0
        rows.append({
            "archetype": name,
            "heating saving, MWh": round(heat, 1),
            "cooling saving, MWh": round(cool, 1),
            "cost, M€": round(cost / 1e6, 2),
            "€ per MWh saved a year": round(cost / saved) if useful else None,
            "payback, years": round(cost / (saved * 1000 * price), 1) if useful else None,
        })  # fmt: skip
    return {"by_archetype": rows}


MODEL = Model(
    name="energy-5r1c",
    version="1.3.0",
    title="Building stock heating and cooling (ISO 13790 hourly 5R1C)",
    params=EnergyScenario,
    stages=(
        Stage("weather", ("temperature-daily",), _weather_local, _weather_combine),
        Stage(
            "buildings",
            ("building-stock",),
            _buildings_local,
            _buildings_combine,
            heavy=True,
            # One building moves an area's year by at most its clipped energy, the savings by
            # its clipped saving, and the city's profiles (baseline and scenario) by twice the
            # clip; bounds are public caps on any value (1 TWh an area, 10 TWh a city cell).
            noise={
                "area_base": Noise(l1=CLIP_KWH, bound=1e9),
                "area_saving": Noise(l1=SAVING_CLIP_KWH, bound=1e9),
                "profile": Noise(l1=2 * CLIP_KWH, bound=1e10),
            },
            scenario_noise=scenario_noise,
            public_meta=("buildings",),
        ),
    ),
    modules=("models.energy", "models.weather", "models.common", "models.kernels.energy"),
    summary=summary,
)
