"""Each compiled kernel against its plain NumPy twin, plus the physics each must respect."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from models import common, energy, flood, mobility
from tests.models.conftest import TableFor


def test_energy_kernel_equals_numpy_and_heats_in_winter(table_for: TableFor) -> None:
    buildings = table_for("comune", "building-stock").slice(0, 3000)
    scen = energy.EnergyScenario()
    params = energy.building_parameters(buildings, scen, retrofit=False)
    area = common.area_index(buildings.column("area_code").to_numpy())
    hours = np.arange(24 * 60)
    t_out = 5 + 8 * np.sin(2 * np.pi * hours / 24)  # a cold spell
    solar = np.clip(300 * np.sin(2 * np.pi * (hours - 6) / 24), 0, None)
    fast = energy.simulate_areas(params, area, t_out, solar, scen)
    slow = energy.simulate_areas(params, area, t_out, solar, scen, numpy=True)
    np.testing.assert_allclose(fast[0], slow[0], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-9, atol=1e-6)
    assert fast[0].sum() > 0
    assert fast[1].sum() == 0
    # every building of an area is counted once: areas without buildings need nothing
    empty = np.bincount(area, minlength=common.N_AREAS) == 0
    assert (fast[0][empty] == 0).all()


def test_better_envelope_needs_less_heat(table_for: TableFor) -> None:
    buildings = table_for("comune", "building-stock").slice(0, 2000)
    area = common.area_index(buildings.column("area_code").to_numpy())
    t_out, solar = np.full(24 * 30, 2.0), np.zeros(24 * 30)
    base = energy.EnergyScenario()
    retrofit = energy.EnergyScenario(
        retrofit_share=1.0, retrofit_archetypes=list(energy.RETROFIT_DEFAULT)
    )
    heat_base, _ = energy.simulate_areas(
        energy.building_parameters(buildings, base, False), area, t_out, solar, base
    )
    heat_ret, _ = energy.simulate_areas(
        energy.building_parameters(buildings, retrofit, True), area, t_out, solar, retrofit
    )
    assert heat_ret.sum() < 0.8 * heat_base.sum()


def test_steady_state_heat_loss_matches_the_network(table_for: TableFor) -> None:
    """Held at 20 C for long enough, the demand difference between two outdoor temperatures is
    the network's conductance to outside times the temperature difference (gains cancel)."""
    from models.kernels.energy import H_TR_EM, H_TR_IS, H_TR_MS, H_TR_W, H_VE

    building = table_for("comune", "building-stock").slice(0, 1)
    scen = energy.EnergyScenario()
    p = energy.building_parameters(building, scen, False)
    solar = np.zeros(24 * 60)
    demand = {}
    for t_out in (2.0, 7.0):
        heat, _ = energy.simulate_areas(p, np.array([0]), np.full(24 * 60, t_out), solar, scen)
        demand[t_out] = heat[0, -1]
    mass_path = 1 / (1 / p[0, H_TR_MS] + 1 / p[0, H_TR_EM])
    h_eff = p[0, H_VE] + 1 / (1 / p[0, H_TR_IS] + 1 / (p[0, H_TR_W] + mass_path))
    assert demand[2.0] - demand[7.0] == pytest.approx(5 * h_eff, rel=1e-6)


def test_flood_kernel_equals_numpy_and_keeps_mass(table_for: TableFor) -> None:
    table = table_for("unibo", "sub-catchments")
    scen = flood.FloodScenario(step_minutes=15)
    params = flood.catchment_parameters(table, scen, scenario_land=False)
    rain = np.zeros(4 * 24 * 20)
    rain[40:80] = 5.0  # 10 hours of heavy rain, then 19 days of drainage
    group = np.arange(table.num_rows) % 7
    fast = flood.simulate(rain, params, group, 7, dry_steps=10_000)
    slow = flood.simulate(rain, params, group, 7, dry_steps=10_000, numpy=True)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)
    # everything that ran off has left the cascade after 19 days: the outflow volume equals the
    # SCS runoff of 200 mm on each sub-area (a catchment's impervious and pervious parts)
    assert len(params.s_mm) == 2 * table.num_rows
    s_mm, to_flow = params.s_mm, params.to_flow
    p = rain.sum()
    runoff_mm = np.where(p > 0.2 * s_mm, (p - 0.2 * s_mm) ** 2 / (p + 0.8 * s_mm), 0.0)
    expected = np.bincount(group[params.catchment], runoff_mm * to_flow, 7)
    np.testing.assert_allclose(fast.sum(axis=1), expected, rtol=1e-6)


def test_permeable_paving_lowers_the_peak(table_for: TableFor) -> None:
    table = table_for("unibo", "sub-catchments")
    scen = flood.FloodScenario(permeable_share=0.5)
    rain = np.r_[np.full(12, 6.0), np.zeros(96)]
    group = np.zeros(table.num_rows, dtype=np.int64)
    base = flood.simulate(rain, flood.catchment_parameters(table, scen, False), group, 1, 48)
    paved = flood.simulate(rain, flood.catchment_parameters(table, scen, True), group, 1, 48)
    assert paved.max() < base.max()


def _chain(n_links: int, length_m: float = 300.0) -> pa.Table:
    """A one-way street of links (node i -> i + 1) with the road graph's columns."""
    return pa.table(
        {
            "arc_code": np.arange(n_links, dtype=np.int64),
            "street": ["VIA PROVA"] * n_links,
            "node_from": np.arange(n_links, dtype=np.int64),
            "node_to": np.arange(1, n_links + 1, dtype=np.int64),
            "length_m": np.full(n_links, length_m),
            "lat": np.linspace(44.49, 44.50, n_links),
            "lon": np.full(n_links, 11.34),
        }
    )


def test_ctm_kernel_equals_numpy_and_conserves_vehicles(table_for: TableFor) -> None:
    graph = table_for("comune", "road-graph").slice(0, 1500)
    areas = table_for("comune", "statistical-areas")
    scen = mobility.MobilityScenario(hours=1)
    net = mobility.build_network(graph, areas, 5.0, 70.0)
    cells = mobility.cell_arrays(net, scen, True, 5.0)
    demand = np.full((1, len(net.link_first)), 40.0)
    fast = mobility.run(net, cells, demand, 5.0)
    slow = mobility.run(net, cells, demand, 5.0, numpy=True)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    assert (fast[1] >= -1e-9).all()  # occupancy never negative


def test_ctm_free_flow_speed_and_capacity() -> None:
    net = mobility.build_network(_chain(20), None, 5.0, 50.0)
    scen = mobility.MobilityScenario(hours=1)
    cells = mobility.cell_arrays(net, scen, True, 5.0)
    light = np.zeros((1, len(net.link_first)))
    light[0, 0] = 100.0  # 100 veh/h into the first link of an empty street
    vkm, vht, _ = mobility.run(net, cells, light, 5.0)
    assert vkm.sum() / vht.sum() == pytest.approx(50.0, rel=0.05)  # free flow at the limit
    heavy = light * 50  # 5,000 veh/h into a one-lane street of 900 veh/h
    _, _, flow = mobility.run(net, cells, heavy, 5.0)
    # vehicles leaving the 10th link in an hour: bounded by capacity (exit shares aside)
    assert flow[0, 10] <= 900.0 * 1.001


def test_a_full_turn_spills_back_with_kept_turns_and_not_with_shares() -> None:
    """A boulevard of three links ends at a fork: on, another boulevard; right, a one-lane
    alley of 600 veh/h. 2,400 veh/h come down the boulevard, half of them bound for the alley.
    Splitting by the shares, those held back at the alley leave by the boulevard next step and
    the boulevard ahead carries ~1,400 veh/h. With kept turns they wait, fill the boulevard's
    end, and hold the others back (spillback): the boulevard ahead carries little more than
    the alley, the queue reaches the links behind, and giving up sooner lets more through."""
    names = ["VIALE A"] * 3 + ["VIALE B"] * 3 + ["VICOLO C"] * 3
    ends = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (3, 7), (7, 8), (8, 9)]
    graph = pa.table(
        {
            "arc_code": np.arange(9, dtype=np.int64),
            "street": names,
            "node_from": [a for a, _ in ends],
            "node_to": [b for _, b in ends],
            "length_m": np.full(9, 300.0),
            "lat": [44.49 + 0.003 * a for a, _ in ends],
            "lon": [11.34 + 0.003 * (a >= 7) for a, _ in ends],
        }
    )
    net = mobility.build_network(graph, None, 5.0, 50.0)
    arc = net.link_arc
    forward = np.nonzero(net.link_first >= 0)[0]
    link = {int(a): int(k) for k in forward for a in [arc[k]] if k % 2 == 0}
    demand = np.zeros((2, len(net.link_first)))
    demand[:, link[0]] = 2400.0

    def day(junction: str, give_up: float = 300.0) -> tuple[np.ndarray, np.ndarray]:
        scen = mobility.MobilityScenario(hours=2, junction=junction, give_up_seconds=give_up)
        cells = mobility.cell_arrays(net, scen, True, 5.0)
        _, vht, flow = mobility.run(net, cells, demand, 5.0, one_core=True)
        return flow[1], vht[1]

    shares_flow, shares_vht = day("shares")
    turns_flow, turns_vht = day("turns")
    ahead, alley, first = link[3], link[6], net.link_first[link[0]]
    assert shares_flow[alley] == pytest.approx(600, rel=0.05)  # the alley at capacity
    assert shares_flow[ahead] > 1300
    assert turns_flow[alley] == pytest.approx(600, rel=0.05)
    assert turns_flow[ahead] < 0.6 * shares_flow[ahead]
    assert turns_vht[first] > 3 * shares_vht[first]  # the queue reached the first link
    assert day("turns", give_up=60)[0][ahead] > turns_flow[ahead] * 1.1


def test_turns_split_evenly_without_u_turns() -> None:
    # a T junction: node 1 joins arcs 0 (0-1), 1 (1-2), 2 (1-3)
    net = mobility.build_network(
        pa.table(
            {
                "arc_code": [10, 11, 12],
                "street": ["VIA A", "VIA B", "VIA C"],
                "node_from": [0, 1, 1],
                "node_to": [1, 2, 3],
                "length_m": [100.0, 100.0, 100.0],
                "lat": [44.49, 44.491, 44.492],
                "lon": [11.34, 11.341, 11.342],
            }
        ),
        None,
        5.0,
        50.0,
    )
    t = net.turns
    into_junction = [i for i in range(6) if net.link_arc[i] == 10 and i % 2 == 0]
    src = into_junction[0]
    shares = {
        int(d): s
        for s_, d, s in zip(t["src"], t["dst"], net.even_share, strict=True)
        if s_ == src and s > 0
    }
    assert len(shares) == 2
    assert all(v == pytest.approx((1 - mobility.EXIT_SHARE) / 2) for v in shares.values())
    assert net.reverse[src] not in shares


def _fork(tail: str) -> pa.Table:
    """VIA A (0 -> 1) forks at node 1 into VIA B (1 -> 2) and VIA C (1 -> 3); C continues
    into `tail` (3 -> 4). Long links, so queues take a while to reach the fork."""
    return pa.table(
        {
            "arc_code": [10, 11, 12, 13],
            "street": ["VIA A", "VIA B", "VIA C", tail],
            "node_from": [0, 1, 1, 3],
            "node_to": [1, 2, 3, 4],
            "length_m": [600.0, 600.0, 600.0, 600.0],
            "lat": [44.49, 44.491, 44.492, 44.493],
            "lon": [11.34, 11.341, 11.342, 11.343],
        }
    )


def _out_link(net: mobility.Network, node: int, arc: int) -> int:
    links = net.node_out[net.node_out_start[node] : net.node_out_start[node + 1]]
    return int(next(k for k in links if net.link_arc[k] == arc))


@pytest.mark.parametrize("numpy", [False, True], ids=["kernel", "numpy"])
def test_a_full_street_holds_back_only_the_turn_into_it(numpy: bool) -> None:
    """VIA A forks into VIA B and VIA C; C leads into a square. With a lane closed, the
    square takes 300 veh/h, less than the ~400 turning from A into C, so C backs up to the
    fork: vehicles turning into C wait, those turning into B still go (no first-in-first-out
    across turns). B carries the same traffic as with the square open."""
    net = mobility.build_network(_fork("PIAZZA D"), None, 5.0, 50.0)
    a, b, c = _out_link(net, 0, 10), _out_link(net, 1, 11), _out_link(net, 1, 12)
    demand = np.zeros((3, len(net.link_first)))
    demand[:, a] = 1000.0  # more than A's one lane takes: A sends at capacity
    flows = []
    for closed in (False, True):
        scen = mobility.MobilityScenario(hours=3, closures=[{"street": "PIAZZA D"}])
        cells = mobility.cell_arrays(net, scen, not closed, 5.0)
        _, _, flow = mobility.run(net, cells, demand, 5.0, numpy=numpy)
        flows.append((flow[2, a], flow[2, b], flow[2, c]))
    (a_open, b_open, c_open), (a_closed, b_closed, c_closed) = flows
    assert c_closed < 0.9 * c_open  # the queue reached the fork and holds the turn into C...
    assert a_open - a_closed == pytest.approx(c_open - c_closed)  # ...whose vehicles wait on A
    assert b_closed == pytest.approx(b_open, rel=0.02)  # ...while B's still get through


@pytest.mark.parametrize("junction", ["shares", "turns"])
@pytest.mark.parametrize("routed", [False, True], ids=["even", "uneven-shares"])
def test_ctm_kernel_equals_numpy_at_wide_nodes_and_dead_ends(routed: bool, junction: str) -> None:
    """A hub of six arms (the kernel's looped path) with chains off it whose nodes have two,
    three and four arms and end in dead ends (the padded unrolled path), streets of every class
    and uneven, congesting demand: kernel and twin agree, with the even split and with uneven
    turning shares, U-turns included (route choice's), with either junction model."""
    names = ("VIALE A", "VIA B", "PIAZZA C", "TANGENZIALE D", "VIA E", "VIALE F")
    arcs: list[tuple[int, int, str]] = []
    for arm in range(6):
        chain = [0, *(100 * (arm + 1) + k for k in range(4))]
        arcs += [(a, b, names[arm]) for a, b in zip(chain[:-1], chain[1:], strict=True)]
        for side in range(arm % 3):  # side streets: chain nodes get 3 or 4 arms
            arcs.append((chain[2], 1000 * (arm + 1) + side, names[(arm + side + 1) % 6]))
            arcs.append((chain[3], 2000 * (arm + 1) + side, names[(arm + side + 2) % 6]))
    n = len(arcs)
    graph = pa.table(
        {
            "arc_code": list(range(n)),
            "street": [name for _, _, name in arcs],
            "node_from": [a for a, _, _ in arcs],
            "node_to": [b for _, b, _ in arcs],
            "length_m": [90.0 + 70 * (i % 4) for i in range(n)],
            "lat": [44.49 + 0.001 * i for i in range(n)],
            "lon": [11.34] * n,
        }
    )
    net = mobility.build_network(graph, None, 5.0, 70.0)
    j = net.junctions
    assert len(j["wide_start"]) == 2  # one wide junction: the hub
    real_arms = (j["arm_link"] >= 0).sum(axis=1)
    assert set(real_arms) == {1, 2, 3, 4}
    scen = mobility.MobilityScenario(hours=2, junction=junction, give_up_seconds=120)
    cells = mobility.cell_arrays(net, scen, True, 5.0)
    rng = np.random.default_rng(3)
    demand = rng.uniform(0, 1500, (2, len(net.link_first)))  # more than many streets carry
    share = None
    if routed:  # each link's turns: random weights, 0-20 % exiting
        src = net.turns["src"]
        raw = rng.uniform(0, 1, len(src)) * (rng.uniform(0, 1, len(src)) > 0.3)
        per_link = np.bincount(src, raw, len(net.link_first))
        keep = rng.uniform(0.8, 1.0, len(net.link_first))
        share = raw / np.where(per_link > 0, per_link, 1)[src] * keep[src]
        assert share[net.turns["dst"] == net.reverse[src]].max() > 0  # U-turns too
    # kept turns on the variant the model runs (a core each): compiling the kernel over every
    # core with kept turns too would cost the suite ~16 s; the two differ only in prange
    fast = mobility.run(net, cells, demand, 5.0, share, one_core=junction == "turns")
    slow = mobility.run(net, cells, demand, 5.0, share, numpy=True)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    assert fast[2].sum() > 0
    assert fast[1][-1].sum() > 0


def test_ctm_runs_on_one_core_equal_runs_over_every_core(table_for: TableFor) -> None:
    """The baseline and the scenario run side by side, a core each: the same numbers as the
    kernel that splits every step over the cores."""
    graph = table_for("comune", "road-graph").slice(0, 1200)
    scen = mobility.MobilityScenario(hours=2, speed_limits={"street": 30})
    net = mobility.build_network(graph, None, 5.0, 70.0)
    runs = [mobility.cell_arrays(net, scen, base, 5.0) for base in (True, False)]
    demand = np.full((2, len(net.link_first)), 60.0)
    shared = [mobility.run(net, cells, demand, 5.0) for cells in runs]
    alone = [mobility.run(net, cells, demand, 5.0, one_core=True) for cells in runs]
    together = mobility.run_many(net, runs, demand, 5.0)
    for a, b, c in zip(shared, alone, together, strict=True):
        for x, y, z in zip(a, b, c, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(z, y, rtol=1e-12, atol=1e-12)
    assert shared[0][0].sum() != shared[1][0].sum()  # the 30 km/h scenario differs


def test_the_loop_operator_predicts_the_ctms_free_flow(table_for: TableFor) -> None:
    """The demand fit reads link flows off a linear system (f = d + T f) instead of running
    the CTM: with light demand, after the network has filled, the CTM's hourly flows are
    those of the system, on every arc."""
    graph = table_for("comune", "road-graph").slice(0, 1500)
    net = mobility.build_network(graph, None, 5.0, 70.0)
    cells = mobility.cell_arrays(net, mobility.MobilityScenario(hours=3), True, 5.0)
    rng = np.random.default_rng(5)
    light = rng.uniform(0, 20, len(net.link_first))  # veh/h: far below every capacity
    _, _, flow = mobility.run(net, cells, np.tile(light, (3, 1)), 5.0)
    arcs = np.arange(len(net.link_first) // 2)
    op = mobility.loop_operator(net, arcs)
    simulated = (flow[2, 2 * arcs] + flow[2, 2 * arcs + 1]) / 2
    np.testing.assert_allclose(simulated, op @ light, rtol=0.02, atol=0.5)


def test_the_demand_fit_meets_the_counts_within_its_bounds(table_for: TableFor) -> None:
    graph = table_for("comune", "road-graph")
    counts = table_for("comune", "traffic-loop-counts")
    net = mobility.build_network(graph, None, 5.0, 70.0)
    scen = mobility.MobilityScenario()
    loops = mobility.loop_counts(net, counts, 24)
    assert len(loops.arc) >= mobility.MIN_LOOPS
    fitted, meta = mobility.demand(net, counts, scen, loops)
    prior, prior_meta = mobility.demand(
        net, counts, scen.model_copy(update={"calibrate": False}), loops
    )
    assert prior.sum() == pytest.approx(scen.daily_car_trips)
    assert prior_meta == {"trips_prior": round(scen.daily_car_trips)}
    assert meta["trips_fitted"] == round(fitted.sum())
    # between 0 and the share of capacity; no demand where the prior has none (the fast roads)
    info = np.array(list(mobility.CLASSES.values()))
    bound = mobility.CAPACITY_SHARE * info[net.link_class, 0] * info[net.link_class, 1]
    assert (fitted >= 0).all()
    assert (fitted <= bound * (1 + 1e-9)).all()
    assert (fitted[:, prior[0] == 0] == 0).all()
    # the counts it was fitted to: met in volume and shape (free flow)
    op = mobility.loop_operator(net, loops.arc)
    ok = np.isfinite(loops.mean)
    sim = (op @ fitted.T)[ok]
    assert sim.sum() / loops.mean[ok].sum() == pytest.approx(1.0, abs=0.15)
    assert np.corrcoef(sim, loops.mean[ok])[0, 1] > 0.8
    # loops it did not see: closer in volume than the prior
    before = (op @ prior.T)[ok].sum() / loops.mean[ok].sum()
    assert abs(np.log(meta["holdout_flow_ratio"])) < abs(np.log(before))
