"""Sweeps and Monte Carlo samples (decision 0033): one job, several scenarios, each equal to its
own run; the kernels take the scenarios side by side; a nested retrofit sweep releases disjoint
steps, so one building moves one of them only."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from models import common, energy, flood, mobility, sweeps
from models.kernels import flood as flood_kernel
from models.testing import run_central
from tests.models.conftest import TableFor


@pytest.fixture(scope="module")
def flood_tables(table_for: TableFor) -> dict[str, pa.Table]:
    return {
        "rainfall-daily": table_for("cineca", "rainfall-daily"),
        "sub-catchments": table_for("unibo", "sub-catchments"),
    }


@pytest.fixture(scope="module")
def energy_tables(table_for: TableFor) -> dict[str, pa.Table]:
    stock = table_for("comune", "building-stock")
    return {
        "temperature-daily": table_for("cineca", "temperature-daily"),
        "building-stock": stock.slice(0, 3000),  # a district's worth keeps the test quick
    }


def test_a_flood_sweep_equals_its_runs_one_by_one(flood_tables: dict[str, pa.Table]) -> None:
    values = [1.0, 1.3, 1.6]
    base = {"permeable_share": 0.2, "end": "2023-05-20"}
    swept = run_central(flood.MODEL, flood_tables, base | {"sweep": {
        "parameter": "rain_multiplier", "start": 1.0, "stop": 1.6, "step": 0.3}})  # fmt: skip
    np.testing.assert_array_equal(swept["sweep_values"][:, 0], values)
    for i, v in enumerate(values):
        one = run_central(flood.MODEL, flood_tables, base | {"rain_multiplier": v})
        for name in ("peak", "time_to_peak_h", "exceed_h", "first_alarm_h", "peak_q"):
            for tag in ("base", "scen"):
                np.testing.assert_allclose(
                    swept[f"sweep_{name}_{tag}"][i], one[f"{name}_{tag}"], rtol=1e-9, atol=0,
                    err_msg=f"{name}_{tag} at ×{v}",
                )  # fmt: skip
    # the job's own scenario stays the main result
    main = run_central(flood.MODEL, flood_tables, base)
    np.testing.assert_allclose(swept["outlet_scen"], main["outlet_scen"], rtol=1e-12)
    curve = flood.summary(swept)["sweep_curve"]
    assert [row["rain_multiplier"] for row in curve] == values
    peaks = [row["Reno peak, m³/s"] for row in curve]
    assert peaks == sorted(peaks)
    assert peaks[0] < peaks[-1]


def test_a_monte_carlo_sample_gives_bands_from_its_seed(flood_tables: dict[str, pa.Table]) -> None:
    params = {
        "rain_multiplier": 1.3,
        "end": "2023-05-20",
        "sweep": {"samples": 12, "vary": {"curve_number_shift": [-8, 8]}, "seed": 3},
    }
    first = flood.summary(run_central(flood.MODEL, flood_tables, params))
    again = flood.summary(run_central(flood.MODEL, flood_tables, params))
    assert first["uncertainty_bands"] == again["uncertainty_bands"]  # reproducible
    other = params | {"sweep": params["sweep"] | {"seed": 4}}
    assert flood.summary(run_central(flood.MODEL, flood_tables, other))["uncertainty_bands"] != \
        first["uncertainty_bands"]  # fmt: skip
    for band in first["uncertainty_bands"]:
        assert band["p5"] <= band["p50"] <= band["p95"], band
    reno = next(b for b in first["uncertainty_bands"] if b["figure"].startswith("Reno"))
    assert reno["p5"] < reno["p95"]  # wetter soils, higher peaks: the band has a width
    assert first["sweep"]["samples"] == 12


def test_the_kernel_runs_scenarios_side_by_side_like_its_numpy_twin(
    flood_tables: dict[str, pa.Table],
) -> None:
    table = flood_tables["sub-catchments"]
    scen = flood.FloodScenario()
    keys = [(1.0, 0.0, 0.0), (1.4, 0.3, 0.0), (1.0, 0.0, 6.0)]
    runs = [flood.catchment_parameters(table, scen, True, k) for k in keys]
    rng = np.random.default_rng(2)
    rain = np.where(rng.random(300) < 0.3, rng.gamma(0.7, 3.0, 300), 0.0)
    group = np.arange(table.num_rows) % 7
    outlet = np.arange(table.num_rows) % 3 - 1  # some catchments drain to no outlet
    mult = np.array([k[0] for k in keys])
    fast = flood.simulate_runs(rain, runs, mult, group, outlet, 7, 12)
    slow = flood.simulate_runs(rain, runs, mult, group, outlet, 7, 12, numpy=True)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # a run alone gives what it gives beside the others
    for j, k in enumerate(keys):
        alone = flood.simulate_runs(rain, [runs[j]], np.array([k[0]]), group, outlet, 7, 12)
        np.testing.assert_allclose(alone[0][0], fast[0][j], rtol=1e-12)
    assert flood_kernel.MAX_RES >= 1


def test_an_energy_sweep_equals_its_runs_one_by_one(energy_tables: dict[str, pa.Table]) -> None:
    for sweep in ({"parameter": "retrofit_share", "values": [0.1, 0.3, 0.2]},
                  {"parameter": "u_wall", "values": [0.2, 0.4]},
                  {"parameter": "heating_setpoint", "values": [19, 21]}):  # fmt: skip
        base = {"retrofit_share": 0.3}
        swept = run_central(energy.MODEL, energy_tables, base | {"sweep": sweep})
        name = str(sweep["parameter"])
        for i, v in enumerate(sweep["values"]):  # type: ignore[arg-type]
            one = run_central(energy.MODEL, energy_tables, base | {name: v})
            per_area = np.nansum(one["savings"].reshape(90, -1), axis=1)
            np.testing.assert_allclose(
                swept["sweep_saving"][i].sum(axis=1), per_area, rtol=1e-9, atol=1e-6,
                err_msg=f"{name} = {v}",
            )  # fmt: skip
        assert [row[name] for row in energy.summary(swept)["sweep_curve"]] == sweep["values"]


def test_a_nested_retrofit_sweep_moves_one_step_per_building(
    energy_tables: dict[str, pa.Table],
) -> None:
    """The steps between the shares are disjoint sets of buildings: taking one retrofitted
    building out changes one step, so one building's clipped saving bounds the whole sweep."""
    stock = energy_tables["building-stock"]
    weather_stage, buildings = energy.MODEL.stages
    params = energy.EnergyScenario.model_validate(
        {"retrofit_share": 0.3, "sweep": {"parameter": "retrofit_share",
                                          "values": [0.1, 0.2, 0.3, 0.4]}})  # fmt: skip
    assert params.nested
    ctx = weather_stage.combine(
        [weather_stage.run_local({"temperature-daily": energy_tables["temperature-daily"]},
                                 params, {})], params, {})  # fmt: skip
    whole = buildings.run_local({"building-stock": stock}, params, ctx).arrays["sweep_saving"]
    chosen = np.flatnonzero(energy.retrofitted(stock, params))  # share 0.3
    for drop in chosen[:3]:
        keep = np.ones(stock.num_rows, bool)
        keep[drop] = False
        less = buildings.run_local({"building-stock": stock.filter(pa.array(keep))}, params,
                                   ctx).arrays["sweep_saving"]  # fmt: skip
        moved = np.abs(whole - less).sum(axis=(1, 2))
        assert (moved > 1e-6).sum() == 1, moved  # one step only
        assert moved.sum() <= energy.SAVING_CLIP_KWH + 1e-6
    # the declared sensitivity: one building's clip for a nested sweep, the sum otherwise
    assert buildings.noise_for("sweep_saving", params).l1 == energy.SAVING_CLIP_KWH  # type: ignore[union-attr]
    walls = energy.EnergyScenario.model_validate(
        {"retrofit_share": 0.3, "sweep": {"parameter": "u_wall", "values": [0.2, 0.3, 0.4]}}
    )
    assert not walls.nested
    assert buildings.noise_for("sweep_saving", walls).l1 == 3 * energy.SAVING_CLIP_KWH  # type: ignore[union-attr]
    assert buildings.noise_for("sweep_saving", energy.EnergyScenario()) is None


@pytest.mark.parametrize(
    ("model", "params", "says"),
    [
        (flood.MODEL, {"sweep": {"parameter": "start", "values": [1]}}, "cannot be swept"),
        (flood.MODEL, {"sweep": {"parameter": "rain_multiplier", "values": [1, 5]}},
         "rain_multiplier = 5 is refused"),
        (flood.MODEL, {"sweep": {"parameter": "rain_multiplier", "start": 1, "stop": 100,
                                 "step": 0.01}}, f"at most {sweeps.MAX_POINTS}"),
        (flood.MODEL, {"sweep": {"parameter": "rain_multiplier"}}, "gives its values"),
        (flood.MODEL, {"sweep": {"samples": 4, "vary": {"rain_multiplier": [2, 1]}}},
         "is not [low, high]"),
        (energy.MODEL, {"sweep": {"parameter": "retrofit_share", "values": [0.12]}},
         "multiple of 0.05"),
        (energy.MODEL, {"sweep": {"samples": 4, "vary": {"u_wall": [0.2, 0.4]}}},
         "no Monte Carlo"),
    ],
)  # fmt: skip
def test_a_sweep_that_cannot_run_is_refused_saying_why(
    model: object, params: dict[str, object], says: str
) -> None:
    with pytest.raises(ValidationError) as err:
        model.parse(params)  # type: ignore[attr-defined]
    assert says in str(err.value)


def test_savings_and_costs_per_archetype_add_up_to_the_city(
    energy_tables: dict[str, pa.Table],
) -> None:
    """A planner's question: which building types to retrofit first. The archetypes' savings
    add up to the city's; the cost follows the assumed unit prices; only retrofitted
    archetypes cost anything; and both outputs are declared for the holder's noise."""
    params = {"retrofit_share": 0.5, "by_archetype": True}
    result = run_central(energy.MODEL, energy_tables, params)
    np.testing.assert_allclose(result["archetype_saving"].sum(), np.nansum(result["savings"]),
                               rtol=1e-9)  # fmt: skip
    rows = {r["archetype"]: r for r in energy.summary(result)["by_archetype"]}
    for name in energy.ARCHETYPES:
        retrofitted = name in energy.RETROFIT_DEFAULT
        assert (rows[name]["cost, M€"] > 0) == retrofitted, name
        if retrofitted and rows[name]["heating saving, MWh"] > 0:
            assert rows[name]["payback, years"] > 0
    stock = energy_tables["building-stock"]
    scenario = energy.EnergyScenario.model_validate(params)
    dearer = scenario.model_copy(update={"cost_wall_eur_m2": 300, "cost_roof_eur_m2": 240,
                                         "cost_window_eur_m2": 1200})  # fmt: skip
    cost = energy.retrofit_cost(stock, scenario)
    np.testing.assert_allclose(energy.retrofit_cost(stock, dearer), 2 * cost, rtol=1e-12)
    assert (cost > 0).sum() <= energy.retrofitted(stock, scenario).sum()
    # what leaves the holder: each building's cost clipped, summed per archetype
    np.testing.assert_allclose(result["archetype_cost"].sum(),
                               np.minimum(cost, energy.COST_CLIP_EUR).sum(), rtol=1e-9)  # fmt: skip
    stage = energy.MODEL.stage("buildings")
    assert stage.noise_for("archetype_saving", scenario).l1 == energy.SAVING_CLIP_KWH  # type: ignore[union-attr]
    assert stage.noise_for("archetype_cost", scenario).l1 == energy.COST_CLIP_EUR  # type: ignore[union-attr]
    assert "archetype_saving" not in run_central(energy.MODEL, energy_tables, {})


@pytest.fixture(scope="module")
def mobility_tables(table_for: TableFor) -> dict[str, pa.Table]:
    graph = table_for("comune", "road-graph").slice(0, 2500)  # a piece of the city: quick
    return {
        "road-graph": graph,
        "traffic-loop-counts": table_for("comune", "traffic-loop-counts"),
        "statistical-areas": table_for("comune", "statistical-areas"),
    }


def test_a_speed_limit_sweep_equals_its_runs_one_by_one(
    mobility_tables: dict[str, pa.Table],
) -> None:
    """Each point of a CTM sweep (its own route choice, all points in one kernel call) equals
    the job that runs it alone: vehicle-km, vehicle-hours and minutes to the centre, per area."""
    values = [20.0, 35.0, 50.0]
    base = {"hours": 9, "speed_limits": {"boulevard": 40}}
    swept = run_central(mobility.MODEL, mobility_tables, base | {"sweep": {
        "parameter": "speed_limits.street", "values": values}})  # fmt: skip
    np.testing.assert_array_equal(swept["sweep_values"][:, 0], values)
    assert swept["sweep_vkm"].shape == (common.N_AREAS, 3)
    for i, v in enumerate(values):
        one = run_central(mobility.MODEL, mobility_tables,
                          base | {"speed_limits": {"boulevard": 40, "street": v}})  # fmt: skip
        for name in ("vkm", "vht"):
            np.testing.assert_allclose(
                swept[f"sweep_{name}"][:, i], one[f"{name}_scen"].sum(axis=1), rtol=1e-9,
                atol=1e-9, err_msg=f"{name} at {v} km/h",
            )  # fmt: skip
        np.testing.assert_allclose(swept["sweep_tt_centre"][:, i], one["tt_centre_scen"],
                                   rtol=1e-9, err_msg=f"minutes at {v} km/h")  # fmt: skip
    main = run_central(mobility.MODEL, mobility_tables, base)  # the job's own scenario
    np.testing.assert_allclose(swept["vkm_scen"], main["vkm_scen"], rtol=1e-12)
    curve = mobility.summary(swept)["sweep_curve"]
    assert [row["speed_limits.street"] for row in curve] == values
    speeds = [row["mean speed, km/h"] for row in curve]
    assert speeds == sorted(speeds)  # a lower limit on the streets, a slower city
    assert speeds[0] < speeds[-1]


def test_a_ctm_sweep_is_refused_where_it_cannot_run() -> None:
    with pytest.raises(ValidationError, match="cannot be swept"):
        mobility.MobilityScenario.model_validate(
            {"sweep": {"parameter": "daily_car_trips", "values": [1e5, 2e5]}}
        )
    with pytest.raises(ValidationError, match="speed_limits.street = 200 is refused"):
        mobility.MobilityScenario.model_validate(
            {"sweep": {"parameter": "speed_limits.street", "values": [30, 200]}}
        )
    with pytest.raises(ValidationError, match="no Monte Carlo"):
        mobility.MobilityScenario.model_validate(
            {"sweep": {"samples": 4, "vary": {"speed_limits.street": [20, 50]}}}
        )
