"""Mobility: a cell transmission model of the city's road graph (the 30 km/h city, tram works).

One stage, run where the road graph, the loop counts and the statistical areas are (comune):

1. **Network.** Every arc of the municipal graph is a link in each direction. Its road class
   comes from the street name (tangenziale and motorway ramps, viali, ordinary streets, minor
   ways: piazze, vicoli, stradelli) and sets lanes, capacity and the baseline speed limit. Links
   are cut into cells no shorter than one step at the fastest speed either run uses. Each link
   belongs to the statistical area whose centroid is nearest its midpoint.
2. **Demand.** A prior: the day's car trips (a scenario parameter, 600,000 by default) shaped
   over the hours by the loop counts' mean hourly profile, entering the links in proportion to
   length and class. It is then fitted to the counts joined by arc code (mean per hour over
   the counted days; the two directions of an arc averaged, as the register does not say which
   one a loop sees): generalised least squares on the free-flow link flows, hour by hour,
   entering demand bounded by a share of each link's capacity, and cross-validated on held-out
   loops. The result reports the fitted trips, the held-out fit and the baseline's fit.
3. **Routes.** Turning shares come from an assignment of trips between the statistical areas
   to shortest paths under congestion (models/routes.py), one for the baseline and one for
   the scenario; the fit above reads the baseline's.
4. **Runs.** The baseline and the scenario (speed limit per class, lanes removed on named
   streets) run 24 hours at `step_seconds`. Per area and hour the result has vehicle-km,
   vehicle-hours and mean speed of both runs, and the change.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numba
import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import sparse
from scipy.sparse import linalg as splinalg

from models import common, routes, sweeps
from models.base import Context, Model, Partial, Stage, Tables
from models.kernels import ctm as kernel

# class -> (lanes, capacity veh/h/lane, baseline limit km/h, unit demand weight)
CLASSES: dict[str, tuple[int, float, float, float]] = {
    "fast": (2, 1800.0, 70.0, 0.0),
    "boulevard": (2, 1500.0, 50.0, 2.0),
    "street": (1, 900.0, 50.0, 1.0),
    "minor": (1, 600.0, 50.0, 0.3),
}
JAM_VEH_PER_KM_LANE = 150.0
CAPACITY_SHARE = 0.3  # fitted demand entering a link: at most this share of its capacity
RIDGE = 1e-3  # pull of the prior in the fit to the loop counts, relative to the mean count
FIT_PASSES = 20  # refits after links reach a bound
MIN_LOOPS = 3  # counted arcs needed to fit the demand (and to report a fit)
LOAD_RANGE = 4.0  # route choice's load set from the counts: within this factor of the prior's
MIN_LIMIT, MAX_LIMIT = 5.0, 130.0  # km/h a scenario may set (a walking-pace zone to a motorway)
# What a sweep may vary (decision 0033): a class's speed limit. The route choice and the demand
# fit of the baseline are the same for every point (decision 0032), so the points are one
# scenario assignment and one column of the CTM kernel each.
SWEEPABLE = tuple(f"speed_limits.{c}" for c in ("fast", "boulevard", "street", "minor"))
EXIT_SHARE = 0.05  # share of vehicles whose trip ends at each junction (~20 links a trip)
FAST_WORDS = ("TANGENZIALE", "AUTOSTRADA", "RACCORDO", "ASSE ", "COMPLANARE", "RAMPA")
MINOR_WORDS = ("PIAZZA", "PIAZZALE", "VICOLO", "STRADELLO", "LARGO", "PORTICO", "GALLERIA", "CORTE")


def road_class(street: str) -> str:
    """The road class a street name implies."""
    name = (street or "").upper().strip()
    if any(w in name for w in FAST_WORDS):
        return "fast"
    if name.startswith(("VIALE", "VIALI")):
        return "boulevard"
    if name.startswith(MINOR_WORDS):
        return "minor"
    return "street"


class LaneClosure(BaseModel):
    """Lanes removed on a street (e.g. for tram works); one lane always stays, at half capacity
    when the street had only one."""

    model_config = ConfigDict(extra="forbid")

    street: str = Field(
        min_length=2, max_length=120, description="street name, as in the road graph"
    )
    lanes: int = Field(1, ge=1, le=3, description="lanes removed in each direction")


class MobilityScenario(BaseModel):
    """Speed limits per road class and lane closures, against the baseline limits."""

    model_config = ConfigDict(extra="forbid")

    speed_limits: dict[str, float] = Field(
        default_factory=dict, description="km/h per class: fast, boulevard, street, minor"
    )
    closures: list[LaneClosure] = Field(
        default_factory=list,
        max_length=200,
        description='lanes closed, e.g. [{"street": "VIA IRNERIO", "lanes": 1}]',
    )
    daily_car_trips: float = Field(
        600_000,
        gt=0,
        le=5_000_000,
        description="car trips a day in the prior demand (before the fit to the loop counts)",
    )
    calibrate: bool = Field(
        True, description="fit the demand to the loop counts (false: the prior alone)"
    )
    route_choice: bool = Field(
        True,
        description="turning shares from a congestion-aware assignment of trips between "
        "statistical areas, one per run (false: an even split at every junction)",
    )
    trip_length_km: float = Field(
        routes.TRIP_KM,
        ge=0.5,
        le=20,
        description="route choice: distance over which trips between two areas fall off by a "
        "factor e (an assumption: no origin-destination data at this holder)",
    )
    step_seconds: float = Field(5.0, ge=1, le=30, description="simulation time step (s)")
    hours: int = Field(24, ge=1, le=24, description="hours simulated from midnight")
    junction: Literal["shares", "turns"] = Field(
        "shares",
        description="how a link's end queues (decision 0036): 'shares' splits what it sends "
        "by the turning shares every step, so a vehicle held back by a full link may leave by "
        "another; 'turns' keeps each turn's vehicles until they pass, so a full link's queue "
        "fills the link behind it (spillback), as SUMO's junctions do",
    )
    give_up_seconds: float = Field(
        300.0,
        ge=30,
        le=3600,
        description="with junction 'turns': how long a driver held back at a turn waits, on "
        "average, before taking another way (s; SUMO's default time-to-teleport is 300 s)",
    )
    sweep: sweeps.Sweep | None = Field(
        None,
        description="several scenarios in one job: a class's speed limit over values or a "
        f"range, one of {', '.join(SWEEPABLE)} (decision 0033), e.g. "
        '{"parameter": "speed_limits.street", "start": 20, "stop": 50, "step": 5}',
    )

    @model_validator(mode="after")
    def _sweep_points(self) -> MobilityScenario:
        if self.sweep is not None and self.sweep.monte_carlo:
            raise ValueError(
                "mobility-ctm sweeps a speed limit over values; it takes no Monte Carlo sample"
            )
        self.points()  # every point of a sweep is a valid scenario, or the job is refused
        return self

    def points(self) -> list[MobilityScenario]:
        """The scenarios of the sweep (validated), [] without one."""
        return [p for p in sweeps.expand(self, SWEEPABLE) if isinstance(p, MobilityScenario)]

    @field_validator("speed_limits")
    @classmethod
    def _known_classes(cls, limits: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(limits) - set(CLASSES))
        if unknown:
            raise ValueError(
                f"no road class {', '.join(map(repr, unknown))}; known: {', '.join(CLASSES)}"
            )
        wrong = {k: v for k, v in limits.items() if not MIN_LIMIT <= v <= MAX_LIMIT}
        if wrong:
            raise ValueError(f"speed limits are {MIN_LIMIT:g} to {MAX_LIMIT:g} km/h, not {wrong}")
        return limits

    def limit(self, cls: str) -> float:
        """The scenario's limit for a class (the baseline's when not set)."""
        return float(self.speed_limits.get(cls, CLASSES[cls][2]))


@dataclass
class Network:
    """Cells, links and nodes in the arrays the kernel reads."""

    link_arc: np.ndarray
    link_class: np.ndarray  # index into CLASSES
    link_area: np.ndarray
    link_street: np.ndarray
    link_len_km: np.ndarray
    link_xy: np.ndarray  # (links, 2) km east and north of the graph's south-west corner
    link_first: np.ndarray
    link_last: np.ndarray
    cell_link: np.ndarray
    reverse: np.ndarray
    node_in_start: np.ndarray  # incoming links of each node (CSR)
    node_in: np.ndarray
    node_out_start: np.ndarray  # outgoing links of each node (CSR)
    node_out: np.ndarray
    junctions: dict[str, np.ndarray]  # nodes as arms: the kernel's
    turns: dict[str, np.ndarray]  # every turning movement (start, src, dst): shares index it

    @functools.cached_property
    def even_share(self) -> np.ndarray:
        """Turning shares without routes: even over the outgoing links but the U-turn."""
        return kernel.even_shares(self.turns, self.reverse, EXIT_SHARE)

    @property
    def cells(self) -> int:
        """Number of cells."""
        return len(self.cell_link)


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    start = np.searchsorted(keys[order], np.arange(n + 1)).astype(np.int64)
    return start, order.astype(np.int64)


def build_network(graph: pa.Table, areas: pa.Table | None, step_s: float, v_max: float) -> Network:
    """Links in both directions, cells no shorter than v_max x step, nodes in CSR form."""
    arc = graph.column("arc_code").to_numpy(zero_copy_only=False).astype(np.int64)
    a = graph.column("node_from").to_numpy(zero_copy_only=False).astype(np.int64)
    b = graph.column("node_to").to_numpy(zero_copy_only=False).astype(np.int64)
    length = np.maximum(graph.column("length_m").to_numpy(zero_copy_only=False), 5.0) / 1000.0
    names = np.array(graph.column("street").to_pylist(), dtype=object)
    cls = np.array([list(CLASSES).index(road_class(s)) for s in names])
    lat = graph.column("lat").to_numpy(zero_copy_only=False)
    lon = graph.column("lon").to_numpy(zero_copy_only=False)
    area = _nearest_area(lat, lon, areas)
    keep = (a != b) & np.isfinite(length)
    xy = _km(lat, lon)
    arc, a, b, length, names, cls, area, xy = (
        x[keep] for x in (arc, a, b, length, names, cls, area, xy)
    )
    # Arcs in a space-filling (Morton) order, both directions side by side: the kernel's
    # gathers then mostly hit memory a neighbour just used.
    order = np.argsort(_morton(lat[keep], lon[keep]), kind="stable")
    arc, a, b, length, names, cls, area, xy = (
        x[order] for x in (arc, a, b, length, names, cls, area, xy)
    )
    n_arcs = len(arc)
    # link 2k goes a -> b, link 2k + 1 is its reverse b -> a
    frm = np.stack([a, b], axis=1).ravel()
    to = np.stack([b, a], axis=1).ravel()
    nodes, idx = np.unique(np.concatenate([frm, to]), return_inverse=True)
    frm_i, to_i = idx[: 2 * n_arcs], idx[2 * n_arcs :]
    reverse = np.arange(2 * n_arcs, dtype=np.int64) ^ 1
    link_len = np.repeat(length, 2)
    n_cells = np.maximum(1, np.floor(link_len / (v_max * step_s / 3600.0))).astype(np.int64)
    last = np.cumsum(n_cells) - 1
    first = last - n_cells + 1
    in_start, node_in = _csr(to_i, len(nodes))
    out_start, node_out = _csr(frm_i, len(nodes))
    return Network(
        link_arc=np.repeat(arc, 2),
        link_class=np.repeat(cls, 2),
        link_area=np.repeat(area, 2),
        link_street=np.repeat(names, 2),
        link_len_km=link_len,
        link_xy=np.repeat(xy, 2, axis=0),
        link_first=first.astype(np.int64),
        link_last=last.astype(np.int64),
        cell_link=np.repeat(np.arange(2 * n_arcs), n_cells),
        reverse=reverse,
        node_in_start=in_start,
        node_in=node_in,
        node_out_start=out_start,
        node_out=node_out,
        junctions=kernel.junctions(out_start, node_out, first, last),
        turns=kernel.turn_table(in_start, node_in, out_start, node_out),
    )


def _km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, 2) positions in km from the south-west corner (equirectangular: the city is small)."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return np.full((len(lat), 2), np.nan)
    lat0, lon0 = np.nanmin(lat[ok]), np.nanmin(lon[ok])
    east = (lon - lon0) * 111.32 * np.cos(np.radians(np.nanmean(lat[ok])))
    return np.stack([east, (lat - lat0) * 111.32], axis=1)


def _morton(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Z-order key of positions quantised to a 1024 x 1024 grid (NaN positions last)."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return np.zeros(len(lat), dtype=np.int64)

    def grid(v: np.ndarray) -> np.ndarray:
        lo, hi = np.nanmin(v[ok]), np.nanmax(v[ok])
        return np.clip(
            (np.nan_to_num(v, nan=hi) - lo) / max(hi - lo, 1e-12) * 1023, 0, 1023
        ).astype(np.int64)

    x, y = grid(lon), grid(lat)
    key = np.zeros(len(lat), dtype=np.int64)
    for bit in range(10):
        key |= ((x >> bit) & 1) << (2 * bit) | ((y >> bit) & 1) << (2 * bit + 1)
    return np.where(ok, key, 1 << 21)


def _nearest_area(lat: np.ndarray, lon: np.ndarray, areas: pa.Table | None) -> np.ndarray:
    """Index into common.AREAS of the nearest area centroid (-1 with no areas table)."""
    if areas is None:
        return np.full(len(lat), -1)
    codes = common.area_index(areas.column("area_code").to_numpy(zero_copy_only=False))
    c_lat = areas.column("centroid_lat").to_numpy(zero_copy_only=False)
    c_lon = areas.column("centroid_lon").to_numpy(zero_copy_only=False)
    scale = np.cos(np.radians(44.5))
    out = np.empty(len(lat), dtype=np.int64)
    for s in range(0, len(lat), 2048):
        d = (lat[s : s + 2048, None] - c_lat[None, :]) ** 2 + (
            (lon[s : s + 2048, None] - c_lon[None, :]) * scale
        ) ** 2
        out[s : s + 2048] = codes[np.argmin(d, axis=1)]
    return np.where(np.isfinite(lat), out, -1)


def link_limits(
    net: Network, scen: MobilityScenario, baseline: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per link of one run: lanes, capacity per lane (veh/h) and speed limit (km/h)."""
    info = np.array(list(CLASSES.values()))
    lanes = info[net.link_class, 0].copy()
    cap_lane = info[net.link_class, 1].copy()
    limit = info[net.link_class, 2].copy()
    if not baseline:
        names = list(CLASSES)
        limit = np.array([scen.limit(names[c]) for c in range(len(names))])[net.link_class]
        if scen.closures:
            streets = np.char.upper(net.link_street.astype(str))
        for closure in scen.closures:
            hit = streets == closure.street.upper()
            if not hit.any():
                raise ValueError(f"lane closure: no street named '{closure.street}' in the graph")
            halved = hit & (lanes <= closure.lanes)
            lanes = np.where(hit, np.maximum(lanes - closure.lanes, 1), lanes)
            cap_lane = np.where(halved, cap_lane / 2, cap_lane)
    return lanes, cap_lane, limit


def cell_arrays(
    net: Network, scen: MobilityScenario, baseline: bool, step_s: float
) -> dict[str, np.ndarray]:
    """Per-cell jam size, capacity per step, and the v and w ratios of one run; and, as a
    0-d array, the share of a held-back turn's vehicles that give it up each step (junction
    'turns'; -1: the junction splits by the shares)."""
    lanes, cap_lane, limit = link_limits(net, scen, baseline)
    n_cells = net.link_last - net.link_first + 1
    cell_len = (net.link_len_km / n_cells)[net.cell_link]
    lanes_c, cap_c, v_c = lanes[net.cell_link], cap_lane[net.cell_link], limit[net.cell_link]
    jam = JAM_VEH_PER_KM_LANE * lanes_c * cell_len
    q_max = np.minimum(cap_c, 0.9 * v_c * JAM_VEH_PER_KM_LANE)  # keep the triangle proper
    w = q_max / (JAM_VEH_PER_KM_LANE - q_max / v_c)  # backward wave speed, km/h
    dt_h = step_s / 3600.0
    return {
        "jam": jam,
        "cap": q_max * lanes_c * dt_h,
        "v": np.minimum(v_c * dt_h / cell_len, 1.0),
        "w": np.minimum(w * dt_h / cell_len, 1.0),
        "len": cell_len,
        "give_up": np.array(step_s / scen.give_up_seconds if scen.junction == "turns" else -1.0),
    }


Runs = tuple[np.ndarray, np.ndarray, np.ndarray]


def run(
    net: Network,
    cells: dict[str, np.ndarray],
    demand_veh_h: np.ndarray,
    step_s: float,
    share: np.ndarray | None = None,
    numpy: bool = False,
    one_core: bool = False,
) -> Runs:
    """vkm and vht (hours × cells) and vehicles leaving each link (hours × links), with the
    turning shares `share` (indexed like net.turns; default: the even split). The compiled
    kernel splits each step over every core, or with `one_core` runs on the calling thread
    (see `run_many`)."""
    hours = demand_veh_h.shape[0]
    steps = int(round(3600.0 / step_s))
    vkm = np.empty((hours, net.cells))
    vht = np.empty((hours, net.cells))
    flow = np.empty((hours, len(net.link_first)))
    cell = (cells["jam"], cells["cap"], cells["v"], cells["w"], cells["len"])
    per_step = np.ascontiguousarray(demand_veh_h / steps)
    share = net.even_share if share is None else share
    give_up = float(cells.get("give_up", -1.0))
    if numpy:
        t = net.turns
        kernel.simulate_numpy(
            *cell, net.link_first, net.link_last, t["src"], t["dst"], share,
            per_step, steps, step_s / 3600.0, give_up, vkm, vht, flow,
        )  # fmt: skip
    else:
        j = net.junctions
        arm_share, wide_share = kernel.arm_shares(j, net.turns["start"], share)
        simulate = kernel.kernel_for(give_up, one_core)
        simulate(
            *cell, net.link_first, net.link_last, j["arm_in"], j["arm_out"], j["arm_link"],
            arm_share, j["wide_start"], j["wide_in"], j["wide_out"], j["wide_link"],
            j["wide_mat"], wide_share, per_step, steps, step_s / 3600.0, give_up, vkm, vht,
            flow,
        )  # fmt: skip
    return vkm, vht, flow


def run_many(
    net: Network,
    runs: Sequence[dict[str, np.ndarray]],
    demand_veh_h: np.ndarray,
    step_s: float,
    shares: Sequence[np.ndarray | None] | None = None,
) -> list[Runs]:
    """Several runs of one network (the baseline and the scenario): with at least as many runs
    as cores, each run on a core of its own (the kernel releases the GIL), which saves the two
    thread hand-offs every step of a shared run costs (~1.3x on the city's graph); otherwise
    one after the other, each over every core."""
    cores = numba.get_num_threads()
    shares = shares or [None] * len(runs)
    if len(runs) < 2 or len(runs) < cores:
        return [
            run(net, cells, demand_veh_h, step_s, share)
            for cells, share in zip(runs, shares, strict=True)
        ]
    with ThreadPoolExecutor(max_workers=cores, thread_name_prefix="ctm") as pool:
        futures = [
            pool.submit(run, net, cells, demand_veh_h, step_s, share, one_core=True)
            for cells, share in zip(runs, shares, strict=True)
        ]
        return [f.result() for f in futures]


@dataclass(frozen=True)
class SweepRuns:
    """Several runs of one network (`run_sweep`): per run, area and hour the vehicle-km and
    vehicle-hours, and per run and cell those of one hour (`hour`)."""

    vkm: np.ndarray  # (runs, areas, hours)
    vht: np.ndarray
    hour: int
    hour_vkm: np.ndarray  # (runs, cells)
    hour_vht: np.ndarray


def run_sweep(
    net: Network,
    runs: Sequence[dict[str, np.ndarray]],
    demand_veh_h: np.ndarray,
    step_s: float,
    shares: Sequence[np.ndarray | None],
    hour: int,
) -> SweepRuns:
    """The runs `runs` (cells' parameters) with their turning shares on the same demand, a
    core each (the kernel releases the GIL), each run reduced to its areas' figures as soon as
    it ends (a day's cells of 64 runs would take ~1 GB). A kernel with the runs as its
    innermost dimension was tried and was no faster per run (decision 0033)."""

    def one(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        vkm, vht, _flow = run(net, runs[i], demand_veh_h, step_s, shares[i], one_core=True)
        return _by_area(vkm, net), _by_area(vht, net), vkm[hour].copy(), vht[hour].copy()

    cores = max(1, min(numba.get_num_threads(), len(runs)))
    with ThreadPoolExecutor(max_workers=cores, thread_name_prefix="ctm-sweep") as pool:
        done = list(pool.map(one, range(len(runs))))
    vkm, vht, hour_vkm, hour_vht = (np.stack([d[k] for d in done]) for k in range(4))
    return SweepRuns(vkm, vht, hour, hour_vkm, hour_vht)


def hourly_profile(counts: pa.Table, hours: int) -> np.ndarray:
    """Share of the day's traffic in each hour: the loops' mean count per hour, normalised."""
    hour = counts.column("hour").to_numpy(zero_copy_only=False).astype(np.int64)
    veh = counts.column("vehicles").to_numpy(zero_copy_only=False).astype(np.float64)
    ok = (hour >= 0) & (hour < 24) & np.isfinite(veh)
    total = np.bincount(hour[ok], veh[ok], 24)
    n = np.bincount(hour[ok], minlength=24)
    mean = np.where(n > 0, total / np.maximum(n, 1), 0.0)
    if mean.sum() <= 0:
        raise ValueError("the loop counts have no vehicles")
    return (mean / mean.sum())[:hours]


def prior_weight(net: Network) -> np.ndarray:
    """Where the prior demand enters: each link's share, by length and class."""
    weight = np.array([c[3] for c in CLASSES.values()])[net.link_class] * net.link_len_km
    return weight / weight.sum()


@dataclass
class LoopCounts:
    """The loop counts joined to the network by arc code: per counted arc, the mean count in
    each hour over the counted days (NaN for an hour never counted). The register does not
    say which direction a loop sees, so a count is compared with the mean of both."""

    arc: np.ndarray  # (loops,) arc index: its links are 2 * arc and 2 * arc + 1
    code: np.ndarray  # (loops,) arc code, as the register and the counts name it
    mean: np.ndarray  # (loops, hours) vehicles per hour


def loop_counts(net: Network, counts: pa.Table, hours: int) -> LoopCounts:
    """The counts of the arcs the network has, per arc and hour."""
    arcs = counts.column("arc_code").to_numpy(zero_copy_only=False).astype(np.int64)
    hour = counts.column("hour").to_numpy(zero_copy_only=False).astype(np.int64)
    veh = counts.column("vehicles").to_numpy(zero_copy_only=False).astype(np.float64)
    pos = {int(a): i for i, a in enumerate(net.link_arc[::2])}
    arc = np.array([pos.get(int(a), -1) for a in arcs], dtype=np.int64)
    ok = (arc >= 0) & (hour >= 0) & (hour < hours) & np.isfinite(veh)
    ids, loop = np.unique(arc[ok], return_inverse=True)
    total = np.zeros((len(ids), hours))
    n = np.zeros((len(ids), hours))
    np.add.at(total, (loop, hour[ok]), veh[ok])
    np.add.at(n, (loop, hour[ok]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return LoopCounts(ids, net.link_arc[2 * ids], np.where(n > 0, total / n, np.nan))


def loop_operator(net: Network, arcs: np.ndarray, share: np.ndarray | None = None) -> np.ndarray:
    """(loops × links): the hourly flow each counted arc carries per vehicle an hour entering
    each link, in free flow with turning shares `share` (default: the even split). Link flows
    f then solve f = d + T f, T the turning shares, so a row is a solve with the transposed
    system (one sparse LU for all loops)."""
    t = net.turns
    n = len(net.link_first)
    share = net.even_share if share is None else share
    turning = sparse.csr_matrix((share, (t["dst"], t["src"])), shape=(n, n))
    lu = splinalg.splu((sparse.identity(n, format="csr") - turning).T.tocsc())
    pick = np.zeros((n, len(arcs)))
    pick[2 * arcs, np.arange(len(arcs))] = 0.5
    pick[2 * arcs + 1, np.arange(len(arcs))] = 0.5
    return np.asarray(lu.solve(pick)).T


def fit_demand(
    op: np.ndarray, observed: np.ndarray, trips: np.ndarray, weight: np.ndarray, bound: np.ndarray
) -> np.ndarray:
    """Vehicles entering each link per hour (hours × links), fitted to the counts hour by hour.

    The prior is trips[h] x weight. Its correction is generalised least squares (Cascetta's
    estimator from traffic counts): the variance of each link's demand is its prior, so
    links with no prior demand get none, and a ridge of RIDGE x the mean count pulls towards
    the prior. Demand stays between 0 and `bound` (veh/h): unbounded, the fit gives a few
    links just upstream of a loop more than they can take. Links that reach a bound are
    fixed there and the rest refitted, up to FIT_PASSES times."""
    hours, n = len(trips), len(weight)
    gram_all = (op * weight) @ op.T
    demand = np.outer(trips, weight)
    for h in range(hours):
        rows = np.flatnonzero(np.isfinite(observed[:, h]))
        if not len(rows) or trips[h] <= 0:
            continue
        a, y, d = op[rows], observed[rows, h], demand[h]
        gram = gram_all[np.ix_(rows, rows)]
        fixed = np.zeros(n, dtype=bool)
        ridge = RIDGE * max(float(y.mean()), 1.0) * np.eye(len(rows))
        for _ in range(FIT_PASSES):
            z = np.linalg.solve(trips[h] * gram + ridge, y - a @ d)
            step = np.where(fixed, 0.0, trips[h] * weight * (a.T @ z))
            moved = np.clip(d + step, 0.0, bound)
            hit = ~fixed & (step != 0) & ((moved <= 0) | (moved >= bound))
            d[:] = moved
            if not hit.any():
                break
            fixed |= hit
            gram = gram - (a[:, hit] * weight[hit]) @ a[:, hit].T
    return demand


def held_out(
    op: np.ndarray, observed: np.ndarray, trips: np.ndarray, weight: np.ndarray, bound: np.ndarray
) -> dict[str, Any]:
    """How well the fit predicts loops it did not see: fitted on every other loop, checked
    on the rest, both ways round (free-flow flows against the counts, over loop-hours), and
    each loop's predicted daily flow when it was held out."""
    predicted = held_out_prediction(op, observed, trips, weight, bound)
    ratio, corr = _agreement(predicted, observed)
    return {
        "holdout_flow_ratio": ratio,
        "holdout_correlation": corr,
        "loop_heldout_daily": _daily(predicted, observed),
    }


def held_out_prediction(
    op: np.ndarray, observed: np.ndarray, trips: np.ndarray, weight: np.ndarray, bound: np.ndarray
) -> np.ndarray:
    """(loops, hours) each loop's free-flow flow as predicted by a demand fitted on the other
    half of the loops (every other loop, both ways round)."""
    fold = np.arange(len(observed)) % 2
    predicted = np.empty_like(observed)
    for k in (0, 1):
        demand = fit_demand(op[fold != k], observed[fold != k], trips, weight, bound)
        predicted[fold == k] = op[fold == k] @ demand.T
    return predicted


def demand_bound(net: Network) -> np.ndarray:
    """The most vehicles an hour the fitted demand may enter each link: CAPACITY_SHARE of its
    capacity."""
    info = np.array(list(CLASSES.values()))
    return CAPACITY_SHARE * info[net.link_class, 0] * info[net.link_class, 1]


def _agreement(modelled: np.ndarray, observed: np.ndarray) -> tuple[float, float]:
    """(flow ratio, correlation) of modelled against counted flows, over the loop-hours
    that were counted."""
    ok = np.isfinite(observed)
    m, o = modelled[ok], observed[ok]
    corr = float(np.corrcoef(m, o)[0, 1]) if m.std() > 0 and o.std() > 0 else 0.0
    return round(float(m.sum() / max(o.sum(), 1e-9)), 3), round(corr, 3)


def _daily(per_hour: np.ndarray, observed: np.ndarray) -> list[float]:
    """(loops × hours) -> vehicles a day per loop, over the hours the loop was counted."""
    return [round(float(x), 1) for x in np.where(np.isfinite(observed), per_hour, 0.0).sum(1)]


def area_graph(net: Network, scen: MobilityScenario) -> routes.Graph | None:
    """The statistical areas as origins and destinations of trips on this network (route
    choice and travel times share it; None with fewer than two areas)."""
    return routes.graph(
        net.turns, net.node_out_start, net.link_area, net.link_xy, prior_weight(net),
        scen.trip_length_km,
    )  # fmt: skip


@dataclass(frozen=True)
class BaselineRoutes:
    """The baseline's part of route choice, which no scenario changes: the hour's load and
    the baseline's turning shares (with the gap its assignment reached)."""

    load: float
    share: np.ndarray
    gap: float


def route_shares(
    net: Network,
    counts: pa.Table,
    scen: MobilityScenario,
    loops: LoopCounts | None = None,
    baseline: BaselineRoutes | None = None,
) -> tuple[list[np.ndarray | None], dict[str, Any]]:
    """Turning shares of the baseline and the scenario from their assignments (models/routes.py),
    and the assignment's figures; [None, None] (the even split) without `route_choice` or
    without statistical areas to route between. The load comes from the counts of the whole
    day (`loops`, by default those of `counts`), however many hours the runs simulate. With
    `baseline` (a cached calibration), only the scenario is assigned."""
    shares, meta, _ = _route_shares(net, counts, scen, loops, baseline)
    return shares, meta


def _route_shares(
    net: Network,
    counts: pa.Table,
    scen: MobilityScenario,
    loops: LoopCounts | None,
    baseline: BaselineRoutes | None,
) -> tuple[list[np.ndarray | None], dict[str, Any], BaselineRoutes | None]:
    if not scen.route_choice:
        return [None, None], {}, None
    g = area_graph(net, scen)
    if g is None:
        return [None, None], {}, None
    arrays = (net.node_in_start, net.node_in, net.reverse, net.turns["start"])
    n_turns = len(net.turns["src"])
    runs = [link_limits(net, scen, base) for base in (True, False)]
    if baseline is None:
        loops = loop_counts(net, counts, 24) if loops is None else loops
        load = _routed_load(net, counts, scen, loops, g, arrays, n_turns, runs[0][2])
    else:
        load = baseline.load
    out: list[np.ndarray | None] = []
    meta: dict[str, Any] = {"route_choice_load": round(load)}
    for tag, (lanes, cap_lane, limit) in zip(("", "_scen"), runs, strict=True):
        if not tag and baseline is not None:
            out.append(baseline.share)
            meta["route_choice_gap"] = baseline.gap
            continue
        flows = routes.assign(g, arrays, n_turns, net.link_len_km / limit, lanes * cap_lane, load)
        out.append(routes.shares(flows, net.turns["src"], net.even_share))
        meta[f"route_choice_gap{tag}"] = flows.gap
    first = out[0]
    assert first is not None
    return out, meta, BaselineRoutes(load, first, float(meta["route_choice_gap"]))


def _routed_load(
    net: Network,
    counts: pa.Table,
    scen: MobilityScenario,
    loops: LoopCounts,
    g: routes.Graph,
    arrays: tuple[np.ndarray, ...],
    n_turns: int,
    limit: np.ndarray,
) -> float:
    """The hour's load: the counts' busiest hour, through the baseline's free-flow shortest
    paths (the prior's busiest hour without enough counted arcs)."""
    profile = hourly_profile(counts, 24)
    prior = float(profile.max() * scen.daily_car_trips)  # the prior's busiest hour
    peak = loops.mean[:, int(np.argmax(profile))]
    counted = np.isfinite(peak)
    if counted.sum() < MIN_LOOPS:
        return prior
    arcs = loops.arc[counted]
    load = routes.counted_load(
        g, arrays, n_turns, net.link_len_km / limit, np.r_[2 * arcs, 2 * arcs + 1],
        2.0 * float(peak[counted].sum()),
    )  # fmt: skip
    # where few routes reach the counted arcs (a graph in pieces, as the synthetic one), the
    # scaling would be wild: stay within LOAD_RANGE of the prior
    return min(max(load, prior / LOAD_RANGE), prior * LOAD_RANGE)


def demand(
    net: Network,
    counts: pa.Table,
    scen: MobilityScenario,
    loops: LoopCounts,
    share: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Vehicles entering each link per hour (hours × links) and how they were fitted.

    The prior: the day's car trips shaped by the loops' hourly profile, spread over links by
    length and class. With `calibrate` and at least MIN_LOOPS counted arcs, the prior is
    fitted to the counts (`fit_demand`) through the baseline's turning shares `share`,
    entering demand bounded by CAPACITY_SHARE of each link's capacity, and the fit is
    cross-validated on held-out loops (`held_out`)."""
    trips = hourly_profile(counts, scen.hours) * scen.daily_car_trips
    weight = prior_weight(net)
    meta: dict[str, Any] = {"trips_prior": round(float(trips.sum()))}
    if not scen.calibrate or len(loops.arc) < MIN_LOOPS:
        return np.outer(trips, weight), meta
    bound = demand_bound(net)
    op = loop_operator(net, loops.arc, share)
    fitted = fit_demand(op, loops.mean, trips, weight, bound)
    meta["trips_fitted"] = round(float(fitted.sum()))
    meta.update(held_out(op, loops.mean, trips, weight, bound))
    return fitted, meta


def loop_fit(flow: np.ndarray, loops: LoopCounts) -> dict[str, Any]:
    """How the simulated link flows track the counted ones (correlation over loop-hours), and
    each counted arc's daily flow, counted and simulated."""
    if len(loops.arc) < MIN_LOOPS:
        return {"loops_matched": int(len(loops.arc))}
    simulated = (flow[:, 2 * loops.arc] + flow[:, 2 * loops.arc + 1]).T / 2
    ratio, corr = _agreement(simulated, loops.mean)
    return {
        "loops_matched": int(len(loops.arc)),
        "loop_correlation": corr,
        "loop_flow_ratio": ratio,
        # per counted arc, for the report's plot: public counts and modelled road flows
        "loop_arc_codes": [int(a) for a in loops.code],
        "loop_counted_daily": _daily(loops.mean, loops.mean),
        "loop_simulated_daily": _daily(simulated, loops.mean),
    }


def _by_area(values: np.ndarray, net: Network) -> np.ndarray:
    """(hours × cells) -> (areas × hours)."""
    area = net.link_area[net.cell_link]
    ok = area >= 0
    out = np.zeros((common.N_AREAS, values.shape[0]))
    for h in range(values.shape[0]):
        out[:, h] = np.bincount(area[ok], values[h, ok], common.N_AREAS)
    return out


# Piazza Maggiore: "the centre" of the travel times (a public landmark; the statistical area
# that holds it)
CENTRE = (44.4938, 11.3430)


def _inside(lat: float, lon: float, geometry: str | None) -> bool:
    """Whether a point lies in a GeoJSON Polygon or MultiPolygon (even-odd rule over every
    ring, so holes count)."""
    import json

    try:
        shape = json.loads(geometry or "")
    except ValueError:
        return False
    polygons = shape.get("coordinates") or []
    if shape.get("type") == "Polygon":
        polygons = [polygons]
    inside = False
    for polygon in polygons:
        for ring in polygon:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
                if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                    inside = not inside
    return inside


def centre_area(areas: pa.Table | None) -> int:
    """Index of the statistical area holding the centre (Piazza Maggiore), by its outline where
    the table has outlines, else the one whose centroid is nearest (-1 without areas)."""
    if areas is None or areas.num_rows == 0:
        return -1
    idx = common.area_index(areas.column("area_code").to_numpy(zero_copy_only=False))
    if "geometry" in areas.column_names:
        for i, shape in zip(idx, areas.column("geometry").to_pylist(), strict=True):
            if i >= 0 and _inside(*CENTRE, shape):
                return int(i)
    lat = areas.column("centroid_lat").to_numpy(zero_copy_only=False).astype(float)
    lon = areas.column("centroid_lon").to_numpy(zero_copy_only=False).astype(float)
    d = (lat - CENTRE[0]) ** 2 + ((lon - CENTRE[1]) * np.cos(np.radians(CENTRE[0]))) ** 2
    d = np.where(idx >= 0, d, np.inf)
    return int(idx[int(np.argmin(d))]) if np.isfinite(d).any() else -1


def link_minutes(net: Network, vkm: np.ndarray, vht: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Minutes to drive each link in one simulated hour: its length at the space-mean speed
    of the hour's traffic on it (vehicle-km over vehicle-hours), at its limit where no one
    drove it, never faster than the limit nor slower than 1 km/h."""
    n = len(net.link_first)
    km = np.bincount(net.cell_link, vkm, n)
    hours = np.bincount(net.cell_link, vht, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(hours > 1e-9, km / hours, limit)
    return net.link_len_km / np.clip(speed, 1.0, limit) * 60.0


def travel_times(
    net: Network, g: routes.Graph, vkm: np.ndarray, vht: np.ndarray, limit: np.ndarray
) -> np.ndarray:
    """(areas, areas): minutes between every two statistical areas in one simulated hour,
    on the quickest paths at that hour's link times (NaN where no trip gets through)."""
    arrays = (net.node_in_start, net.node_in, net.reverse, net.turns["start"])
    cost = link_minutes(net, vkm, vht, limit)
    found = routes.zone_times(g, arrays, cost, len(net.turns["src"]))
    out = np.full((common.N_AREAS, common.N_AREAS), np.nan)
    k = min(len(found), common.N_AREAS)
    out[:k, :k] = found[:k, :k]
    return out


def _trip_mean(times: np.ndarray, od: np.ndarray) -> np.ndarray:
    """Per origin area: the mean time of its trips (weighted by where they go)."""
    w = np.zeros_like(times)
    k = min(len(od), len(times))
    w[:k, :k] = od[:k, :k]
    w = np.where(np.isfinite(times), w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w.sum(axis=1) > 0, np.nansum(times * w, axis=1) / w.sum(axis=1), np.nan)


def busiest_hour(baseline: Runs) -> int:
    """The simulated hour with the most vehicle-hours: where travel times are read."""
    return int(np.argmax(baseline[1].sum(axis=1)))


def peak_hour_times(
    net: Network,
    params: MobilityScenario,
    areas: pa.Table | None,
    runs: Sequence[Runs],
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Travel times at the baseline's busiest simulated hour (most vehicle-hours), in both
    runs: to the centre and the mean of each area's trips, per area, and to the centre per
    district (its areas weighted by the trips they send)."""
    g = area_graph(net, params)
    centre = centre_area(areas)
    if g is None or centre < 0:
        return {}, {}
    peak = busiest_hour(runs[0])
    arrays: dict[str, np.ndarray] = {}
    districts: dict[str, list[float | None]] = {}
    names = _districts(areas)
    sends = np.zeros(common.N_AREAS)
    sends[: len(g.od)] = g.od.sum(axis=1)[: common.N_AREAS]
    for tag, baseline, (vkm, vht, _flow) in zip(("base", "scen"), (True, False), runs, strict=True):
        limit = link_limits(net, params, baseline)[2]
        times = travel_times(net, g, vkm[peak], vht[peak], limit)
        arrays[f"tt_centre_{tag}"] = times[:, centre]
        arrays[f"tt_out_{tag}"] = _trip_mean(times, g.od)
        for district, idx in names.items():
            t = times[idx, centre]
            w = np.where(np.isfinite(t), sends[idx], 0.0)
            value = float(np.nansum(t * w) / w.sum()) if w.sum() > 0 else None
            districts.setdefault(district, []).append(None if value is None else round(value, 1))
    meta = {"peak_hour": peak, "centre_area": centre + 1, "minutes_to_centre": districts}
    return arrays, meta


def _districts(areas: pa.Table | None) -> dict[str, np.ndarray]:
    """District (quartiere) name -> the indexes of its statistical areas."""
    if areas is None or "district" not in areas.column_names:
        return {}
    idx = common.area_index(areas.column("area_code").to_numpy(zero_copy_only=False))
    out: dict[str, list[int]] = {}
    for i, name in zip(idx, areas.column("district").to_pylist(), strict=True):
        if i >= 0 and name:
            out.setdefault(str(name), []).append(int(i))
    return {k: np.array(v) for k, v in sorted(out.items())}


@dataclass(frozen=True)
class Calibration:
    """A baseline's calibration: its route choice and the demand fitted to the counts. It
    depends on the data and on the scenario's baseline parameters only, so a worker keeps the
    last few (`calibration_key`) and a scenario run on the same data reuses them."""

    routes: BaselineRoutes | None
    entering: np.ndarray
    fitted: dict[str, Any]
    # the baseline's CTM run per junction model (`junction_key`), once made
    runs: dict[tuple[Any, ...], Runs] = field(default_factory=dict)


CALIBRATIONS_KEPT = 4
_calibrations: OrderedDict[tuple[Any, ...], Calibration] = OrderedDict()
_calibrations_lock = threading.Lock()


def table_digest(table: pa.Table) -> str:
    """A digest of a table's schema and rows, as Arrow's IPC stream writes them (a changed row,
    column or type changes it; how the table is sliced or chunked does not)."""
    sink = pa.BufferOutputStream()
    plain = table.replace_schema_metadata(None)
    plain = plain.take(np.arange(plain.num_rows)).combine_chunks()  # fresh, unsliced buffers
    with pa.ipc.new_stream(sink, plain.schema) as writer:  # slices and chunks written alike
        writer.write_table(plain)
    return hashlib.blake2b(sink.getvalue(), digest_size=16).hexdigest()


def calibration_key(tables: Tables, params: MobilityScenario, v_max: float) -> tuple[Any, ...]:
    """What a baseline's calibration rests on: the digests of the three tables, and the
    parameters the baseline reads (not the scenario's limits or closures, but the fastest
    limit, which sets the cells)."""
    digests = tuple(
        table_digest(tables[d]) if d in tables else ""
        for d in ("road-graph", "traffic-loop-counts", "statistical-areas")
    )
    return (
        *digests, v_max, params.step_seconds, params.hours, params.daily_car_trips,
        params.calibrate, params.route_choice, params.trip_length_km,
    )  # fmt: skip


def junction_key(params: MobilityScenario) -> tuple[Any, ...]:
    """What a baseline's CTM run rests on beyond its calibration: the junction model."""
    return (params.junction, params.give_up_seconds if params.junction == "turns" else None)


def calibrate(
    net: Network,
    counts: pa.Table,
    params: MobilityScenario,
    loops: LoopCounts,
    key: tuple[Any, ...],
) -> tuple[list[np.ndarray | None], dict[str, Any], np.ndarray, dict[str, Any], bool]:
    """Both runs' turning shares and their figures, the fitted demand and its figures, and
    whether the baseline's part came from a kept calibration. The fit runs on one BLAS thread:
    with the default thread count the maths library's threads fought the kernels' (0.9-9 s
    against 1.0-1.4 s on a busy host)."""
    from threadpoolctl import threadpool_limits

    with _calibrations_lock:
        kept = _calibrations.get(key)
        if kept is not None:
            _calibrations.move_to_end(key)
    shares, routed, base = _route_shares(net, counts, params, None, kept.routes if kept else None)
    if kept is not None:
        return shares, routed, kept.entering, dict(kept.fitted), True
    with threadpool_limits(1):
        entering, fitted = demand(net, counts, params, loops, shares[0])
    entering.setflags(write=False)
    if base is not None:
        base.share.setflags(write=False)
    with _calibrations_lock:
        _calibrations[key] = Calibration(base, entering, fitted)
        while len(_calibrations) > CALIBRATIONS_KEPT:
            _calibrations.popitem(last=False)
    return shares, routed, entering, dict(fitted), False


def kept_baseline_run(key: tuple[Any, ...], junction: tuple[Any, ...]) -> Runs | None:
    """The baseline's CTM run of a kept calibration with this junction model (the same demand,
    shares, cells and junctions give the same run), if one was made."""
    with _calibrations_lock:
        kept = _calibrations.get(key)
        return kept.runs.get(junction) if kept is not None else None


def keep_baseline_run(key: tuple[Any, ...], junction: tuple[Any, ...], run_: Runs) -> None:
    """Keep a baseline's CTM run with its calibration (read-only from now on)."""
    for a in run_:
        a.setflags(write=False)
    with _calibrations_lock:
        kept = _calibrations.get(key)
        if kept is not None:
            kept.runs.setdefault(junction, run_)


def _local(tables: Tables, params: BaseModel, _ctx: Context) -> Partial:
    assert isinstance(params, MobilityScenario)
    if "road-graph" not in tables or "traffic-loop-counts" not in tables:
        raise ValueError("the mobility model needs the road graph and the loop counts together")
    points = params.points()
    # the cells are the same in every run of the job, a sweep's points included
    limits = [v for scen in (params, *points) for v in scen.speed_limits.values()]
    v_max = max(max(c[2] for c in CLASSES.values()), *limits, 1.0)
    net = build_network(
        tables["road-graph"], tables.get("statistical-areas"), params.step_seconds, v_max
    )
    base_cells = cell_arrays(net, params, True, params.step_seconds)
    counts = tables["traffic-loop-counts"]
    loops = loop_counts(net, counts, params.hours)
    key = calibration_key(tables, params, v_max)
    shares, routed, entering, fitted, reused = calibrate(net, counts, params, loops, key)
    fitted["calibration_reused"] = reused
    arrays: dict[str, np.ndarray] = {}
    scen_cells = cell_arrays(net, params, False, params.step_seconds)
    baseline_run = kept_baseline_run(key, junction_key(params))
    if baseline_run is None:
        runs = run_many(net, [base_cells, scen_cells], entering, params.step_seconds, shares)
        keep_baseline_run(key, junction_key(params), runs[0])
    else:  # only the scenario is simulated, on one core: the kernel over every core meets
        # at a barrier every step: on a busy host a scenario took 13-24 s so, 5 s on one core
        scen_run = run(net, scen_cells, entering, params.step_seconds, shares[1], one_core=True)
        runs = [baseline_run, scen_run]
    for tag, (vkm, vht, _flow) in zip(("base", "scen"), runs, strict=True):
        arrays[f"vkm_{tag}"] = _by_area(vkm, net)
        arrays[f"vht_{tag}"] = _by_area(vht, net)
    fit = loop_fit(runs[0][2], loops)
    # where the vehicle-km go, by road class: route choice moves them between classes
    cell_class = net.link_class[net.cell_link]
    by_class = [np.bincount(cell_class, vkm.sum(axis=0), len(CLASSES)) for vkm, _, _ in runs]
    fit["vkm_by_class"] = {
        name: [round(float(by_class[0][k])), round(float(by_class[1][k]))]
        for k, name in enumerate(CLASSES)
    }
    times, timed = peak_hour_times(net, params, tables.get("statistical-areas"), runs)
    arrays |= times
    if points:
        arrays |= _sweep_points(net, counts, points, key, entering, runs[0], tables)
    links = np.bincount(net.link_area[net.link_area >= 0], minlength=common.N_AREAS)
    return Partial(
        arrays=arrays,
        support={k: links.astype(np.float64) for k in arrays},
        meta={"links": int(len(net.link_first)), "cells": net.cells, **routed, **fitted, **fit,
              **timed},
    )  # fmt: skip


def _sweep_points(
    net: Network,
    counts: pa.Table,
    points: Sequence[MobilityScenario],
    key: tuple[Any, ...],
    entering: np.ndarray,
    baseline: Runs,
    tables: Tables,
) -> dict[str, np.ndarray]:
    """A sweep's points (decision 0033), each the scenario a job of its own would run: its
    route choice on the kept baseline (one assignment each), then the points' CTM runs a core
    each (`run_sweep`). Per area and point (areas × points): the day's vehicle-km and
    vehicle-hours, and the minutes to the centre at the baseline's busiest hour."""
    with _calibrations_lock:
        kept = _calibrations.get(key)
    base_routes = kept.routes if kept is not None else None
    shares: list[np.ndarray | None] = []
    for point in points:
        point_shares, _, _ = _route_shares(net, counts, point, None, base_routes)
        shares.append(point_shares[1])
    cells = [cell_arrays(net, p, False, p.step_seconds) for p in points]
    done = run_sweep(net, cells, entering, points[0].step_seconds, shares, busiest_hour(baseline))
    out = {
        "sweep_vkm": done.vkm.sum(axis=2).T.copy(),
        "sweep_vht": done.vht.sum(axis=2).T.copy(),
    }
    g, centre = area_graph(net, points[0]), centre_area(tables.get("statistical-areas"))
    if g is not None and centre >= 0:
        to_centre = np.full((common.N_AREAS, len(points)), np.nan)
        for i, point in enumerate(points):
            limit = link_limits(net, point, False)[2]
            times = travel_times(net, g, done.hour_vkm[i], done.hour_vht[i], limit)
            to_centre[:, i] = times[:, centre]
        out["sweep_tt_centre"] = to_centre
    return out


OUTPUTS = ("vkm_base", "vht_base", "vkm_scen", "vht_scen")
TIMES = ("tt_centre_base", "tt_centre_scen", "tt_out_base", "tt_out_scen")
FIT_FIGURES = (
    "route_choice_load",
    "route_choice_gap",
    "trips_prior",
    "trips_fitted",
    "holdout_flow_ratio",
    "holdout_correlation",
    "loops_matched",
    "loop_correlation",
    "loop_flow_ratio",
)


def _combine(partials: Sequence[Partial], params: BaseModel, _ctx: Context) -> Context:
    out: Context = dict(common.sum_partials(partials, OUTPUTS))
    with np.errstate(invalid="ignore", divide="ignore"):
        for tag in ("base", "scen"):
            out[f"speed_{tag}"] = out[f"vkm_{tag}"] / out[f"vht_{tag}"]
    for key in TIMES:  # one holder runs the whole graph: its travel times as they came
        if key in partials[0].arrays:
            out[key] = np.asarray(partials[0].arrays[key], dtype=np.float64)
    out["vkm_change"] = out["vkm_scen"] - out["vkm_base"]
    out["vht_change"] = out["vht_scen"] - out["vht_base"]
    out["calibration"] = [{k: v for k, v in p.meta.items()} for p in partials]
    assert isinstance(params, MobilityScenario)
    if params.sweep is not None:
        out.update(_sweep_combine(partials, params))
    return out


def _sweep_combine(partials: Sequence[Partial], params: MobilityScenario) -> Context:
    """A sweep's points: vehicle-km and -hours summed over the holders (one holds the graph),
    the travel times as that holder computed them, and what the sweep ran."""
    out: Context = dict(common.sum_partials(partials, ("sweep_vkm", "sweep_vht")))
    if "sweep_tt_centre" in partials[0].arrays:
        out["sweep_tt_centre"] = np.asarray(partials[0].arrays["sweep_tt_centre"], np.float64)
    assert params.sweep is not None
    name = params.sweep.parameter or ""
    out["sweep_values"] = np.array(
        [[float(p.speed_limits[name.partition(".")[2]])] for p in params.points()]
    )
    out["sweep"] = sweeps.describe(params.sweep) | {"parameters": params.sweep.parameters}
    return out


def sweep_summary(result: Context) -> dict[str, Any]:
    """A sweep as a curve: per point its speed limit, the city's vehicle-km and vehicle-hours
    of the day, its mean speed, and the mean minutes to the centre at the busiest hour over
    the areas (weighted by their vehicle-km); {} without a sweep."""
    about = result.get("sweep")
    if not about:
        return {}
    vkm, vht = np.asarray(result["sweep_vkm"]), np.asarray(result["sweep_vht"])
    tt = result.get("sweep_tt_centre")
    curve = []
    for i, values in enumerate(np.asarray(result["sweep_values"])):
        km, hours = float(np.nansum(vkm[:, i])), float(np.nansum(vht[:, i]))
        row: dict[str, Any] = {about["parameters"][0]: round(float(values[0]), 4)}
        row["vehicle-km, thousand"] = round(km / 1000.0, 1)
        row["vehicle-hours, thousand"] = round(hours / 1000.0, 2)
        row["mean speed, km/h"] = round(km / hours, 2) if hours else None
        if tt is not None:
            t = np.asarray(tt)[:, i]
            w = np.where(np.isfinite(t), vkm[:, i], 0.0)
            row["to the centre at the peak, min"] = (
                round(float(np.nansum(t * w) / w.sum()), 2) if w.sum() > 0 else None
            )
        curve.append(row)
    return {"sweep": about, "sweep_curve": curve}


def summary(result: Context) -> dict[str, Any]:
    """Headline figures: daily vehicle-km and vehicle-hours, mean speed, both runs."""
    vkm_b, vkm_s = float(np.nansum(result["vkm_base"])), float(np.nansum(result["vkm_scen"]))
    vht_b, vht_s = float(np.nansum(result["vht_base"])), float(np.nansum(result["vht_scen"]))
    first = (result.get("calibration") or [{}])[0]  # one holder runs the whole graph
    return {
        "vehicle_km_base": round(vkm_b),
        "vehicle_km_scen": round(vkm_s),
        "vehicle_hours_base": round(vht_b),
        "vehicle_hours_scen": round(vht_s),
        "mean_speed_kmh_base": round(vkm_b / vht_b, 1) if vht_b else None,
        "mean_speed_kmh_scen": round(vkm_s / vht_s, 1) if vht_s else None,
        # vehicle-km by road class, baseline -> scenario: where route choice moves traffic
        **({"vehicle_km_by_class": first["vkm_by_class"]} if "vkm_by_class" in first else {}),
        # the planner's question: how long from each district to the centre at the peak hour
        **(
            {
                "peak_hour": first["peak_hour"],
                "minutes_to_centre_at_peak": first["minutes_to_centre"],
            }
            if "minutes_to_centre" in first
            else {}
        ),  # fmt: skip
        # How the demand was fitted to the loop counts and how well it predicts held-out
        # loops (docs/models.md): shown with every result.
        **{k: v for k, v in first.items() if k in FIT_FIGURES},
    } | sweep_summary(result)


MODEL = Model(
    name="mobility-ctm",
    version="1.5.0",
    title="Road traffic: cell transmission model on the municipal road graph",
    params=MobilityScenario,
    stages=(
        Stage(
            "traffic",
            ("road-graph", "traffic-loop-counts", "statistical-areas"),
            _local,
            _combine,
            heavy=True,
        ),
    ),
    modules=(
        "models.mobility",
        "models.common",
        "models.routes",
        "models.kernels.ctm",
        "models.kernels.routes",
    ),
    summary=summary,
)
