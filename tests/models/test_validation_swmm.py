"""The flood model beside EPA SWMM 5 (pyswmm, the EPA engine compiled), on the same
sub-catchments and rain: the figures docs/models.md quotes must hold, and the check must be
able to fail."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from connector.validation import flood_swmm
from tests.clirun import run_cli

START, END = date(2023, 5, 1), date(2023, 5, 31)


@pytest.fixture(scope="module")
def synthetic() -> flood_swmm.FloodValidation:
    """The synthetic rain (its generated May storm) and sub-catchments: no shared data needed."""
    return flood_swmm.validate(None, START, END)


def test_every_river_agrees_with_swmm(synthetic: flood_swmm.FloodValidation) -> None:
    assert synthetic.synthetic == ["sub-catchments", "rainfall-daily"]
    assert [r.outlet for r in synthetic.outlets] == ["Reno", "Savena", "Aposa", "Navile", "Idice"]
    for r in synthetic.outlets:
        assert r.nse > 0.9, r  # "very good" in hydrology's usual grading (> 0.75)
        assert abs(r.peak_error) < 0.1, r
        assert abs(r.time_to_peak_model_h - r.time_to_peak_swmm_h) <= 2, r
    assert synthetic.swmm_s > synthetic.model_s


def test_the_comparison_sees_a_wrong_model() -> None:
    """The same comparison, with the model given twice the rain: NSE and peaks fail."""
    catchments, rain, _ = flood_swmm.inputs(None, START, END)
    scenario = flood_swmm.flood.FloodScenario.model_validate({"start": START, "end": END})
    theirs = flood_swmm.swmm_hydrographs(
        flood_swmm.swmm_input(catchments, rain, START, scenario.dry_hours), len(rain)
    )
    right = flood_swmm.model_hydrographs(catchments, rain, scenario)
    wrong = flood_swmm.model_hydrographs(catchments, rain * 2, scenario)
    assert flood_swmm.nse(right[0], theirs[0]) > 0.9
    assert flood_swmm.nse(wrong[0], theirs[0]) < 0.5
    assert wrong[0].max() / theirs[0].max() > 1.5
    assert flood_swmm.nse(np.full_like(theirs[0], theirs[0].mean()), theirs[0]) == pytest.approx(0)


def test_the_swmm_input_holds_every_catchment_and_hour() -> None:
    catchments, rain, _ = flood_swmm.inputs(None, START, date(2023, 5, 2))
    text = flood_swmm.swmm_input(catchments, rain, START, 24)
    section = text.split("[SUBCATCHMENTS]")[1].split("[")[0].strip().splitlines()
    assert len(section) == catchments.num_rows == 180
    assert text.count("\nrain 05/0") == len(rain) == 48
    assert "INFILTRATION CURVE_NUMBER" in text


def test_the_command_prints_the_table_and_refuses_a_model_it_cannot_check() -> None:
    done = run_cli(["validate", "flood-scs-nash", "--start", "2023-05-14", "--end", "2023-05-20",
                    "--json"], 120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout[done.stdout.index("{") :])
    assert body["hours"] == 7 * 24
    assert len(body["outlets"]) == 5
    assert all(o["nse"] > 0.8 for o in body["outlets"]), body["outlets"]
    refused = run_cli(["validate", "mobility-gravity"], 60)
    assert refused.returncode == 2
    assert "no validation for 'mobility-gravity' yet" in refused.stderr
