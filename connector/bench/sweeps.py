"""Sweeps (issue 29, decision 0033): 32 scenarios in one run against 32 runs one by one, in
process on the partners' tables and federated through the connectors; every scenario of the
sweep checked equal (1e-9) to its own run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import models
from connector.bench.compute import _central_tables, timed_job
from connector.settings import Settings
from models import sweeps

N = 32
# Each model's sweep: the parameter, its 32 values, the scenario around it, and how to read
# one scenario's figures from a single run and from the sweep, to hold them equal.
FLOOD_VALUES = [round(1.0 + 0.03125 * i, 6) for i in range(N)]  # rain x1.0 to x1.97
WALL_VALUES = [round(0.10 + 0.01 * i, 2) for i in range(N)]  # 0.10 to 0.41 W/m²K
SHARE_VALUES = [round(0.05 * (1 + i % 20), 2) for i in range(N)]  # the 20 shares, then again
STREET_VALUES = [20.0 + i for i in range(N)]  # the streets' limit, 20 to 51 km/h
# Rounds per case where one round is long: the CTM's 32 runs one by one take ~2 minutes.
ROUNDS = {"mobility: street speed limit": 1}


def _flood_pair(one: dict[str, Any], swept: dict[str, Any], i: int) -> list[tuple[Any, Any]]:
    return [(one[f"{k}_scen"], swept[f"sweep_{k}_scen"][i])
            for k in ("peak", "exceed_h", "first_alarm_h", "peak_q")]  # fmt: skip


def _energy_pair(one: dict[str, Any], swept: dict[str, Any], i: int) -> list[tuple[Any, Any]]:
    return [(np.nansum(one["savings"].reshape(90, -1), axis=1),
             swept["sweep_saving"][i].sum(axis=1))]  # fmt: skip


def _mobility_pair(one: dict[str, Any], swept: dict[str, Any], i: int) -> list[tuple[Any, Any]]:
    return [(one["vkm_scen"].sum(axis=1), swept["sweep_vkm"][:, i]),
            (one["vht_scen"].sum(axis=1), swept["sweep_vht"][:, i]),
            (one["tt_centre_scen"], swept["sweep_tt_centre"][:, i])]  # fmt: skip


CASES: dict[str, tuple[str, str, list[float], dict[str, Any], Callable[..., Any]]] = {
    "flood: rain factor": ("flood-scs-nash", "rain_multiplier", FLOOD_VALUES, {}, _flood_pair),
    "energy: wall U-value": ("energy-5r1c", "u_wall", WALL_VALUES, {"retrofit_share": 0.3},
                             _energy_pair),
    "energy: retrofit share (nested)": ("energy-5r1c", "retrofit_share", SHARE_VALUES, {},
                                        _energy_pair),
    "mobility: street speed limit": ("mobility-ctm", "speed_limits.street", STREET_VALUES, {},
                                     _mobility_pair),
}  # fmt: skip


def _single(param: str, value: float, base: dict[str, Any]) -> dict[str, Any]:
    """One scenario of a sweep as a job of its own."""
    return sweeps.put(base, {param: value})


def _sweep_params(param: str, values: list[float], base: dict[str, Any]) -> dict[str, Any]:
    return base | {"sweep": {"parameter": param, "values": values}}


def _equal(pairs: list[tuple[Any, Any]]) -> float:
    """The largest relative difference between a run's figures and the sweep's."""
    worst = 0.0
    for a, b in pairs:
        a, b = np.asarray(a, float), np.asarray(b, float)
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            return float("inf")
        ok = ~np.isnan(a)
        scale = np.maximum(np.abs(a[ok]), 1e-300)
        worst = max(worst, float(np.max(np.abs(a[ok] - b[ok]) / scale, initial=0.0)))
    return worst


def bench_sweeps_central(home: Path, rounds: int = 3) -> list[dict[str, Any]]:
    """Per case: 32 central runs one by one against one central sweep, alternating, medians."""
    rows = []
    for label, (name, param, values, base, pair) in CASES.items():
        model = models.get(name)
        tables = _central_tables(home, model)
        models.run_central(model, tables, _single(param, values[0], base))  # compiled, warm
        ones, sweeps_s, worst = [], [], 0.0
        for k in range(ROUNDS.get(label, rounds)):
            order = (0, 1) if k % 2 == 0 else (1, 0)
            for which in order:
                t0 = time.perf_counter()
                if which == 0:
                    singles = [models.run_central(model, tables, _single(param, v, base))
                               for v in values]  # fmt: skip
                    ones.append(time.perf_counter() - t0)
                else:
                    swept = models.run_central(model, tables, _sweep_params(param, values, base))
                    sweeps_s.append(time.perf_counter() - t0)
            worst = max(worst, max(_equal(pair(singles[i], swept, i)) for i in range(N)))
        rows.append({"case": label, "separate": statistics.median(ones),
                     "sweep": statistics.median(sweeps_s), "worst": worst})  # fmt: skip
    return rows


def bench_sweeps_federated(
    home: Path, settings: list[Settings], token: str, rounds: int = 3
) -> list[dict[str, Any]]:
    """Per case, through the four connectors (POST /jobs to the finished job): one scenario's
    job against the 32-scenario sweep's job, alternating, medians."""
    from connector.federation import federation

    rows = []
    with federation(home, settings) as conns, httpx.Client() as client:
        gateway = next(c.url for c in conns if c.settings.partner == "unibo")
        auth = {"Authorization": f"Bearer {token}"}

        def job(name: str, params: dict[str, Any]) -> float:
            return timed_job(client, gateway, auth, name, params)[0]

        for label, (name, param, values, base, _pair) in CASES.items():
            single = _single(param, values[len(values) // 2], base)
            job(name, single)  # agreements negotiated, workers warm
            ones: list[float] = []
            swept: list[float] = []
            for k in range(ROUNDS.get(label, rounds)):
                first, second = ((single, ones), (_sweep_params(param, values, base), swept))
                for params, into in (first, second) if k % 2 == 0 else (second, first):
                    into.append(job(name, params))
            rows.append({"case": label, "single": statistics.median(ones),
                         "sweep": statistics.median(swept)})  # fmt: skip
    return rows


def sweeps_section(central: list[dict[str, Any]], federated: list[dict[str, Any]]) -> list[str]:
    """The sweeps' rows of docs/benchmarks.md."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines = [
        "### Sweeps: 32 scenarios in one job (decision 0033)",
        "",
        "Targets (issue 29): a 32-scenario sweep in at most 1/5 of the time of its 32 runs one "
        "by one, with equal results (1e-9) scenario by scenario; a federated 32-scenario sweep "
        "within 3x a single federated run. In process (`models.run_central`, every stage, on "
        "the partners' tables), then through the four connectors (POST /jobs to the finished "
        "job, DP noise on comune's building stock as in the models' table above: a sweep spends "
        "one epsilon). Medians of 3 rounds, the two sides "
        "alternating. The flood sweep takes the rain from x1.0 to x1.97; the energy sweeps take "
        "the wall U-value from 0.10 to 0.41 W/m²K at a 30 % retrofit, and the retrofit share "
        "over its twenty steps (twice).",
        "",
        "| sweep | 32 runs one by one, s | one sweep, s | ratio | largest difference | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in central:
        ratio = r["separate"] / r["sweep"]
        lines.append(
            f"| {r['case']} | {r['separate']:.3f} | {r['sweep']:.3f} | {ratio:.1f}x | "
            f"{r['worst']:.1e} | {verdict(ratio >= 5 and r['worst'] <= 1e-9)} |"
        )
    lines += [
        "",
        "| sweep, federated | one scenario, s | 32 scenarios, s | ratio | target (<= 3x) |",
        "|---|---:|---:|---:|---|",
    ]
    for r in federated:
        ratio = r["sweep"] / r["single"]
        lines.append(
            f"| {r['case']} | {r['single']:.3f} | {r['sweep']:.3f} | {ratio:.2f}x | "
            f"{verdict(ratio <= 3)} |"
        )
    lines += [
        "",
        "The CTM sweep takes the streets' limit from 20 to 51 km/h, one round each side (32 "
        "runs one by one take minutes), the baseline's calibration kept on both sides "
        "as a planner's session keeps it (decision 0032). Each point needs its own route choice "
        "(8 loadings of the city's trips), which no point shares with another; the points' CTM "
        "runs go two at a time, a core each (decision 0033).",
        "",
    ]
    return lines
