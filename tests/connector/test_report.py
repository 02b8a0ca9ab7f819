"""The HTML report of a job: figures, tables and maps drawn from a real model result."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import models
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
    result = models.run_central(model, tables, PARAMS)
    params = model.params.model_validate(PARAMS).model_dump(mode="json")
    return {
        "id": "job-test", "model": model.name, "state": "succeeded", "purpose": "research",
        "model_hash": model.hash, "params": params, "summary": model.summary(result),
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
    # without outlines there is no map, and areas are named by code
    bare = report.render(flood_view, None)
    assert bare.count("<figure>") == 1
    assert re.search(r"<td>area \d+</td>", bare)
