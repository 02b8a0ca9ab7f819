"""Route choice for the CTM (models/routes.py): equilibrium, bookkeeping, and what it changes."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pytest

from models import mobility, routes
from tests.models.conftest import TableFor, shared_dir


def _arrays(net: mobility.Network) -> tuple[np.ndarray, ...]:
    return net.node_in_start, net.node_in, net.reverse, net.turns["start"]


def _two_routes() -> tuple[mobility.Network, routes.Graph, dict[str, list[int]]]:
    """Area 0's street (node 0 -> 1) reaches area 1's street (3 -> 6) by a short one-lane
    street (1 -> 2 -> 3, 1 km) or a longer two-lane boulevard (1 -> 4 -> 5 -> 3, 1.5 km)."""
    arcs = [
        (0, 1, "VIA ORIGINE", 200.0),
        (1, 2, "VIA CORTA", 500.0),
        (2, 3, "VIA CORTA", 500.0),
        (1, 4, "VIALE LUNGO", 500.0),
        (4, 5, "VIALE LUNGO", 500.0),
        (5, 3, "VIALE LUNGO", 500.0),
        (3, 6, "VIA ARRIVO", 200.0),
    ]
    graph = pa.table(
        {
            "arc_code": list(range(len(arcs))),
            "street": [s for _, _, s, _ in arcs],
            "node_from": [a for a, _, _, _ in arcs],
            "node_to": [b for _, b, _, _ in arcs],
            "length_m": [m for _, _, _, m in arcs],
            "lat": [44.49 + 0.002 * i for i in range(len(arcs))],
            "lon": [11.34] * len(arcs),
        }
    )
    net = mobility.build_network(graph, None, 5.0, 50.0)
    street = {"VIA ORIGINE": 0, "VIA ARRIVO": 1}
    zone = np.array([street.get(s, -1) for s in net.link_street])
    weight = (zone >= 0).astype(float)
    g = routes.graph(net.turns, net.node_out_start, zone, net.link_xy, weight)
    assert g is not None
    links = {s: list(np.flatnonzero(net.link_street == s)) for s in set(net.link_street)}
    return net, g, links


def _route_time(net: mobility.Network, flows: routes.Assignment, street: str) -> float:
    lanes, cap, limit = mobility.link_limits(net, mobility.MobilityScenario(), True)
    t0 = net.link_len_km / limit
    time = t0 * (1 + routes.BPR_ALPHA * (flows.link / (lanes * cap)) ** routes.BPR_BETA)
    hit = net.link_street == street
    forward = hit & (np.arange(len(hit)) % 2 == 0)  # built from node_from -> node_to
    return float(time[forward].sum())


def test_light_traffic_takes_the_quickest_route_and_heavy_traffic_both() -> None:
    net, g, links = _two_routes()
    lanes, cap, limit = mobility.link_limits(net, mobility.MobilityScenario(), True)
    free = net.link_len_km / limit
    n_turns = len(net.turns["src"])
    light = routes.assign(g, _arrays(net), n_turns, free, lanes * cap, 20.0)
    short = [k for k in links["VIA CORTA"] if k % 2 == 0]
    long_ = [k for k in links["VIALE LUNGO"] if k % 2 == 0]
    assert light.link[short].min() == pytest.approx(10.0)  # half the trips go 0 -> 1
    assert light.link[long_].max() == 0.0
    # 3,000 trips an hour: the one-lane street (900 veh/h) cannot take 1,500 on its own
    heavy = routes.assign(g, _arrays(net), n_turns, free, lanes * cap, 3000.0, iterations=40)
    assert heavy.link[long_].min() > 100.0
    assert heavy.link[short].min() > 100.0
    # Wardrop: the routes in use take about the same time
    t_short, t_long = _route_time(net, heavy, "VIA CORTA"), _route_time(net, heavy, "VIALE LUNGO")
    assert t_short == pytest.approx(t_long, rel=0.05)
    assert heavy.gap < 0.01
    # every trip from area 0 takes one of the two
    assert heavy.link[short[0]] + heavy.link[long_[0]] == pytest.approx(1500.0)


def test_assigned_shares_keep_the_flows_and_make_no_u_turns(table_for: TableFor) -> None:
    """Trips are conserved link by link (in = entering + turned in, out = turned out + ended),
    nobody turns back except at a dead end, and the CTM's free-flow system run with the
    assignment's shares gives back the assigned link flows."""
    net = mobility.build_network(
        table_for("comune", "road-graph"), table_for("comune", "statistical-areas"), 5.0, 70.0
    )
    weight = mobility.prior_weight(net)
    g = routes.graph(net.turns, net.node_out_start, net.link_area, net.link_xy, weight)
    assert g is not None
    lanes, cap, limit = mobility.link_limits(net, mobility.MobilityScenario(), True)
    t = net.turns
    flows = routes.assign(
        g, _arrays(net), len(t["src"]), net.link_len_km / limit, lanes * cap, 20_000.0, 3
    )
    n = len(net.link_first)
    out = np.bincount(t["src"], flows.turn, n) + flows.exit
    np.testing.assert_allclose(out, flows.link, rtol=1e-9, atol=1e-6)
    entering = flows.link - np.bincount(t["dst"], flows.turn, n)
    assert entering.min() > -1e-6
    # trips that find no way would be dropped: both graphs are (almost all) connected
    assert 0.95 * 20_000.0 < entering.sum() <= 20_000.0 * (1 + 1e-9)
    assert (entering[g.zone < 0] < 1e-6).all()  # trips start only on links of an area
    u_turn = t["dst"] == net.reverse[t["src"]]
    dead = g.dead_end[g.tail[t["dst"]]]
    assert flows.turn[u_turn & ~dead].max() == 0.0
    share = routes.shares(flows, t["src"], net.even_share, even_weight=0.0)
    # f = d + T f, solved through the loop operator, on every 8th arc (all 8,014 take ~12 s:
    # the operator's rows are independent, so a spread sample checks the same algebra)
    arcs = np.arange(0, n // 2, 8)
    op = mobility.loop_operator(net, arcs, share)
    np.testing.assert_allclose(
        op @ entering, (flows.link[2 * arcs] + flows.link[2 * arcs + 1]) / 2, rtol=1e-6, atol=1e-6
    )


def test_a_30_kmh_city_moves_traffic_onto_the_boulevards(table_for: TableFor) -> None:
    net = mobility.build_network(
        table_for("comune", "road-graph"), table_for("comune", "statistical-areas"), 5.0, 70.0
    )
    weight = mobility.prior_weight(net)
    g = routes.graph(net.turns, net.node_out_start, net.link_area, net.link_xy, weight)
    assert g is not None
    scen = mobility.MobilityScenario(speed_limits={"street": 30, "minor": 30})
    boulevard = net.link_class == list(mobility.CLASSES).index("boulevard")
    share = []
    for baseline in (True, False):
        lanes, cap, limit = mobility.link_limits(net, scen, baseline)
        flows = routes.assign(
            g, _arrays(net), len(net.turns["src"]), net.link_len_km / limit, lanes * cap, 40_000.0
        )
        vkm = flows.link * net.link_len_km
        share.append(vkm[boulevard].sum() / vkm.sum())
    assert share[1] > share[0] + 0.05


class DayRoutes(NamedTuple):
    net: mobility.Network
    counts: pa.Table
    loops: mobility.LoopCounts
    shares: list[Any]
    meta: dict[str, Any]


@pytest.fixture(scope="module")
def day_routes(table_for: TableFor) -> DayRoutes:
    """The city's network and its default scenario's route choice for a day (~2 s to compute;
    three tests read it)."""
    counts = table_for("comune", "traffic-loop-counts")
    net = mobility.build_network(
        table_for("comune", "road-graph"), table_for("comune", "statistical-areas"), 5.0, 70.0
    )
    loops = mobility.loop_counts(net, counts, 24)
    shares, meta = mobility.route_shares(net, counts, mobility.MobilityScenario(hours=24), loops)
    return DayRoutes(net, counts, loops, shares, meta)


@pytest.mark.skipif(shared_dir() is None, reason="needs the real road graph and loop counts")
def test_route_choice_predicts_held_out_loops_better_than_an_even_split(
    day_routes: DayRoutes,
) -> None:
    net, counts, loops, shares, meta = day_routes
    scen = mobility.MobilityScenario()
    assert shares[0] is not None
    assert meta["route_choice_gap"] < 0.02
    routed = mobility.demand(net, counts, scen, loops, shares[0])[1]
    even = mobility.demand(net, counts, scen, loops)[1]
    assert routed["holdout_correlation"] > even["holdout_correlation"] + 0.1
    off = mobility.route_shares(net, counts, scen.model_copy(update={"route_choice": False}), loops)
    assert off == ([None, None], {})


def test_the_trip_length_sets_how_far_trips_go(table_for: TableFor) -> None:
    """The gravity model behind route choice: a longer trip length sends more of each area's
    trips to distant areas; the scenario parameter reaches it."""
    net = mobility.build_network(
        table_for("comune", "road-graph"), table_for("comune", "statistical-areas"), 5.0, 70.0
    )
    weight = mobility.prior_weight(net)
    mean_km = []
    for km in (1.0, 10.0):
        g = routes.graph(net.turns, net.node_out_start, net.link_area, net.link_xy, weight, km)
        assert g is not None
        assert g.od.sum() == pytest.approx(1.0)
        assert np.diag(g.od).sum() == 0.0  # trips within an area are left out
        placed = g.zone >= 0
        zones = g.od.shape[0]
        mass = np.bincount(g.zone[placed], weight[placed], zones)
        centre = (
            np.stack(
                [
                    np.bincount(g.zone[placed], weight[placed] * net.link_xy[placed, k], zones)
                    for k in (0, 1)
                ],
                axis=1,
            )
            / np.maximum(mass, 1e-300)[:, None]
        )
        dist = np.linalg.norm(centre[:, None] - centre[None, :], axis=2)
        mean_km.append(float((g.od * dist).sum()))
    assert mean_km[1] > 1.5 * mean_km[0]
    with pytest.raises(ValueError, match="trip_length_km"):
        mobility.MobilityScenario(trip_length_km=0)


def test_the_trees_equal_scipys_dijkstra_on_the_turn_graph(table_for: TableFor) -> None:
    """The compiled link-based trees against SciPy's Dijkstra on a graph whose vertices are
    the links and whose edges are the allowed turns (no U-turn but at dead ends), plus a sink
    the destination area's links lead to: the time to the destination from every link."""
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra

    from models.kernels import routes as kernel

    net = mobility.build_network(
        table_for("comune", "road-graph"), table_for("comune", "statistical-areas"), 5.0, 70.0
    )
    weight = mobility.prior_weight(net)
    g = routes.graph(net.turns, net.node_out_start, net.link_area, net.link_xy, weight)
    assert g is not None
    n = len(net.link_first)
    rng = np.random.default_rng(11)
    cost = net.link_len_km / 50.0 * rng.uniform(1.0, 3.0, n)  # congested unevenly
    t = net.turns
    allowed = (t["dst"] != net.reverse[t["src"]]) | g.dead_end[g.tail[t["dst"]]]
    for z in np.unique(g.zone[g.zone >= 0])[:: max(1, len(np.unique(g.zone)) // 6)]:
        ends = g.zone == z
        togo = np.empty(n)
        nxt = np.empty(n, np.int64)
        order = np.empty(n, np.int64)
        key = np.empty(len(t["src"]) + n + 1)
        val = np.empty(len(t["src"]) + n + 1, np.int64)
        done = np.empty(n, np.bool_)
        count = kernel._tree(
            cost, ends, g.tail, net.node_in_start, net.node_in, net.reverse, g.dead_end,
            togo, nxt, order, key, val, done,
        )  # fmt: skip
        # reversed turn graph: edge b -> a costs cost[a] (a trip on a continues on b);
        # the sink (vertex n) reaches each ending link a at cost[a]; trips end after them
        go = allowed & ~ends[t["src"]]
        rows = np.r_[t["dst"][go], np.full(ends.sum(), n)]
        cols = np.r_[t["src"][go], np.flatnonzero(ends)]
        vals = np.r_[cost[t["src"][go]], cost[ends]]
        graph = sparse.csr_matrix((vals, (rows, cols)), shape=(n + 1, n + 1))
        expected = dijkstra(graph, indices=n)[:n]
        np.testing.assert_allclose(togo, expected, rtol=1e-12)
        assert count == np.isfinite(expected).sum()
        # each link's next one is on a shortest path
        on = nxt >= 0
        np.testing.assert_allclose(togo[on], cost[on] + togo[nxt[on]], rtol=1e-12)


def test_the_assigned_load_follows_the_counts_within_bounds(day_routes: DayRoutes) -> None:
    """The assigned hour's load is scaled to the counts' busiest hour, but stays within
    LOAD_RANGE of the prior's busiest hour: counts a thousand times larger do not make a
    thousand times the traffic."""
    net, counts, loops, _, meta = day_routes
    scen = mobility.MobilityScenario(hours=24)
    prior = mobility.hourly_profile(counts, 24).max() * scen.daily_car_trips
    huge = mobility.LoopCounts(loops.arc, loops.code, loops.mean * 1000)
    _, clipped = mobility.route_shares(net, counts, scen, huge)
    assert clipped["route_choice_load"] == round(prior * mobility.LOAD_RANGE)
    tiny = mobility.LoopCounts(loops.arc, loops.code, loops.mean / 1000)
    _, low = mobility.route_shares(net, counts, scen, tiny)
    assert low["route_choice_load"] == round(prior / mobility.LOAD_RANGE)
    assert low["route_choice_load"] < meta["route_choice_load"] <= clipped["route_choice_load"]


def test_routes_do_not_depend_on_how_many_hours_are_simulated(day_routes: DayRoutes) -> None:
    """The load is set from the whole day's counts, so a two-hour run (which finds its loops
    itself) routes as the day's."""
    net, counts, _, day_shares, day_meta = day_routes
    short = mobility.route_shares(net, counts, mobility.MobilityScenario(hours=2))
    assert short[1] == day_meta
    np.testing.assert_array_equal(short[0][0], day_shares[0])


def test_travel_times_take_the_quickest_path_at_the_hours_link_times() -> None:
    """From area 0's street to area 1's: the short street while it is quick, the boulevard
    once the short street is slowed, by exactly the difference of the two paths."""
    net, g, links = _two_routes()
    arrays = _arrays(net)
    n_turns = len(net.turns["src"])
    cost = np.ones(len(net.link_first))  # a minute a link
    free = routes.zone_times(g, arrays, cost, n_turns)
    assert free.shape == (2, 2)
    assert np.isnan(free[0, 0])
    assert np.isnan(free[1, 1])
    assert np.isfinite(free[1, 0])  # the way back exists too
    slow = cost.copy()
    slow[links["VIA CORTA"]] = 5.0  # the short street (2 links) now takes 10 min, the long 3
    jammed = routes.zone_times(g, arrays, slow, n_turns)
    assert jammed[0, 1] == pytest.approx(free[0, 1] + 1.0)
    # mobility's wrapper: link minutes from the hour's traffic, areas padded to the city's 90
    limit = np.full(len(net.link_first), 50.0)
    vkm = np.zeros((1, net.cells))
    times = mobility.travel_times(net, g, vkm[0], vkm[0], limit)
    assert times.shape == (90, 90)
    minutes = mobility.link_minutes(net, vkm[0], vkm[0], limit)
    np.testing.assert_allclose(minutes, net.link_len_km / 50.0 * 60.0)  # nobody drove: limit
    assert np.isfinite(times[0, 1])
    assert np.isnan(times[2:, :]).all()


def test_a_kept_calibration_gives_the_same_run_and_new_data_a_new_one(
    day_routes: DayRoutes,
) -> None:
    """A scenario on the same data reuses the baseline's route choice and fitted demand
    (planners wait seconds, not a minute), with the very numbers it would have fitted; a
    changed table has another digest, so its calibration is made afresh."""
    net, counts, loops, shares, _ = day_routes
    scen = mobility.MobilityScenario(hours=24, speed_limits={"street": 30})
    tables = {"traffic-loop-counts": counts}
    key = (*mobility.calibration_key(tables, scen, 70.0), "test")
    first = mobility.calibrate(net, counts, scen, loops, key)
    again = mobility.calibrate(net, counts, scen, loops, key)
    assert (first[4], again[4]) == (False, True)
    np.testing.assert_array_equal(first[0][0], shares[0])  # what no cache would have made
    for a, b in zip(first[0], again[0], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first[2], again[2])
    assert (first[1], first[3]) == (again[1], again[3])
    assert not again[2].flags.writeable  # a run cannot change the kept demand
    # the digest follows the content, not the object
    copy = pa.Table.from_pylist(counts.slice(0, 50).to_pylist(), schema=counts.schema)
    assert mobility.table_digest(copy) == mobility.table_digest(counts.slice(0, 50))
    changed = copy.set_column(
        copy.schema.get_field_index("vehicles"), "vehicles",
        pa.array([v + 1 for v in copy.column("vehicles").to_pylist()], pa.int32()),
    )  # fmt: skip
    assert mobility.table_digest(changed) != mobility.table_digest(copy)


def test_a_scenario_on_a_kept_baseline_equals_one_run_from_scratch(table_for: TableFor) -> None:
    """The second scenario on a baseline simulates only itself (the baseline's CTM run is kept
    with its calibration), and its outputs are those of a run that kept nothing."""
    stage = mobility.MODEL.stages[0]
    tables = {d: table_for("comune", d) for d in stage.datasets}
    base = {"hours": 1, "calibrate": False, "route_choice": False, "daily_car_trips": 123_456}
    first = stage.run_local(tables, mobility.MODEL.parse(base), {})
    scen = mobility.MODEL.parse({**base, "speed_limits": {"street": 30}})
    kept = stage.run_local(tables, scen, {})
    assert kept.meta["calibration_reused"]
    for key in ("vkm_base", "vht_base", "tt_centre_base"):
        np.testing.assert_array_equal(kept.arrays[key], first.arrays[key])
    with mobility._calibrations_lock:
        mobility._calibrations.clear()
    fresh = stage.run_local(tables, scen, {})
    assert not fresh.meta["calibration_reused"]
    assert set(fresh.arrays) == set(kept.arrays)
    for key, values in fresh.arrays.items():
        np.testing.assert_array_equal(kept.arrays[key], values, err_msg=key)
