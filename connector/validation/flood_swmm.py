"""The flood model beside EPA SWMM 5 (issue 29): the same sub-catchments, the same rain.

Gemello's `flood-scs-nash` turns rain into runoff by the SCS curve number and routes it through
a Nash cascade per sub-catchment. SWMM (through `pyswmm` and `swmm-toolkit`, the EPA engine
compiled) is the field's reference for urban drainage. Both get:

- every sub-catchment of unibo's table: area, imperviousness, slope, and the curve number.
  SWMM takes the pervious part's curve number (its impervious part does not infiltrate), with
  the dry time that ends an event;
- the same hourly rain of cineca's series (the May 2023 flood by default), as an intensity;
- one free outfall per receiving river, each sub-catchment draining straight into its own.

What differs is the routing: SWMM's overland flow is a non-linear reservoir (Manning), the
model's a cascade of n linear reservoirs of constant k. A sub-catchment's SWMM width is chosen
so that its reservoir, linearised at a reference runoff intensity, has the cascade's mean lag
(n k): T = 3/5 d/i at equilibrium depth d gives W = i A n_M / (S^½ d^{5/3}) with d = 5/3 i T.
Nothing is fitted to SWMM's answer.

Compared per outlet: the Nash–Sutcliffe efficiency of the hourly hydrograph (SWMM as the
reference), the peak and the time to peak.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from connector.partnerdata.prepare import partner_table
from connector.validation import floats
from models import flood, weather

REFERENCE_RUNOFF_MM_H = 2.0  # where the non-linear reservoir is linearised (a wet May hour)
MANNING_IMPERVIOUS, MANNING_PERVIOUS = 0.015, 0.10
# The impervious part's depression storage: curve number 98's initial abstraction, 0.2 S.
IMPERVIOUS_STORE_MM = 0.2 * (25400.0 / 98.0 - 254.0)
SEED = 7  # the synthetic tables' seed where the real ones are absent (as the benchmarks')
STEP_S = 300  # SWMM's wet and routing step, and how often the outfalls are read


@dataclass(frozen=True)
class OutletComparison:
    """One river's hydrograph, both tools."""

    outlet: str
    nse: float
    peak_model: float  # m³/s
    peak_swmm: float
    peak_error: float  # model / SWMM - 1
    time_to_peak_model_h: float
    time_to_peak_swmm_h: float


@dataclass(frozen=True)
class FloodValidation:
    """The comparison, and what each tool took."""

    start: date
    end: date
    catchments: int
    rain_mm: float
    synthetic: list[str]
    outlets: list[OutletComparison]
    model_s: float
    swmm_s: float
    hours: int


def inputs(bologna: Path | None, start: date, end: date) -> tuple[pa.Table, np.ndarray, list[str]]:
    """The sub-catchments, the hourly rain (mm per hour) of the period, and which inputs are
    synthetic."""
    catchments, synth_c = partner_table("unibo", "sub-catchments", bologna, SEED)
    rainfall, synth_r = partner_table("cineca", "rainfall-daily", bologna, SEED)
    first, last = np.datetime64(start, "D"), np.datetime64(end, "D")
    cols, _ = weather.daily_columns(rainfall, ("rain_mm",), first, last)
    hourly = weather.hourly_rain(cols["rain_mm"]).ravel()
    synthetic = [n for n, s in (("sub-catchments", synth_c), ("rainfall-daily", synth_r)) if s]
    return catchments, hourly, synthetic


def model_hydrographs(
    catchments: pa.Table, rain: np.ndarray, scenario: flood.FloodScenario
) -> np.ndarray:
    """Gemello's outlets × hours discharge (m³/s), as the catchments stage computes it."""
    names = catchments.column("outlet").to_pylist()
    outlet = np.array([flood.OUTLETS.index(o) for o in names], dtype=np.int64)
    params = flood.catchment_parameters(catchments, scenario, False)
    return flood.simulate(rain, params, outlet, len(flood.OUTLETS), scenario.dry_hours)


def widths(catchments: pa.Table) -> np.ndarray:
    """Each sub-catchment's SWMM width (m), from its cascade's mean lag (see the module)."""
    area_m2 = floats(catchments, "area_km2") * 1e6
    slope = np.maximum(floats(catchments, "slope_pct") / 100.0, 1e-4)
    imperv = np.clip(floats(catchments, "impervious_share"), 0, 0.99)
    manning = imperv * MANNING_IMPERVIOUS + (1 - imperv) * MANNING_PERVIOUS
    lag_s = floats(catchments, "reservoir_k_h") * floats(catchments, "n_reservoirs") * 3600.0
    i = REFERENCE_RUNOFF_MM_H / 1000.0 / 3600.0  # m/s
    depth = 5.0 / 3.0 * i * lag_s
    return np.asarray(i * area_m2 * manning / (np.sqrt(slope) * depth ** (5.0 / 3.0)))


def swmm_input(catchments: pa.Table, rain: np.ndarray, start: date, dry_hours: int) -> str:
    """A SWMM 5 input file: a rain gage, the sub-catchments, an outfall per river."""
    cn = np.clip(floats(catchments, "curve_number"), 30, 99)
    imperv = np.clip(floats(catchments, "impervious_share"), 0, 0.99)
    pervious_cn = np.clip((cn - 98 * imperv) / (1 - imperv), 30, 98)
    width = widths(catchments)
    ids = catchments.column("catchment_id").to_pylist()
    outlets = catchments.column("outlet").to_pylist()
    end = datetime.combine(start, datetime.min.time()) + timedelta(hours=len(rain))
    t0 = datetime.combine(start, datetime.min.time())
    lines = [
        "[TITLE]", "Gemello flood-scs-nash validation: the same sub-catchments and rain", "",
        "[OPTIONS]", "FLOW_UNITS CMS", "INFILTRATION CURVE_NUMBER", "FLOW_ROUTING STEADY",
        f"START_DATE {t0:%m/%d/%Y}", "START_TIME 00:00:00",
        f"REPORT_START_DATE {t0:%m/%d/%Y}", "REPORT_START_TIME 00:00:00",
        f"END_DATE {end:%m/%d/%Y}", f"END_TIME {end:%H:%M:%S}",
        f"WET_STEP 00:{STEP_S // 60:02d}:00", f"DRY_STEP 00:{STEP_S // 60:02d}:00",
        f"ROUTING_STEP {STEP_S}", "REPORT_STEP 01:00:00", "",
        "[RAINGAGES]", "city INTENSITY 1:00 1.0 TIMESERIES rain", "",
        "[SUBCATCHMENTS]",
    ]  # fmt: skip
    area_ha = floats(catchments, "area_km2") * 100.0
    slope = np.maximum(floats(catchments, "slope_pct"), 0.01)
    for k, cid in enumerate(ids):
        lines.append(f"{cid} city {outlets[k]} {area_ha[k]:.4f} {imperv[k] * 100:.3f} "
                     f"{width[k]:.3f} {slope[k]:.3f} 0")  # fmt: skip
    lines += ["", "[SUBAREAS]"]
    for cid in ids:
        lines.append(f"{cid} {MANNING_IMPERVIOUS} {MANNING_PERVIOUS} {IMPERVIOUS_STORE_MM:.3f} "
                     "0 0 OUTLET")  # fmt: skip
    lines += ["", "[INFILTRATION]"]
    for k, cid in enumerate(ids):
        lines.append(f"{cid} {pervious_cn[k]:.3f} 0 {dry_hours / 24.0:.4f}")
    lines += ["", "[OUTFALLS]", *(f"{o} 0 FREE NO" for o in flood.OUTLETS), "", "[TIMESERIES]"]
    for h, mm in enumerate(rain):
        when = t0 + timedelta(hours=h)
        lines.append(f"rain {when:%m/%d/%Y} {when:%H:%M} {mm:.6f}")
    return "\n".join(lines) + "\n"


def swmm_hydrographs(text: str, hours: int) -> np.ndarray:
    """SWMM's outlets × hours discharge (m³/s): each hour the mean of its 5-minute readings."""
    from pyswmm import Nodes, Simulation

    per_hour = 3600 // STEP_S
    samples = np.zeros((len(flood.OUTLETS), hours * per_hour))
    with tempfile.TemporaryDirectory(prefix="gemello-swmm-") as tmp:
        path = Path(tmp) / "flood.inp"
        path.write_text(text)
        with Simulation(str(path)) as sim:
            sim.step_advance(STEP_S)
            nodes = [Nodes(sim)[o] for o in flood.OUTLETS]
            for k, _ in enumerate(sim):
                if k >= samples.shape[1]:
                    break
                for i, node in enumerate(nodes):
                    samples[i, k] = node.total_inflow
    return np.asarray(samples.reshape(len(flood.OUTLETS), hours, per_hour).mean(axis=2))


def nse(model: np.ndarray, reference: np.ndarray) -> float:
    """Nash–Sutcliffe efficiency of `model` against `reference` (1 is a perfect match)."""
    spread = float(((reference - reference.mean()) ** 2).sum())
    return 1.0 - float(((model - reference) ** 2).sum()) / spread if spread > 0 else float("nan")


def validate(
    bologna: Path | None, start: date = date(2023, 5, 1), end: date = date(2023, 5, 31)
) -> FloodValidation:
    """Run both tools on the same inputs and compare each outlet."""
    catchments, rain, synthetic = inputs(bologna, start, end)
    scenario = flood.FloodScenario.model_validate({"start": start, "end": end})
    model_hydrographs(catchments, rain[:24], scenario)  # compile outside the timing
    t0 = time.perf_counter()
    ours = model_hydrographs(catchments, rain, scenario)
    model_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = swmm_hydrographs(swmm_input(catchments, rain, start, scenario.dry_hours), len(rain))
    swmm_s = time.perf_counter() - t0
    rows = []
    for i, name in enumerate(flood.OUTLETS):
        a, b = ours[i], theirs[i]
        rows.append(
            OutletComparison(
                outlet=name,
                nse=nse(a, b),
                peak_model=float(a.max()),
                peak_swmm=float(b.max()),
                peak_error=float(a.max() / b.max() - 1) if b.max() > 0 else float("nan"),
                time_to_peak_model_h=float(a.argmax()),
                time_to_peak_swmm_h=float(b.argmax()),
            )
        )
    return FloodValidation(start, end, catchments.num_rows, float(rain.sum()), synthetic, rows,
                           model_s, swmm_s, len(rain))  # fmt: skip


def markdown(v: FloodValidation) -> list[str]:
    """The validation table, as docs/models.md shows it."""
    lines = [
        f"Period {v.start} to {v.end} ({v.hours} h, {v.rain_mm:.0f} mm of rain), "
        f"{v.catchments} sub-catchments; synthetic inputs: "
        f"{', '.join(v.synthetic) or 'none'}.",
        "",
        "| outlet | NSE | peak, model (m³/s) | peak, SWMM (m³/s) | peak error | "
        "time to peak, model (h) | time to peak, SWMM (h) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in v.outlets:
        lines.append(
            f"| {r.outlet} | {r.nse:.3f} | {r.peak_model:.2f} | {r.peak_swmm:.2f} | "
            f"{r.peak_error:+.1%} | {r.time_to_peak_model_h:.0f} | {r.time_to_peak_swmm_h:.0f} |"
        )
    lines += [
        "",
        f"Wall time for the period: the model {v.model_s * 1e3:.1f} ms, SWMM {v.swmm_s:.2f} s "
        f"({v.swmm_s / v.model_s:,.0f}x).",
    ]
    return lines


def as_dict(v: FloodValidation) -> dict[str, Any]:
    """For `--json`."""
    return {
        "start": str(v.start), "end": str(v.end), "hours": v.hours, "rain_mm": v.rain_mm,
        "catchments": v.catchments, "synthetic_inputs": v.synthetic,
        "model_s": v.model_s, "swmm_s": v.swmm_s,
        "outlets": [r.__dict__ for r in v.outlets],
    }  # fmt: skip
