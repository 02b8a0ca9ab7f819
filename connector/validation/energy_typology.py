"""The energy model beside a published building-stock reference (issue 29).

The issue asked for the TABULA/EPISCOPE Italian typology; its data could not be obtained here
(the typology's tables reached this machine only as Git LFS pointers). The reference used is
the one published reference with Italian figures per construction period that could be read:

  S. Pezzutto, A. Farahi Mohammad, E. Wilczynski, *MODERATE project, D3.2 WP3 Report -
  Static building stock analysis* (Horizon Europe MODERATE, EURAC Research, 2023), data file
  `v1.2_Data_T3.2_Staticanalysis_EU27BuildingStock2020.xlsx`, sheet "Italy", residential,
  subsector "Total": the useful energy demand for space heating (`ued_sh_kWh_m2`), the
  envelope's U-values and the floor area of each construction period of the 2020 stock.
  Repository: github.com/MODERATE-Project/building-stock-analysis (T3.2-static-analysis).

Only the few figures below are quoted, rounded as shown, with this citation; the file is not
copied. They are **national** figures: Italy's stock spans climate zones B to F, and Bologna
(zone E, 2,259 degree-days under DPR 412/93) is colder than most of the floor area they
average, so Bologna's heating need should lie somewhat above them.

Two comparisons per archetype, on the real Bologna temperature where the shared folder has it:
- **the stock as the model runs it**: its own buildings (synthetic: no open building register
  exists) with their own U-values; kWh per m² of floor a year, floor-weighted;
- **the reference's envelope**: the same buildings with the reference period's U-values put in
  (walls, roof, windows, floor), which isolates the 5R1C physics and Bologna's weather from the
  synthetic stock's U-values.

The archetypes' years straddle the reference's periods, which are mapped by years of overlap
weighted by each period's floor area (`PERIOD_SHARES`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from connector.partnerdata.prepare import partner_table
from connector.validation import floats
from models import energy

SEED = 7  # the synthetic tables' seed (as the other validations and the benchmarks)
CITATION = (
    "Pezzutto, Farahi Mohammad, Wilczynski: MODERATE D3.2 Static building stock analysis "
    "(EURAC, 2023), EU27 building stock 2020, Italy, residential, all subsectors"
)
# construction period: (useful energy demand for space heating kWh/m2·yr, U wall, U roof,
# U window, U floor W/m2K, floor area Mm2), MODERATE D3.2 v1.2, Italy, residential "Total"
REFERENCE: dict[str, tuple[float, float, float, float, float, float]] = {
    "before 1945": (110.9, 1.39, 1.49, 4.28, 1.11, 630.3),
    "1945-1969": (103.3, 1.40, 1.30, 4.33, 1.03, 600.6),
    "1970-1979": (94.5, 1.25, 1.07, 3.99, 1.08, 613.4),
    "1980-1989": (76.8, 0.94, 0.96, 3.27, 0.94, 573.5),
    "1990-1999": (56.1, 0.78, 0.76, 3.10, 0.77, 535.3),
    "2000-2010": (45.7, 0.65, 0.60, 2.81, 0.62, 526.8),
    "2011-2020": (26.2, 0.31, 0.28, 1.93, 0.32, 478.0),
}
# archetype -> the share of each reference period's years it covers (1946-1975 takes 1945-1969
# and six of the 1970s' ten years, and so on); weighted by the period's floor area below
PERIOD_SHARES: dict[str, dict[str, float]] = {
    "pre1945_masonry": {"before 1945": 1.0},
    "1946_1975_concrete": {"1945-1969": 1.0, "1970-1979": 0.6},
    "1976_1990": {"1970-1979": 0.4, "1980-1989": 1.0},
    "1991_2005": {"1990-1999": 1.0, "2000-2010": 6 / 11},
    "post2005_nzeb": {"2000-2010": 5 / 11, "2011-2020": 1.0},
}
# What this comparison calls agreement (no standard exists for a stock model against a
# typology; ASHRAE Guideline 14's bands are for one building calibrated to its meter): the
# reference envelope's need within 25 % of the reference, archetype by archetype.
AGREEMENT = 0.25
U_COLUMNS = ("u_wall", "u_roof", "u_window")  # the stock's U-values the table shows


def reference_for(archetype: str) -> tuple[float, np.ndarray]:
    """The reference's heating need (kWh/m2·yr) and U-values (wall, roof, window, floor) for an
    archetype: its periods' figures weighted by years covered × floor area."""
    shares = PERIOD_SHARES[archetype]
    w = np.array([s * REFERENCE[p][5] for p, s in shares.items()])
    need = np.array([REFERENCE[p][0] for p in shares])
    u = np.array([REFERENCE[p][1:5] for p in shares])
    return float(w @ need / w.sum()), (w @ u) / w.sum()


@dataclass(frozen=True)
class ArchetypeComparison:
    """One archetype: the model on the stock, on the reference envelope, and the reference."""

    archetype: str
    buildings: int
    floor_m2: float
    model_kwh_m2: float  # the stock as the model runs it
    envelope_kwh_m2: float  # the same buildings with the reference's U-values
    reference_kwh_m2: float
    u_stock: tuple[float, float, float]  # wall, roof, window: floor-weighted mean of the stock
    u_reference: tuple[float, float, float]


@dataclass(frozen=True)
class EnergyValidation:
    years: list[int]
    synthetic: list[str]
    degree_days: list[float]  # each year's, as DPR 412/93 counts them (`degree_days`)
    archetypes: list[ArchetypeComparison]  # the years' mean need
    per_year: list[list[float]]  # each year's ratio, reference envelope / reference, by archetype
    seconds: float


# Bologna's degree-days in the Italian climate-zone decree (DPR 412/93, zone E), from the
# standard climate of UNI 10349; the heating season it allows in zone E (15 October-15 April).
STANDARD_DEGREE_DAYS = 2259.0


def degree_days(t_out: np.ndarray, year: int) -> float:
    """Degree-days as DPR 412/93 counts them: over the heating season of zone E (1 January to
    15 April and 15 October to 31 December of the year), the sum of 20 °C less each day's mean
    temperature where positive."""
    daily = t_out.reshape(-1, 24).mean(axis=1)
    day = np.arange(len(daily))
    first = np.datetime64(f"{year}-01-01")
    season = (day < (np.datetime64(f"{year}-04-16") - first).astype(int)) | (
        day >= (np.datetime64(f"{year}-10-15") - first).astype(int)
    )
    return float(np.where(season, np.maximum(20.0 - daily, 0.0), 0.0).sum())


def inputs(bologna: Path | None) -> tuple[pa.Table, pa.Table, list[str]]:
    """The building stock, the daily temperature, and which of them are synthetic."""
    stock, synth_b = partner_table("comune", "building-stock", bologna, SEED)
    temperature, synth_t = partner_table("cineca", "temperature-daily", bologna, SEED)
    synthetic = [n for n, s in (("building-stock", synth_b), ("temperature-daily", synth_t)) if s]
    return stock, temperature, synthetic


def _heating_kwh(
    table: pa.Table, t_out: np.ndarray, solar: np.ndarray, scenario: energy.EnergyScenario
) -> np.ndarray:
    """Each building's yearly heating need (kWh), as the buildings stage simulates it."""
    return _simulated_kwh(energy.building_parameters(table, scenario, False), t_out, solar,
                          scenario)  # fmt: skip


def _simulated_kwh(
    params: np.ndarray, t_out: np.ndarray, solar: np.ndarray, scenario: energy.EnergyScenario
) -> np.ndarray:
    """`_heating_kwh` from the buildings' 5R1C parameters (which no weather year changes)."""
    zeros = np.zeros(len(params), dtype=np.int64)
    run = energy.simulate_stock(params, zeros, t_out, solar, scenario, groups=1)
    return np.asarray(run.heat_total) / 1000.0


def _with_u(table: pa.Table, u: np.ndarray) -> pa.Table:
    """The table with every building's wall, roof, window and floor U-values set to `u`."""
    for name, value in zip(("u_wall", "u_roof", "u_window", "u_floor"), u, strict=True):
        col = pa.array(np.full(table.num_rows, float(value)))
        table = table.set_column(table.schema.get_field_index(name), name, col)
    return table


def validate(
    bologna: Path | None, years: list[int], per_archetype: int | None = None
) -> EnergyValidation:
    """Heating need per archetype, the model against the reference (see the module's doc),
    averaged over the weather `years`; with `per_archetype`, only that many buildings of each
    (the first in the table: a quicker check)."""
    if not years:
        raise ValueError("the validation needs at least one weather year")
    stock, temperature, synthetic = inputs(bologna)
    kinds = np.asarray(stock.column("archetype").to_pylist())
    tables = {
        name: stock.filter(pa.array(kinds == name)).slice(0, per_archetype)
        for name in energy.ARCHETYPES
    }
    baseline = energy.EnergyScenario.model_validate({})  # set-points; the year is the loop's
    # per archetype: floor area, and the 5R1C parameters with the stock's and the reference's
    # U-values (a weather year changes neither)
    envelopes = {
        name: (floats(mine, "floor_area_m2"), [
            energy.building_parameters(t, baseline, False)
            for t in (mine, _with_u(mine, reference_for(name)[1]))
        ])
        for name, mine in tables.items()
    }  # fmt: skip
    began = time.perf_counter()
    needs = np.zeros((len(years), len(tables), 2))  # kWh/m2: the stock's, the reference U's
    dds = []
    for y, year in enumerate(years):
        scenario = energy.EnergyScenario.model_validate({"year": year})
        weather = energy.MODEL.stages[0].run_local({"temperature-daily": temperature}, scenario, {})
        t_out, solar = (np.asarray(weather.arrays[k]) for k in ("t_out", "solar"))
        dds.append(degree_days(t_out, year))
        for a, (floor, params) in enumerate(envelopes.values()):
            for k, p in enumerate(params):
                needs[y, a, k] = _simulated_kwh(p, t_out, solar, scenario).sum() / floor.sum()
    rows = []
    for a, (name, mine) in enumerate(tables.items()):
        floor = envelopes[name][0]
        ref_need, ref_u = reference_for(name)
        u_stock = tuple(float(np.average(floats(mine, c), weights=floor)) for c in U_COLUMNS)
        rows.append(
            ArchetypeComparison(
                name,
                mine.num_rows,
                float(floor.sum()),
                float(needs[:, a, 0].mean()),
                float(needs[:, a, 1].mean()),
                ref_need,
                u_stock,  # type: ignore[arg-type]
                (float(ref_u[0]), float(ref_u[1]), float(ref_u[2])),
            )  # fmt: skip
        )
    ratios = needs[:, :, 1] / np.array([r.reference_kwh_m2 for r in rows])[None, :]
    return EnergyValidation(
        list(years), synthetic, dds, rows, ratios.round(3).tolist(), time.perf_counter() - began
    )


def markdown(v: EnergyValidation) -> list[str]:
    """The validation table, as docs/models.md shows it."""
    span = f"{v.years[0]}" if len(v.years) == 1 else f"{v.years[0]}-{v.years[-1]}, mean of"
    lines = [
        f"Weather: {span} {len(v.years)} year(s), {np.mean(v.degree_days):,.0f} degree-days a "
        f"year (DPR 412/93 count; Bologna's standard year: {STANDARD_DEGREE_DAYS:,.0f}); "
        f"synthetic inputs: {', '.join(v.synthetic) or 'none'}. Reference: {CITATION} "
        "(national figures).",
        "",
        "| archetype | buildings | model, stock's U-values (kWh/m²·yr) | model, reference "
        "U-values | reference | reference U-values / model | U wall, roof, window: stock | "
        "reference |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in v.archetypes:
        ratio = r.envelope_kwh_m2 / r.reference_kwh_m2
        verdict = "within" if abs(ratio - 1) <= AGREEMENT else "**outside**"
        lines.append(
            f"| {r.archetype} | {r.buildings:,} | {r.model_kwh_m2:.1f} | {r.envelope_kwh_m2:.1f} "
            f"| {r.reference_kwh_m2:.1f} | {ratio:.2f} ({verdict} ±{AGREEMENT:.0%}) | "
            + ", ".join(f"{u:.2f}" for u in r.u_stock)
            + " | "
            + ", ".join(f"{u:.2f}" for u in r.u_reference)
            + " |"
        )
    if len(v.years) > 1:
        lines += [
            "",
            "| year | degree-days | reference U-values / reference, by archetype |",
            "|---|---:|---|",
        ]
        for year, dd, ratios in zip(v.years, v.degree_days, v.per_year, strict=True):
            lines.append(f"| {year} | {dd:,.0f} | " + ", ".join(f"{r:.2f}" for r in ratios) + " |")
    sims = len(v.archetypes) * 2 * len(v.years)
    lines += ["", f"Wall time: {v.seconds:.2f} s for the {sims} simulations of a year."]
    return lines


def as_dict(v: EnergyValidation) -> dict[str, Any]:
    """For `--json`."""
    return {
        "years": v.years, "synthetic_inputs": v.synthetic, "reference": CITATION,
        "degree_days": v.degree_days, "per_year_ratio": v.per_year, "seconds": v.seconds,
        "archetypes": [r.__dict__ for r in v.archetypes],
    }  # fmt: skip
