"""Route choice for the CTM: turning shares from a congestion-aware traffic assignment.

The CTM moves vehicles by turning shares, not by routes. Split evenly at every junction, they
spread traffic over side streets as much as over the arterials, so the counted arterials see
a fraction of their traffic and a demand fitted to the counts has to push it in next to them
(docs/decisions/0016). Here the shares come from where trips go instead:

1. **Trips between statistical areas.** Each area sends and attracts trips in proportion to
   the prior demand entering its links (length and class); between two areas they fall off
   with the distance between them, exp(-d / trip_km) (a gravity model; 3 km unless the
   scenario says otherwise), trips within an area left out. Each trip starts on a link of
   its area as the prior does, and ends after the first link of its destination area.
2. **Assignment.** The trips of one busy hour are assigned to shortest paths, link by link
   (no U-turns but at dead ends), with link times rising with the flow (BPR: t0 (1 + 0.15
   (x / c)^4), t0 at the run's speed limit and c its capacity, lanes closed included), by the
   method of successive averages: ITERATIONS all-or-nothing loadings, the k-th weighted 1/k.
   The hour's load is set from the counts (models/mobility.py, `route_shares`): scaled so
   that the free-flow shortest paths put as many vehicles on the counted arcs as the loops
   count in their busiest hour (kept within 4x of the prior's busiest hour, for graphs whose
   counted arcs few routes reach).
3. **Shares.** Each link's share of its flow turning into each next link, and of trips ending
   after it, from the assigned turning flows; a link the assignment hardly uses keeps the
   even split (the two are blended with weight EVEN_WEIGHT veh/h for the even split). With
   these shares, f = d + T f gives back the assigned link flows.

The baseline and the scenario each get their own assignment (a 30 km/h limit on the streets
moves trips onto the boulevards). The shares hold for the whole day: the CTM's queues, not
route choice, respond to the hour.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np

from models.kernels import routes as kernel

TRIP_KM = 3.0  # default distance over which trips between two areas fall by a factor e
ITERATIONS = 8  # all-or-nothing loadings in the method of successive averages
BPR_ALPHA, BPR_BETA = 0.15, 4.0
EVEN_WEIGHT = 1.0  # veh/h of even split mixed into every link's assigned turning flows


@dataclass
class Graph:
    """What the trees need beyond the network's node lists."""

    tail: np.ndarray  # (links,) node each link leaves
    out_pos: np.ndarray  # (links,) its place among that node's outgoing links
    dead_end: np.ndarray  # (nodes,) bool: one arm only
    zone: np.ndarray  # (links,) statistical area index, -1 for none
    origin: np.ndarray  # (links,) each link's share of its area's trips
    od: np.ndarray  # (areas, areas) share of the trips going from one area to another


@dataclass
class Assignment:
    """Averaged flows of one assignment, per hour of its load."""

    link: np.ndarray
    turn: np.ndarray
    exit: np.ndarray
    gap: float  # relative gap of the last iteration (0 at equilibrium)


def graph(
    turns: dict[str, np.ndarray],
    node_out_start: np.ndarray,
    link_zone: np.ndarray,
    link_xy: np.ndarray,
    weight: np.ndarray,
    trip_km: float = TRIP_KM,
) -> Graph | None:
    """Areas as origins and destinations (None when fewer than two areas have links with a
    prior): production and attraction by the prior weight, a gravity model over the distance
    between the areas' weighted centres. `turns` is the network's turn table (its links'
    tails and places at their nodes)."""
    placed = (link_zone >= 0) & np.isfinite(link_xy).all(axis=1) & (weight > 0)
    zones = int(link_zone.max()) + 1 if placed.any() else 0
    mass = np.bincount(link_zone[placed], weight[placed], zones)
    if (mass > 0).sum() < 2:
        return None
    w, z = weight[placed], link_zone[placed]
    centre = (
        np.stack([np.bincount(z, w * link_xy[placed, k], zones) for k in (0, 1)], axis=1)
        / np.maximum(mass, 1e-300)[:, None]
    )
    dist = np.sqrt(((centre[:, None, :] - centre[None, :, :]) ** 2).sum(axis=2))
    od = mass[:, None] * mass[None, :] * np.exp(-dist / trip_km)
    np.fill_diagonal(od, 0.0)
    od /= od.sum()
    origin = np.where(placed, weight / np.maximum(mass[np.maximum(link_zone, 0)], 1e-300), 0.0)
    # trips start and end on links with a prior (not on the tangenziale), in their area
    zone = np.where(placed, link_zone, -1).astype(np.int64)
    dead_end = np.diff(node_out_start) <= 1
    return Graph(turns["tail"], turns["out_pos"], dead_end, zone, origin, od)


def _load(
    g: Graph,
    net_arrays: tuple[np.ndarray, ...],
    cost: np.ndarray,
    trips: float,
    n_turns: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One all-or-nothing loading of `trips` an hour at `cost`, destinations split over the
    cores (the kernel releases the GIL)."""
    node_in_start, node_in, reverse, turn_start = net_arrays
    targets = np.nonzero(g.od.sum(axis=0) > 0)[0]
    parts = np.array_split(targets, max(1, min(numba.get_num_threads(), len(targets))))
    od = g.od * trips

    def part(zones: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        link, turn, ends = np.zeros(len(cost)), np.zeros(n_turns), np.zeros(len(cost))
        total = kernel.all_or_nothing(
            cost, g.zone, zones, g.origin, od, g.tail, node_in_start, node_in, reverse,
            g.dead_end, turn_start, g.out_pos, link, turn, ends,
        )  # fmt: skip
        return link, turn, ends, total

    if len(parts) == 1:
        return part(parts[0])
    with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="aon") as pool:
        done = list(pool.map(part, parts))
    return (
        sum(d[0] for d in done),
        sum(d[1] for d in done),
        sum(d[2] for d in done),
        sum(d[3] for d in done),
    )  # type: ignore[return-value]


def zone_times(
    g: Graph, net_arrays: tuple[np.ndarray, ...], cost: np.ndarray, n_turns: int
) -> np.ndarray:
    """(zones, zones): the shortest travel time between every two zones at `cost` (in its
    units), averaged over the origin zone's links as its trips start on them; NaN where no
    trip gets through and on the diagonal. Destinations are split over the cores."""
    node_in_start, node_in, reverse, _turn_start = net_arrays
    n_zones = len(g.od)
    times = np.full((n_zones, n_zones), np.nan)
    targets = np.arange(n_zones)
    parts = np.array_split(targets, max(1, min(numba.get_num_threads(), n_zones)))

    def part(zones: np.ndarray) -> None:  # each part writes its own columns
        kernel.zone_times(
            cost, g.zone, zones, g.origin, g.tail, node_in_start, node_in, reverse,
            g.dead_end, n_zones, n_turns, times,
        )  # fmt: skip

    if len(parts) == 1:
        part(parts[0])
    else:
        with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="times") as pool:
            list(pool.map(part, parts))
    return times


def assign(
    g: Graph,
    net_arrays: tuple[np.ndarray, ...],
    n_turns: int,
    free_time: np.ndarray,
    capacity: np.ndarray,
    trips: float,
    iterations: int = ITERATIONS,
) -> Assignment:
    """The method of successive averages with BPR link times; `net_arrays` is (node_in_start,
    node_in, reverse, turn_start)."""
    link = turn = ends = None
    gap = 0.0
    for k in range(iterations):
        if link is None:
            cost = free_time
        else:
            cost = free_time * (1.0 + BPR_ALPHA * (link / capacity) ** BPR_BETA)
        y_link, y_turn, y_ends, shortest = _load(g, net_arrays, cost, trips, n_turns)
        if link is None:
            link, turn, ends = y_link, y_turn, y_ends
            continue
        current = float(cost @ link)
        gap = (current - shortest) / current if current > 0 else 0.0
        step = 1.0 / (k + 1)
        link += step * (y_link - link)
        turn += step * (y_turn - turn)
        ends += step * (y_ends - ends)
    if link is None or turn is None or ends is None:
        raise ValueError("an assignment needs at least one iteration")
    return Assignment(link, turn, ends, round(max(gap, 0.0), 4))


def shares(
    flows: Assignment, src: np.ndarray, even: np.ndarray, even_weight: float = EVEN_WEIGHT
) -> np.ndarray:
    """Turning shares from the assigned turning flows, blended with the even split by
    `even_weight` veh/h (a link no trip uses keeps the even split)."""
    total = flows.link[src] + even_weight
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, (flows.turn + even_weight * even) / safe, even)


def counted_load(
    g: Graph,
    net_arrays: tuple[np.ndarray, ...],
    n_turns: int,
    free_time: np.ndarray,
    counted_links: np.ndarray,
    counted_peak: float,
) -> float:
    """Trips an hour at which free-flow shortest paths put `counted_peak` vehicles on the
    counted links (all-or-nothing flows scale with the load)."""
    per_trip, _, _, _ = _load(g, net_arrays, free_time, 1.0, n_turns)
    on_counted = float(per_trip[counted_links].sum())
    return counted_peak / on_counted if on_counted > 0 else 0.0
