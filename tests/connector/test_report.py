"""The HTML report of a job: figures, tables and maps drawn from a real model result."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import models
from connector.cli.jobs import show_summary
from connector.compute import wire
from connector.gateway import report
from connector.gateway.gazetteer import Gazetteer
from connector.partnerdata.prepare import build_table
from connector.partnerdata.specs import partner_specs
from connector.settings import load_settings, source_root

PARAMS = {"rain_multiplier": 1.3, "start": "2023-05-01", "end": "2023-05-31"}


def _table(partner: str, dataset: str) -> Any:
    shared = source_root().parent / "shared" / "data" / "bologna"
    spec = next(s for s in partner_specs(partner) if s.id == dataset)
    return build_table(spec, partner, shared if shared.is_dir() else None, 7, b"k" * 32)


@pytest.fixture(scope="module")
def flood_view() -> dict[str, Any]:
    model = models.get("flood-scs-nash")
    tables = {
        "rainfall-daily": _table("cineca", "rainfall-daily"),
        "sub-catchments": _table("unibo", "sub-catchments"),
    }
    return _view(model, PARAMS, models.run_central(model, tables, PARAMS))


def _view(model: models.Model, params: dict[str, Any], result: Any) -> dict[str, Any]:
    """A succeeded job as the gateway keeps it, for `report.render`."""
    scenario = model.params.model_validate(params).model_dump(mode="json")
    return {
        "id": "job-test", "model": model.name, "state": "succeeded", "purpose": "research",
        "model_hash": model.hash, "params": scenario, "summary": model.summary(result),
        "outputs": wire.encode_value(dict(result)), "holders": [],
    }  # fmt: skip


def _rows(page: str, caption: str) -> list[list[str]]:
    table = re.search(rf"<caption>{re.escape(caption)}.*?</table>", page, re.S)
    assert table is not None, caption
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S)
    return [re.findall(r"<td>(.*?)</td>", r) for r in rows if "<td>" in r]


def test_flood_report_has_peaks_times_and_area_maps(flood_view: dict[str, Any], home: Path) -> None:
    areas = Gazetteer.for_settings(load_settings("comune", home)).areas
    page = report.render(flood_view, None, areas)
    peaks = _rows(page, "Peak flow and time to peak per outlet")
    summary = flood_view["summary"]["peak_m3s_base_scen"]
    assert [r[0] for r in peaks] == list(summary)
    for outlet, base, scen, _change, at_base, at_scen in peaks:
        assert [float(base), float(scen)] == summary[outlet]
        assert re.fullmatch(r"2023-05-\d\d \d\d:\d\d", at_base), at_base
        assert re.fullmatch(r"2023-05-\d\d \d\d:\d\d", at_scen), at_scen
    assert page.count("<figure>") == 2  # hydrographs and the two maps
    names = {a.name for a in areas}
    longest = _rows(page, "The ")
    assert longest
    assert all(r[0] in names for r in longest)
    scen_hours = [float(r[2]) for r in longest]
    assert scen_hours == sorted(scen_hours, reverse=True)
    # the caveats: no input named synthetic here, the card's limits and its validation
    caveats = page.split('<dl id="caveats">')[1].split("</dl>")[0]
    assert "<dt>Synthetic inputs</dt><dd><ul><li>none</li>" in caveats
    assert "EPA SWMM 5" in caveats
    assert "sub-catchments (unibo)" in report.render(
        flood_view, None, (), ["sub-catchments (unibo)"]
    )
    # without outlines there is no map, and areas are named by code
    bare = report.render(flood_view, None)
    assert bare.count("<figure>") == 1
    assert re.search(r"<td>area \d+</td>", bare)


def test_headline_records_and_mappings_are_tables_in_the_report_and_the_terminal(
    flood_view: dict[str, Any],
) -> None:
    """A list of records (the gravity model's systems) gets a header row; a mapping of
    baseline-scenario pairs reads "a → b". The terminal shows the same, never a JSON blob."""
    systems = [
        {"system": "statistical areas (trips)", "zones": 90, "beta_per_km": 0.14},
        {"system": "university WiFi zones", "zones": 10, "beta_per_km": 0.0},
    ]
    view = dict(flood_view, summary={**flood_view["summary"], "systems": systems})
    page = report.render(view, None)
    inner = re.search(r"<td>systems</td><td>(<table.*?</table>)", page, re.S)
    assert inner is not None
    assert "<th>system</th><th>zones</th><th>beta_per_km</th>" in inner.group(1)
    assert "<td>university WiFi zones</td><td>10</td><td>0.0</td>" in inner.group(1)
    reno = flood_view["summary"]["peak_m3s_base_scen"]
    first, pair = next(iter(reno.items()))
    assert f"<td>{first}</td><td>{pair[0]} → {pair[1]}</td>" in page

    console = Console(record=True, width=120)
    show_summary({"state": "succeeded", "summary": view["summary"]}, console)
    text = console.export_text()
    assert re.search(rf"{first}\s+{pair[0]} → {pair[1]}", text)
    assert re.search(r"system\s+zones\s+beta_per_km", text)
    assert re.search(r"university WiFi zones\s+10\s+0.0", text)
    assert "{" not in text
    assert "[" not in text


def test_the_mobility_report_plots_each_counted_arc() -> None:
    """The demand is fitted to the loop counts: the report shows, arc by arc, the counted daily
    flow against the baseline run's and against the fit's prediction when that loop was held
    out."""
    model = models.get("mobility-ctm")
    tables = {d: _table("comune", d) for d in model.datasets}
    params = {"hours": 3, "speed_limits": {"street": 30}}
    result = models.run_central(model, tables, params)
    fit = result["calibration"][0]
    n = fit["loops_matched"]
    assert n >= 3
    for key in (
        "loop_arc_codes",
        "loop_counted_daily",
        "loop_simulated_daily",
        "loop_heldout_daily",
    ):
        assert len(fit[key]) == n
    arcs = set(_table("comune", "traffic-loop-counts").column("arc_code").to_pylist())
    assert set(fit["loop_arc_codes"]) <= arcs
    summary = model.summary(result)
    by_class = summary["vehicle_km_by_class"]  # baseline and scenario vehicle-km per class
    assert set(by_class) == {"fast", "boulevard", "street", "minor"}
    for k, tag in enumerate(("base", "scen")):
        total = sum(pair[k] for pair in by_class.values())
        assert total == pytest.approx(summary[f"vehicle_km_{tag}"], abs=4)
    page = report.render(_view(model, params, result), None)
    assert f"The {n} counted arcs" in page
    street = f"{by_class['street'][0]} → {by_class['street'][1]}"
    assert street in page
    assert "Vehicle-km by road class" in page  # and the bar chart
    assert "held out (free flow)" in page
    # the prior alone: nothing was held out, and the plot says only what was run
    result = models.run_central(model, tables, {**params, "calibrate": False})
    assert "loop_heldout_daily" not in result["calibration"][0]
    assert "trips_fitted" not in model.summary(result)
