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
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models import common, weather
from models.base import Context, Model, Partial, Stage, Tables
from models.kernels import energy as kernel

# The building stock's archetypes (TABULA IT age classes); the first three are retrofitted by
# default.
ARCHETYPES = ("pre1945_masonry", "1946_1975_concrete", "1976_1990", "1991_2005", "post2005_nzeb")
RETROFIT_DEFAULT = ARCHETYPES[:3]


class Upgrade(BaseModel):
    """U-values one archetype reaches when retrofitted (W/m²K); unset ones are the
    scenario's."""

    model_config = ConfigDict(extra="forbid")

    u_wall: float | None = Field(None, gt=0, le=3)
    u_roof: float | None = Field(None, gt=0, le=3)
    u_window: float | None = Field(None, gt=0, le=6)


class EnergyScenario(BaseModel):
    """A retrofit and set-point scenario over one weather year."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(2024, ge=2001, le=2025, description="weather year (ERG5 daily series)")
    heating_setpoint: float = Field(20.0, ge=10, le=26, description="°C")
    cooling_setpoint: float = Field(26.0, ge=20, le=35, description="°C")
    retrofit_share: float = Field(0.0, ge=0, le=1, description="share of eligible buildings")
    retrofit_archetypes: list[str] = Field(
        default_factory=lambda: list(RETROFIT_DEFAULT),
        description=f"archetypes eligible for retrofit, of: {', '.join(ARCHETYPES)}",
    )
    u_wall: float = Field(0.26, gt=0, le=3, description="W/m²K after retrofit")
    u_roof: float = Field(0.22, gt=0, le=3, description="W/m²K after retrofit")
    u_window: float = Field(1.4, gt=0, le=6, description="W/m²K after retrofit")
    upgrades: dict[str, Upgrade] = Field(
        default_factory=dict,
        description="per retrofitted archetype, U-values that replace u_wall, u_roof, u_window",
    )
    hourly: bool = Field(
        False,
        description="every hour of the year per area (areas × 8,760) instead of each month's "
        "typical day (areas × 12 × 24): ~30x the bytes, for load profiles and peak hours",
    )

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
        return self

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
        eligible = pc.is_in(table.column("archetype"), pa.array(scenario.retrofit_archetypes))
        chosen = eligible.to_numpy(zero_copy_only=False) & (
            common.stable_fraction(table.column("building_id").to_pandas())
            < scenario.retrofit_share
        )
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


def simulate_areas(
    params: np.ndarray,
    area: np.ndarray,
    t_out: np.ndarray,
    solar: np.ndarray,
    scenario: EnergyScenario,
    numpy: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Heating and cooling (areas × hours, Wh) of buildings grouped by area index."""
    order = np.argsort(area, kind="stable")
    start = np.searchsorted(area[order], np.arange(common.N_AREAS + 1)).astype(np.int64)
    heat = np.empty((common.N_AREAS, len(t_out)))
    cool = np.empty_like(heat)
    run = kernel.simulate_numpy if numpy else kernel.simulate
    run(
        np.ascontiguousarray(params[order]),
        start,
        np.ascontiguousarray(t_out, dtype=np.float64),
        np.ascontiguousarray(solar, dtype=np.float64),
        scenario.heating_setpoint,
        scenario.cooling_setpoint,
        heat,
        cool,
    )
    return heat, cool


def by_month_hour(values: np.ndarray, months: np.ndarray) -> np.ndarray:
    """(areas × hours) -> (areas × 12 × 24) summed per month and hour of day (`months`: the
    month of each day)."""
    days = values.reshape(values.shape[0], -1, 24)
    out = np.zeros((values.shape[0], 12, 24))
    for m in range(12):
        out[:, m, :] = days[:, months == m, :].sum(axis=1)
    return out


def _buildings_local(tables: Tables, params: BaseModel, ctx: Context) -> Partial:
    assert isinstance(params, EnergyScenario)
    table = tables["building-stock"]
    idx = common.area_index(table.column("area_code").to_numpy(zero_copy_only=False))
    inside = idx >= 0
    table, idx = table.filter(pa.array(inside)), idx[inside]
    baseline = EnergyScenario.model_validate({"year": params.year})
    t_out, solar = np.asarray(ctx["t_out"]), np.asarray(ctx["solar"])
    _, months = common.month_of_hours(params.year)
    arrays: dict[str, np.ndarray] = {}
    for tag, scen, retrofit in (("base", baseline, False), ("scen", params, True)):
        heat, cool = simulate_areas(
            building_parameters(table, scen, retrofit), idx, t_out, solar, scen
        )
        for name, wh in (("heat", heat), ("cool", cool)):
            kwh = wh / 1000.0
            arrays[f"{name}_{tag}"] = kwh if params.hourly else by_month_hour(kwh, months)
    count = np.bincount(idx, minlength=common.N_AREAS).astype(np.float64)
    return Partial(
        arrays=arrays,
        support={name: count for name in arrays},
        meta={"buildings": int(len(idx)), "outside_domain": int((~inside).sum())},
    )


OUTPUTS = ("heat_base", "cool_base", "heat_scen", "cool_scen")


def _buildings_combine(partials: Sequence[Partial], _p: BaseModel, ctx: Context) -> Context:
    out: Context = dict(common.sum_partials(partials, OUTPUTS))
    base = out["heat_base"] + out["cool_base"]
    scen = out["heat_scen"] + out["cool_scen"]
    out["savings"] = base - scen
    out["buildings"] = sum(int(p.meta.get("buildings", 0)) for p in partials)
    out["temperature_days_filled"] = int(ctx.get("temperature_days_filled", 0))
    return out


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
    return out


MODEL = Model(
    name="energy-5r1c",
    version="1.1.0",
    title="Building stock heating and cooling (ISO 13790 hourly 5R1C)",
    params=EnergyScenario,
    stages=(
        Stage("weather", ("temperature-daily",), _weather_local, _weather_combine),
        Stage("buildings", ("building-stock",), _buildings_local, _buildings_combine, heavy=True),
    ),
    modules=("models.energy", "models.weather", "models.common", "models.kernels.energy"),
    summary=summary,
)
