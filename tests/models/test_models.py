"""The Model interface: code hashes, the mock federation, and each model's federated split."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

import models
from models import common, energy, gravity
from models.base import Model
from tests.models.conftest import TableFor


def test_every_model_has_a_distinct_stable_code_hash() -> None:
    hashes = {name: m.hash for name, m in models.MODELS.items()}
    assert len(set(hashes.values())) == len(hashes)
    assert all(h.startswith("sha256:") and len(h) == 71 for h in hashes.values())
    assert models.by_hash(hashes["energy-5r1c"]) is models.get("energy-5r1c")
    assert models.by_hash("sha256:" + "0" * 64) is None


def test_the_hash_covers_the_code_and_the_version() -> None:
    energy = models.get("energy-5r1c")
    bumped = Model(**{**energy.__dict__, "version": "1.0.1"})
    fewer = Model(**{**energy.__dict__, "modules": energy.modules[:-1]})  # without the kernel
    assert len({energy.hash, bumped.hash, fewer.hash}) == 3


def test_unknown_models_and_bad_scenarios_are_refused() -> None:
    with pytest.raises(KeyError, match="known: energy-5r1c"):
        models.get("nope")
    with pytest.raises(ValidationError, match="retrofit_share"):
        models.get("energy-5r1c").parse({"retrofit_share": 2})
    with pytest.raises(ValidationError, match="end is before start"):
        models.get("flood-scs-nash").parse({"start": "2023-05-10", "end": "2023-05-01"})
    ctm = models.get("mobility-ctm")
    with pytest.raises(ValidationError, match="no road class 'lane'; known: fast, boulevard"):
        ctm.parse({"speed_limits": {"lane": 30, "street": 30}})
    for kmh in (0, -5, 300):
        with pytest.raises(ValidationError, match="5 to 130 km/h"):
            ctm.parse({"speed_limits": {"street": kmh}})
    assert ctm.parse({"speed_limits": {"street": 30, "minor": 5}})
    energy = models.get("energy-5r1c")
    with pytest.raises(ValidationError, match="no archetype 'igloo'; known: pre1945_masonry"):
        energy.parse({"retrofit_archetypes": ["1976_1990", "igloo"]})
    with pytest.raises(ValidationError, match="must be below the cooling set-point"):
        energy.parse({"heating_setpoint": 24, "cooling_setpoint": 24})


def test_energy_upgrades_by_archetype(table_for: TableFor) -> None:
    """Per-archetype U-values replace the scenario's for that archetype's retrofitted
    buildings only; upgrades must name an archetype the scenario retrofits."""
    from models.kernels.energy import H_TR_EM, H_TR_W

    buildings = table_for("comune", "building-stock").slice(0, 3000)
    kind = np.array(buildings.column("archetype").to_pylist())
    everyone = {"retrofit_share": 1.0}
    plain = energy.EnergyScenario(**everyone)
    deeper = energy.EnergyScenario(
        **everyone, upgrades={"pre1945_masonry": {"u_wall": 0.12, "u_window": 0.8}}
    )
    a = energy.building_parameters(buildings, plain, True)
    b = energy.building_parameters(buildings, deeper, True)
    old = kind == "pre1945_masonry"
    assert old.any()
    assert (~old).any()
    assert (b[old, H_TR_EM] < a[old, H_TR_EM]).all()  # walls: 0.12 instead of 0.26
    assert (b[old, H_TR_W] < a[old, H_TR_W]).all()  # windows: 0.8 instead of 1.4
    np.testing.assert_array_equal(b[~old], a[~old])
    with pytest.raises(ValidationError, match="no archetype 'igloo'"):
        energy.EnergyScenario(upgrades={"igloo": {"u_wall": 0.1}})
    with pytest.raises(ValidationError, match="'post2005_nzeb', which retrofit_archetypes"):
        energy.EnergyScenario(upgrades={"post2005_nzeb": {"u_wall": 0.1}})
    with pytest.raises(ValidationError, match="u_roof"):
        energy.EnergyScenario(upgrades={"1976_1990": {"u_roof": 0}})


def test_the_energy_archetypes_are_the_building_stocks() -> None:
    from connector.partnerdata.synthetic import ARCHETYPES

    assert set(energy.ARCHETYPES) == set(ARCHETYPES)


def test_a_lane_closure_must_name_a_street_of_the_graph(table_for: TableFor) -> None:
    from models import mobility

    graph = table_for("comune", "road-graph").slice(0, 400)
    net = mobility.build_network(graph, None, 5.0, 70.0)
    street = str(net.link_street[0])
    ok = mobility.MobilityScenario(closures=[{"street": street.lower()}])
    closed = mobility.cell_arrays(net, ok, False, 5.0)
    assert (closed["cap"] < mobility.cell_arrays(net, ok, True, 5.0)["cap"]).any()
    nowhere = mobility.MobilityScenario(closures=[{"street": "VIA CHE NON C'E"}])
    with pytest.raises(ValueError, match="no street named 'VIA CHE NON C'E'"):
        mobility.cell_arrays(net, nowhere, False, 5.0)


def _split(table: pa.Table, parts: int) -> list[pa.Table]:
    idx = np.arange(table.num_rows) % parts
    return [table.filter(pa.array(idx == k)) for k in range(parts)]


def test_energy_split_over_holders_equals_the_central_run(table_for: TableFor) -> None:
    """Buildings spread over three holders: the sums per area and hour are the central ones."""
    buildings = table_for("comune", "building-stock").slice(0, 4000)
    weather = table_for("cineca", "temperature-daily")
    params = {"retrofit_share": 0.4, "year": 2023}
    model = models.get("energy-5r1c")
    central = models.run_central(
        model, {"building-stock": buildings, "temperature-daily": weather}, params
    )
    holders = {f"h{k}": {"building-stock": t} for k, t in enumerate(_split(buildings, 3))}
    holders["cineca"] = {"temperature-daily": weather}
    federated = models.run_federated(model, holders, params)
    for key in ("heat_base", "heat_scen", "cool_base", "cool_scen", "savings"):
        np.testing.assert_allclose(federated[key], central[key], rtol=1e-9, atol=1e-9)
    assert federated["buildings"] == 4000
    summary = model.summary(federated)
    assert summary["heating_scenario_MWh"] < summary["heating_baseline_MWh"]


def test_energy_hourly_output_per_area_and_hour(table_for: TableFor) -> None:
    """With `hourly` every hour of the year comes back per area: split over holders it sums
    to the central run, it folds into exactly the typical-day output, and the summary and the
    report gain the city's peak hour."""
    from connector.gateway import report

    buildings = table_for("comune", "building-stock").slice(0, 3000)
    weather = table_for("cineca", "temperature-daily")
    model = models.get("energy-5r1c")
    tables = {"building-stock": buildings, "temperature-daily": weather}
    params = {"retrofit_share": 0.5, "year": 2024}
    hourly = models.run_central(model, tables, {**params, "hourly": True})
    typical = models.run_central(model, tables, params)
    days = 366  # 2024
    assert np.shape(hourly["heat_base"]) == (common.N_AREAS, 24 * days)
    months = common.month_of_hours(2024)[1]
    for key in ("heat_base", "cool_scen", "savings"):
        folded = energy.by_month_hour(np.asarray(hourly[key]), months)
        np.testing.assert_allclose(folded, typical[key], rtol=1e-9, atol=1e-9)
    holders = {f"h{k}": {"building-stock": t} for k, t in enumerate(_split(buildings, 2))}
    holders["cineca"] = {"temperature-daily": weather}
    federated = models.run_federated(model, holders, {**params, "hourly": True})
    np.testing.assert_allclose(federated["heat_scen"], hourly["heat_scen"], rtol=1e-9, atol=1e-9)
    summary = model.summary(hourly)
    city = np.nansum(hourly["heat_base"], axis=0)
    assert summary["peak_heating_baseline_MW"] == round(float(city.max()) / 1000, 2)
    assert summary["peak_heating_scenario_MW"] < summary["peak_heating_baseline_MW"]
    assert "peak_heating_baseline_MW" not in model.summary(typical)

    def figures(result: dict[str, object]) -> int:
        return sum(part.startswith("<figure>") for part in report.SECTIONS["energy-5r1c"](result))

    assert figures(hourly) == 3  # with the load duration curve
    assert figures(typical) == 2


def test_flood_split_over_holders_equals_the_central_run(table_for: TableFor) -> None:
    catchments = table_for("unibo", "sub-catchments")
    rain = table_for("cineca", "rainfall-daily")
    model = models.get("flood-scs-nash")
    params = {"rain_multiplier": 1.3}
    central = models.run_central(
        model, {"sub-catchments": catchments, "rainfall-daily": rain}, params
    )
    holders = {f"h{k}": {"sub-catchments": t} for k, t in enumerate(_split(catchments, 2))}
    holders["cineca"] = {"rainfall-daily": rain}
    federated = models.run_federated(model, holders, params)
    for key in ("outlet_base", "outlet_scen", "area_scen", "peak_scen", "exceed_h_scen"):
        np.testing.assert_allclose(federated[key], central[key], rtol=1e-9)
    assert (federated["peak_scen"] > federated["peak_base"]).all()  # 30 % more rain


def test_a_period_beyond_the_weather_series_is_refused_and_gaps_are_counted(
    table_for: TableFor,
) -> None:
    """Days after the series ends would be invented (the last value held), so such a period is
    refused; days missing inside it are filled from their neighbours and counted."""
    import datetime as dt

    import pyarrow.compute as pc

    rain = table_for("cineca", "rainfall-daily")
    catchments = table_for("unibo", "sub-catchments")
    model = models.get("flood-scs-nash")
    last = max(rain.column("date").to_pylist())
    beyond = {"start": str(last - dt.timedelta(days=5)), "end": str(last + dt.timedelta(days=9))}
    tables = {"sub-catchments": catchments, "rainfall-daily": rain}
    with pytest.raises(ValueError, match=f"covers .* to {last}; the period .* reaches beyond"):
        models.run_central(model, tables, beyond)
    gone = pa.array([dt.date(2023, 5, d) for d in (10, 11, 12)], pa.date32())
    holed = rain.filter(pc.invert(pc.is_in(rain.column("date"), gone)))
    assert holed.num_rows == rain.num_rows - 3
    full = model.summary(models.run_central(model, tables, {}))
    filled = model.summary(models.run_central(model, {**tables, "rainfall-daily": holed}, {}))
    assert (full["rain_days_filled"], filled["rain_days_filled"]) == (0, 3)
    energy_model = models.get("energy-5r1c")
    weather = table_for("cineca", "temperature-daily")
    first = min(weather.column("date").to_pylist())
    late = weather.filter(pc.greater(weather.column("date"), pa.scalar(first, pa.date32())))
    with pytest.raises(ValueError, match=f"covers {first + dt.timedelta(days=1)} to"):
        energy_model.stages[0].run_local(  # the series now starts a day into the year
            {"temperature-daily": late}, energy_model.parse({"year": first.year}), {}
        )


def test_gravity_recovers_a_known_decay() -> None:
    """Flows drawn from a doubly constrained model with beta = 0.6: the fit finds it."""
    rng = np.random.default_rng(3)
    lat, lon = 44.45 + rng.random(30) * 0.08, 11.28 + rng.random(30) * 0.12
    dist = gravity.distances(lat, lon)
    o, d = rng.uniform(100, 1000, 30), rng.uniform(100, 1000, 30)
    flows = gravity.furness(o, d, dist, 0.6)
    np.testing.assert_allclose(flows.sum(axis=1), o, rtol=1e-8)  # productions kept
    np.testing.assert_allclose(flows.sum(axis=0), d * o.sum() / d.sum(), rtol=1e-8)
    system = {
        "origins": flows.sum(axis=1),
        "destinations": flows.sum(axis=0),
        "distance": np.array([(flows * dist).sum()]),
        "dist": dist,
    }
    assert gravity.fit_beta([system], 10.0) == pytest.approx(0.6, rel=1e-4)
    # a steep decay lies beyond the first bracket (1 per km): the bracket grows to find it
    steep = gravity.furness(o, d, dist, 3.5)
    system_steep = dict(system, distance=np.array([(steep * dist).sum()]))
    assert gravity.fit_beta([system_steep], 10.0) == pytest.approx(3.5, rel=1e-4)
    assert gravity.fit_beta([system_steep], 2.0) == 2.0  # the search's upper end


def test_a_system_the_noise_emptied_is_left_out_of_the_fit() -> None:
    """A small zone system whose noisy productions all clip to zero has nothing to balance:
    it neither turns the pooled fit into NaN nor moves it (seen with 16 members)."""
    rng = np.random.default_rng(4)
    lat, lon = 44.45 + rng.random(20) * 0.08, 11.28 + rng.random(20) * 0.12
    dist = gravity.distances(lat, lon)
    flows = gravity.furness(rng.uniform(50, 500, 20), rng.uniform(50, 500, 20), dist, 0.4)
    good = {"origins": flows.sum(axis=1), "destinations": flows.sum(axis=0),
            "distance": np.array([(flows * dist).sum()]), "dist": dist}  # fmt: skip
    emptied = dict(good, origins=-np.abs(rng.normal(5, 1, 20)))
    assert not gravity.fitted(emptied)
    assert np.all(gravity.furness(emptied["origins"], good["destinations"], dist, 0.4) == 0)
    assert gravity.fit_beta([good, emptied], 10.0) == pytest.approx(0.4, rel=1e-4)
    assert gravity.fit_beta([emptied], 10.0) == 0.0


def test_gravity_federated_equals_central(table_for: TableFor) -> None:
    model = models.get("mobility-gravity")
    tables = {
        "statistical-areas": table_for("comune", "statistical-areas"),
        "wifi-od-flows": table_for("unibo", "wifi-od-flows"),
        "trips": table_for("fbk", "trips"),
    }
    central = models.run_central(model, tables, {})
    holders = {
        "comune": {"statistical-areas": tables["statistical-areas"]},
        "unibo": {"wifi-od-flows": tables["wifi-od-flows"]},
        "fbk": {"trips": tables["trips"]},
    }
    federated = models.run_federated(model, holders, {})
    assert federated["beta_per_km"] == pytest.approx(central["beta_per_km"], rel=1e-9)
    assert {s["system"] for s in federated["systems"]} == {
        "statistical areas (trips)",
        "university WiFi zones",
    }
    # the trips' holder sends O, D and C only: no area x area array (the gateway computes the
    # areas' distances from the centroids it sent)
    params = model.parse({})
    zones = model.stages[0]
    ctx = zones.combine([zones.run_local(holders["comune"], params, {})], params, {})
    sent = model.stage("flows").run_local(holders["fbk"], params, ctx)
    assert sorted(sent.arrays) == ["destinations:trips", "distance:trips", "origins:trips"]
    assert max(np.asarray(v).size for v in sent.arrays.values()) <= 90
    # one holder alone is still a fit (k = 1), of its own system only
    alone = models.run_federated(model, {k: holders[k] for k in ("comune", "fbk")}, {})
    assert [s["system"] for s in alone["systems"]] == ["statistical areas (trips)"]


def test_a_stage_below_k_holders_fails_in_the_mock_federation(table_for: TableFor) -> None:
    model = models.get("energy-5r1c")
    with pytest.raises(RuntimeError, match="stage buildings: 0 holder"):
        models.run_federated(
            model, {"cineca": {"temperature-daily": table_for("cineca", "temperature-daily")}}, {}
        )


def test_partials_carry_aggregates_only(table_for: TableFor) -> None:
    """No partial has a row per building, trip or catchment."""
    model = models.get("mobility-gravity")
    stage = model.stage("flows")
    ctx = models.run_central(
        models.Model(**{**model.__dict__, "stages": model.stages[:1]}),
        {"statistical-areas": table_for("comune", "statistical-areas")},
        {},
    )
    trips = table_for("fbk", "trips")
    partial = stage.run_local({"trips": trips}, model.parse({}), ctx)
    assert max(a.shape[0] for a in partial.arrays.values()) <= 90 < trips.num_rows
