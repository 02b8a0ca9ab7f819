"""The energy model beside a published typology of Italy's residential stock (MODERATE D3.2,
EURAC 2023): the agreement docs/models.md quotes must hold on Bologna's weather, and the check
must be able to fail."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from connector.validation import energy_typology as typology
from tests.clirun import run_cli

BOLOGNA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bologna"
# three weather years whose mean degree-days (2,128) is that of 2001-2024 (2,145): the
# figures docs/models.md quotes are the 24 years' mean, which takes ~80 s
YEARS = [2015, 2016, 2017]


def _real() -> Path:
    if not (BOLOGNA / "SOURCES.md").is_file():
        pytest.skip(f"the real Bologna temperature series is not here ({BOLOGNA})")
    return BOLOGNA


def test_every_archetype_agrees_with_the_reference_on_bologna_weather() -> None:
    v = typology.validate(_real(), YEARS, per_archetype=1500)
    assert v.synthetic == ["building-stock"]  # the temperature is ERG5's
    assert [r.archetype for r in v.archetypes] == list(typology.energy.ARCHETYPES)
    for dd in v.degree_days:  # the weather is Bologna's: near the standard zone E year
        assert abs(dd / typology.STANDARD_DEGREE_DAYS - 1) < 0.12, v.degree_days
    for r in v.archetypes:
        assert abs(r.envelope_kwh_m2 / r.reference_kwh_m2 - 1) <= typology.AGREEMENT, r
    need = [r.model_kwh_m2 for r in v.archetypes]
    assert need == sorted(need, reverse=True)  # older stock needs more heat, as the reference


def test_the_comparison_sees_a_wrong_model() -> None:
    """The same buildings with twice the reference's U-values fall outside the agreement."""
    stock, temperature, _ = typology.inputs(_real())
    scenario = typology.energy.EnergyScenario.model_validate({"year": 2016})
    weather = typology.energy.MODEL.stages[0].run_local(
        {"temperature-daily": temperature}, scenario, {}
    )
    t_out, solar = (np.asarray(weather.arrays[k]) for k in ("t_out", "solar"))
    kinds = np.asarray(stock.column("archetype").to_pylist())
    mine = stock.filter(kinds == "pre1945_masonry").slice(0, 1500)
    floor = mine.column("floor_area_m2").to_numpy().sum()
    ref, u = typology.reference_for("pre1945_masonry")
    right = typology._heating_kwh(typology._with_u(mine, u), t_out, solar, scenario).sum() / floor
    wrong = typology._heating_kwh(typology._with_u(mine, 2 * u), t_out, solar, scenario).sum()
    assert abs(right / ref - 1) <= typology.AGREEMENT
    assert wrong / floor / ref - 1 > typology.AGREEMENT


def test_the_reference_maps_periods_onto_archetypes_by_years_and_floor_area() -> None:
    need, u = typology.reference_for("pre1945_masonry")
    assert need == pytest.approx(typology.REFERENCE["before 1945"][0])
    need, u = typology.reference_for("1946_1975_concrete")
    a, b = typology.REFERENCE["1945-1969"], typology.REFERENCE["1970-1979"]
    w = np.array([a[5], 0.6 * b[5]])
    assert need == pytest.approx((w[0] * a[0] + w[1] * b[0]) / w.sum())
    assert min(a[1], b[1]) <= u[0] <= max(a[1], b[1])
    assert {p for shares in typology.PERIOD_SHARES.values() for p in shares} == set(
        typology.REFERENCE
    )


def test_the_command_prints_the_table_cites_the_reference_and_checks_the_years() -> None:
    shared = str(_real().parents[1])
    done = run_cli(["validate", "energy-5r1c", "--start", "2012-01-01", "--end", "2012-12-31",
                    "--shared", shared, "--buildings", "500", "--json"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout[done.stdout.index("{") :])
    assert data["years"] == [2012]
    assert "MODERATE" in data["reference"]
    assert [a["buildings"] for a in data["archetypes"]] == [500] * 5
    refused = run_cli(["validate", "energy-5r1c", "--start", "1990-01-01", "--end", "1991-12-31"])
    assert refused.returncode == 2
    assert "2001 to 2025" in refused.stderr
