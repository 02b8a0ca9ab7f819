"""The mobility CTM beside SUMO's mesoscopic model (issue 29): the same network, the same demand.

`mobility-ctm` calibrates its baseline (route choice, demand fitted to the loop counts) and runs
a cell transmission model. SUMO (`eclipse-sumo` from PyPI) is the field's reference for urban
traffic. Both get:

- the road graph: every arc in both directions, with the CTM's lanes, speed limit and length
  (netconvert from plain XML; the arcs' geometry for the shapes);
- each road class's capacity: SUMO's mesoscopic headways per edge type set so that a lane
  discharges the CTM's capacity (900 veh/h on a street, 1,500 on a viale...);
- the fitted demand: the vehicles entering each link each hour, and at each junction the
  baseline's turning shares and exit share. The CTM moves flows by these shares; for SUMO
  each vehicle's route is drawn from them (a Markov chain, seeded), so both carry the same
  expected flows in free flow.

What differs is the dynamics: SUMO queues vehicles on edges and moves them one by one, first
in first out on each queue (with one queue per turning direction at junctions, like turning
lanes); the CTM moves densities between cells and lets a link's vehicles turn without waiting
for the ones held back to a full link.

Compared: hourly flows on the counted arcs (both tools and the counts), the city's mean speed
by hour, the GEH statistic against the counts (< 5 on at least 85 % of counted arc-hours is
the field's acceptance level) in-sample and, for the CTM's free-flow prediction, on held-out
loops, and the wall time of each tool.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pyarrow as pa

from models import mobility

SEED = 7
GEH_PASS = 5.0  # the GEH below which a counted arc-hour passes
ACCEPT_SHARE = 0.85  # the share of arc-hours that must pass (UK DMRB, the field's usual rule)
MAX_ROUTE_LINKS = 400  # a drawn route longer than this ends there (the chain is absorbing)


def sumo_tool(name: str) -> str:
    """The path of a SUMO binary from the `eclipse-sumo` wheel (or PATH)."""
    try:
        import sumo

        path = Path(sumo.SUMO_HOME) / "bin" / name
        if path.exists():
            return str(path)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: install eclipse-sumo (pip install eclipse-sumo)")
    return found


@dataclass
class Baseline:
    """The CTM's baseline as the model calibrates and runs it, and what SUMO needs."""

    net: mobility.Network
    params: mobility.MobilityScenario
    loops: mobility.LoopCounts
    share: np.ndarray  # turning shares, indexed like net.turns
    entering: np.ndarray  # (hours, links) veh/h
    flow: np.ndarray  # (hours, links) vehicles leaving each link, CTM
    vkm: np.ndarray  # (hours,) vehicle-km, CTM
    vht: np.ndarray  # (hours,) vehicle-hours, CTM
    heldout: np.ndarray  # (loops, hours) the cross-validated free-flow prediction
    ctm_seconds: float
    lanes: np.ndarray
    cap_lane: np.ndarray
    limit: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def baseline(
    tables: dict[str, pa.Table], params: dict[str, Any] | None = None, one_core: bool = False
) -> Baseline:
    """Calibrate and run the model's baseline on the tables (as its `traffic` stage does),
    the CTM over every core or, with `one_core`, on the calling thread."""
    scen = mobility.MobilityScenario.model_validate(params or {})
    v_max = max(max(c[2] for c in mobility.CLASSES.values()), *scen.speed_limits.values(), 1.0)
    net = mobility.build_network(
        tables["road-graph"], tables.get("statistical-areas"), scen.step_seconds, v_max
    )
    counts = tables["traffic-loop-counts"]
    loops = mobility.loop_counts(net, counts, scen.hours)
    key = ("validation", *mobility.calibration_key(tables, scen, v_max))
    shares, _routed, entering, fitted, _ = mobility.calibrate(net, counts, scen, loops, key)
    share = shares[0] if shares[0] is not None else net.even_share
    cells = mobility.cell_arrays(net, scen, True, scen.step_seconds)
    t0 = time.perf_counter()
    vkm, vht, flow = mobility.run(net, cells, entering, scen.step_seconds, share, one_core=one_core)
    ctm_seconds = time.perf_counter() - t0
    # the cross-validated prediction per loop-hour (the model reports only its summary)
    trips = mobility.hourly_profile(counts, scen.hours) * scen.daily_car_trips
    op = mobility.loop_operator(net, loops.arc, share)
    heldout = mobility.held_out_prediction(
        op, loops.mean, trips, mobility.prior_weight(net), mobility.demand_bound(net)
    )
    lanes, cap_lane, limit = mobility.link_limits(net, scen, True)
    return Baseline(net, scen, loops, np.asarray(share), np.asarray(entering), flow,
                    vkm.sum(axis=1), vht.sum(axis=1), heldout, ctm_seconds, lanes, cap_lane,
                    limit, dict(fitted))  # fmt: skip


def _link_nodes(net: mobility.Network) -> tuple[np.ndarray, np.ndarray]:
    """Each link's from-node and to-node (node indices)."""
    links = len(net.link_first)
    frm, to = np.empty(links, np.int64), np.empty(links, np.int64)
    frm[net.node_out] = np.repeat(np.arange(len(net.node_out_start) - 1),
                                  np.diff(net.node_out_start))  # fmt: skip
    to[net.node_in] = np.repeat(np.arange(len(net.node_in_start) - 1), np.diff(net.node_in_start))
    return frm, to


def _metres(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """(n, 2) metres east and north of a fixed point near Bologna (equirectangular)."""
    x = np.radians(np.asarray(lon) - 11.2) * 6_371_000.0 * np.cos(np.radians(44.5))
    y = np.radians(np.asarray(lat) - 44.4) * 6_371_000.0
    return np.stack([x, y], axis=-1)


def write_network(b: Baseline, graph: pa.Table, folder: Path) -> Path:
    """The baseline's network as SUMO plain XML, then netconvert; the net file's path."""
    net = b.net
    shape = {int(a): json.loads(g)["coordinates"] for a, g in
             zip(graph.column("arc_code").to_pylist(), graph.column("geometry").to_pylist(),
                 strict=True)}  # fmt: skip
    frm, to = _link_nodes(net)
    n_nodes = len(net.node_out_start) - 1
    xy = np.full((n_nodes, 2), np.nan)
    paths: list[np.ndarray] = []
    for link in range(len(frm)):
        coords = _metres(*np.asarray(shape[int(net.link_arc[link])], dtype=np.float64).T)
        coords = coords if link % 2 == 0 else coords[::-1]
        xy[frm[link]], xy[to[link]] = coords[0], coords[-1]
        paths.append(coords)
    with (folder / "gemello.nod.xml").open("w") as f:
        f.write("<nodes>\n")
        for i, (x, y) in enumerate(xy):
            f.write(f'  <node id="n{i}" x="{x:.2f}" y="{y:.2f}" type="priority"/>\n')
        f.write("</nodes>\n")
    names = list(mobility.CLASSES)
    with (folder / "gemello.edg.xml").open("w") as f:
        f.write("<edges>\n")
        for link in range(len(frm)):
            points = " ".join(f"{x:.2f},{y:.2f}" for x, y in paths[link])
            f.write(
                f'  <edge id="L{link}" from="n{frm[link]}" to="n{to[link]}" '
                f'numLanes="{int(b.lanes[link])}" speed="{b.limit[link] / 3.6:.3f}" '
                f'length="{net.link_len_km[link] * 1000:.2f}" '
                f'type="{names[int(net.link_class[link])]}" shape="{points}" '
                f"name={quoteattr(str(net.link_street[link]))}/>\n"
            )
        f.write("</edges>\n")
    out = folder / "gemello.net.xml"
    subprocess.run(
        [sumo_tool("netconvert"), "--node-files", str(folder / "gemello.nod.xml"),
         "--edge-files", str(folder / "gemello.edg.xml"), "--output-file", str(out),
         "--no-internal-links", "--no-turnarounds.except-deadend", "--geometry.remove", "false",
         "--junctions.join", "false", "--offset.disable-normalization", "true",
         "--no-warnings", "--tls.discard-loaded", "--tls.guess", "false"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out


def write_meso_types(folder: Path) -> Path:
    """Per road class, SUMO's mesoscopic headways (s) so that a lane discharges the CTM's
    capacity, 3,600 / capacity, free-flowing or out of a jam alike: the CTM's triangular
    diagram has no capacity drop, where SUMO's default headways discharge a jam ~35 % slower
    than free flow."""
    info = mobility.CLASSES
    path = folder / "meso-types.add.xml"
    with path.open("w") as f:
        f.write("<additional>\n")
        for name, (_lanes, cap, _speed, _weight) in info.items():
            h = 3600.0 / cap
            jf = jj = h  # no capacity drop out of a jam: the CTM's triangle has none
            f.write(
                f'  <type id="{name}"><meso tauff="{h:.3f}" taufj="{h:.3f}" '
                f'taujf="{jf:.3f}" taujj="{jj:.3f}"/></type>\n'
            )
        f.write('  <edgeData id="hourly" freq="3600" file="edges.xml" excludeEmpty="true"/>\n')
        f.write("</additional>\n")
    return path


def draw_routes(b: Baseline, folder: Path, hours: int, seed: int = SEED) -> tuple[Path, int]:
    """Vehicles entering each link each hour (the fitted demand, rounded at random), each
    with a route drawn from the turning and exit shares; the route file and the count."""
    rng = np.random.default_rng(seed)
    t = b.net.turns
    start, dst = t["start"], t["dst"]
    src_of = np.repeat(np.arange(len(start) - 1), np.diff(start))
    cum = np.cumsum(b.share)
    first = np.where(start[:-1] > 0, cum[np.maximum(start[:-1] - 1, 0)], 0.0)
    within = cum - first[src_of]
    keyed = src_of + np.minimum(within, 1.0)  # increasing: each src's cumulative shares
    demand = b.entering[:hours]
    whole = np.floor(demand)
    count = (whole + (rng.random(demand.shape) < demand - whole)).astype(np.int64)
    hour, link = np.nonzero(count)
    n = count[hour, link]
    veh_link = np.repeat(link, n)
    depart = np.repeat(hour, n) * 3600.0 + rng.random(int(n.sum())) * 3600.0
    order = np.argsort(depart, kind="stable")
    veh_link, depart = veh_link[order], depart[order]
    routes: list[list[int]] = [[int(x)] for x in veh_link]
    alive = np.arange(len(veh_link))
    at = veh_link.copy()
    for _ in range(MAX_ROUTE_LINKS):
        if not len(alive):
            break
        u = rng.random(len(alive))
        pick = np.searchsorted(keyed, at + u, side="right")
        ok = (pick < start[at + 1]) & (pick >= start[at])
        alive, at = alive[ok], dst[pick[ok]]
        for v, nxt in zip(alive.tolist(), at.tolist(), strict=True):
            routes[v].append(nxt)
    path = folder / "routes.rou.xml.gz"
    with gzip.open(path, "wt") as f:
        f.write('<routes>\n  <vType id="car" vClass="passenger"/>\n')
        for i, (d, r) in enumerate(zip(depart.tolist(), routes, strict=True)):
            edges = " ".join(f"L{x}" for x in r)
            f.write(f'  <vehicle id="v{i}" type="car" depart="{d:.1f}" departLane="best" '
                    f'departSpeed="max"><route edges="{edges}"/></vehicle>\n')  # fmt: skip
        f.write("</routes>\n")
    return path, len(routes)


@dataclass
class SumoRun:
    """SUMO's hourly results on the links."""

    flow: np.ndarray  # (hours, links) vehicles leaving each link
    vkm: np.ndarray  # (hours,)
    vht: np.ndarray  # (hours,)
    seconds: float
    vehicles: int
    teleports: int


def run_sumo(
    b: Baseline,
    net_file: Path,
    folder: Path,
    hours: int,
    seed: int = SEED,
    options: tuple[str, ...] = (),
) -> SumoRun:
    """SUMO's mesoscopic model on the network and the drawn routes, hour by hour; `options`
    are more of SUMO's (e.g. its link transmission model, `--meso-ltm true`)."""
    types = write_meso_types(folder)
    routes, vehicles = draw_routes(b, folder, hours, seed)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sumo_tool("sumo"), "--mesosim", "true", "--net-file", str(net_file),
         "--route-files", str(routes), "--additional-files", str(types),
         "--begin", "0", "--end", str(hours * 3600), "--meso-junction-control", "false",
         "--meso-multi-queue", "true", "--time-to-teleport", "300", "--seed", str(seed),
         "--no-step-log", "true", "--duration-log.statistics", "true",
         "--ignore-route-errors", "true", "--no-warnings", "true", *options],
        cwd=folder, check=True, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    teleports = 0
    for line in done.stdout.splitlines():
        if line.strip().startswith("Teleports:"):
            teleports = int(line.split(":")[1].split()[0])
    links = len(b.net.link_first)
    flow = np.zeros((hours, links))
    vkm, vht = np.zeros(hours), np.zeros(hours)
    for _, interval in ET.iterparse(folder / "edges.xml"):
        if interval.tag != "interval":
            continue
        h = int(float(interval.get("begin", "0")) // 3600)
        if h >= hours:
            continue
        for edge in interval:
            link = int(edge.get("id", "L-1")[1:])
            flow[h, link] = float(edge.get("left", 0))
            vkm[h] += float(edge.get("sampledSeconds", 0)) * float(edge.get("speed", 0)) / 1000
            vht[h] += float(edge.get("sampledSeconds", 0)) / 3600
        interval.clear()
    return SumoRun(flow, vkm, vht, seconds, vehicles, teleports)


def geh(modelled: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """The GEH statistic of hourly flows (veh/h), NaN where there is no count."""
    m, c = np.asarray(modelled, float), np.asarray(counted, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(2 * (m - c) ** 2 / np.maximum(m + c, 1e-9))


def counted(flow: np.ndarray, loops: mobility.LoopCounts) -> np.ndarray:
    """(loops, hours) a tool's flow on the counted arcs: the mean of both directions, as the
    model compares them (the register does not say which way a loop looks)."""
    return (flow[:, 2 * loops.arc] + flow[:, 2 * loops.arc + 1]).T / 2


def pass_rate(modelled: np.ndarray, observed: np.ndarray) -> float:
    """The share of counted arc-hours with GEH below 5."""
    ok = np.isfinite(observed)
    return float((geh(modelled[ok], observed[ok]) < GEH_PASS).mean()) if ok.any() else np.nan


# SUMO's two mesoscopic models: its queue model (the default: vehicles in first-in-first-out
# queues per edge segment) and its link transmission model (`--meso-ltm`: kinematic waves,
# the LWR theory the CTM discretises)
SUMO_MODELS = {"ltm": ("--meso-ltm", "true"), "queue": ()}
PEAK = (7, 20)  # the hours (from, to) over which the mean speeds are compared: the day's traffic


def _speed(vkm: float, vht: float) -> float:
    """Space-mean speed (km/h), NaN when no one drove."""
    return float(vkm / vht) if vht > 0 else float("nan")


def compare(
    tables: dict[str, pa.Table],
    hours: int = 24,
    folder: Path | None = None,
    sumo_model: str = "ltm",
    one_core: bool = False,
) -> dict[str, Any]:
    """Both tools on the baseline: the figures docs/models.md shows. The CTM runs with both
    of its junction models (decision 0036) on the same calibration; SUMO gets the demand and
    turning shares, which do not depend on the junction model."""
    b = baseline(tables, {"hours": max(hours, 1)}, one_core)
    bt = baseline(tables, {"hours": max(hours, 1), "junction": "turns"}, one_core)
    if not (np.array_equal(b.entering, bt.entering) and np.array_equal(b.share, bt.share)):
        raise RuntimeError("the two junction models were calibrated apart (a bug)")
    with tempfile.TemporaryDirectory(prefix="gemello-sumo-") as tmp:
        work = folder or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        net_file = write_network(b, tables["road-graph"], work)
        build_s = time.perf_counter() - t0
        sumo = run_sumo(b, net_file, work, hours, options=SUMO_MODELS[sumo_model])
    obs = b.loops.mean[:, :hours]
    ctm_c, sumo_c = counted(b.flow[:hours], b.loops), counted(sumo.flow, b.loops)
    turns_c = counted(bt.flow[:hours], b.loops)

    def on_counted(c: np.ndarray, h: int) -> float:
        return float(np.nanmean(np.where(np.isfinite(obs[:, h]), c[:, h], np.nan)))

    peak = range(PEAK[0], min(PEAK[1], hours))
    return {
        "hours": hours,
        "sumo_model": sumo_model,
        "links": int(len(b.net.link_first)),
        "vehicles": sumo.vehicles,
        "teleports": sumo.teleports,
        "loops": int(len(b.loops.arc)),
        "seconds": {
            "ctm": b.ctm_seconds,
            "ctm_turns": bt.ctm_seconds,
            "sumo": sumo.seconds,
            "netconvert": build_s,
        },
        "geh_pass": {
            "ctm": pass_rate(ctm_c, obs),
            "ctm_turns": pass_rate(turns_c, obs),
            "sumo": pass_rate(sumo_c, obs),
            "ctm_heldout": pass_rate(b.heldout[:, :hours], obs),
        },
        "hourly": [
            {
                "hour": h,
                "counted": float(np.nanmean(obs[:, h])),
                "ctm": on_counted(ctm_c, h),
                "ctm_turns": on_counted(turns_c, h),
                "sumo": on_counted(sumo_c, h),
                "speed_ctm": _speed(b.vkm[h], b.vht[h]),
                "speed_ctm_turns": _speed(bt.vkm[h], bt.vht[h]),
                "speed_sumo": _speed(sumo.vkm[h], sumo.vht[h]),
                "geh_ctm": pass_rate(ctm_c[:, h : h + 1], obs[:, h : h + 1]),
                "geh_ctm_turns": pass_rate(turns_c[:, h : h + 1], obs[:, h : h + 1]),
                "geh_sumo": pass_rate(sumo_c[:, h : h + 1], obs[:, h : h + 1]),
            }
            for h in range(hours)
        ],
        "vkm": {
            "ctm": float(b.vkm[:hours].sum()),
            "ctm_turns": float(bt.vkm[:hours].sum()),
            "sumo": float(sumo.vkm.sum()),
        },
        # the story at the peak: how far each CTM's mean speed is from SUMO's, hour by hour
        "peak_speed_gap": {
            tag: float(
                np.mean(
                    [
                        abs(_speed(r.vkm[h], r.vht[h]) - _speed(sumo.vkm[h], sumo.vht[h]))
                        for h in peak
                    ]
                )
            )
            if len(peak)
            else float("nan")
            for tag, r in (("ctm", b), ("ctm_turns", bt))
        },  # fmt: skip
    }


def inputs(bologna: Path | None) -> tuple[dict[str, pa.Table], list[str]]:
    """comune's road graph, loop counts and statistical areas (real where `bologna` has them,
    else seeded synthetic ones); the names of the synthetic ones."""
    from connector.partnerdata.prepare import partner_table

    tables: dict[str, pa.Table] = {}
    synthetic = []
    for dataset in ("road-graph", "traffic-loop-counts", "statistical-areas"):
        tables[dataset], synth = partner_table("comune", dataset, bologna, SEED)
        if synth:
            synthetic.append(dataset)
    return tables, synthetic


def validate(
    bologna: Path | None, hours: int = 24, keep: Path | None = None, sumo_model: str = "ltm"
) -> dict[str, Any]:
    """Both tools on comune's tables: the comparison, with which inputs were synthetic. With
    `keep`, SUMO's network, routes and configuration stay there (to run SUMO by hand)."""
    tables, synthetic = inputs(bologna)
    result = compare(tables, hours, keep, sumo_model)
    result["synthetic_inputs"] = synthetic
    if keep is not None:
        (keep / "gemello.sumocfg").write_text(
            '<configuration>\n  <input>\n    <net-file value="gemello.net.xml"/>\n'
            '    <route-files value="routes.rou.xml.gz"/>\n'
            '    <additional-files value="meso-types.add.xml"/>\n  </input>\n'
            f'  <time>\n    <begin value="0"/>\n    <end value="{hours * 3600}"/>\n'
            '  </time>\n  <mesoscopic>\n    <mesosim value="true"/>\n'
            '    <meso-junction-control value="false"/>\n'
            '    <meso-multi-queue value="true"/>\n  </mesoscopic>\n</configuration>\n'
        )
    return result


def markdown(r: dict[str, Any]) -> list[str]:
    """The tables docs/models.md shows."""
    g = r["geh_pass"]
    s = r["seconds"]

    def pct(x: float) -> str:
        return f"{100 * x:.0f} %"

    def gap(x: float) -> str:  # no peak hour simulated: no gap
        return f"{x:.1f}" if np.isfinite(x) else "—"

    lines = [
        f"SUMO's {'link transmission' if r['sumo_model'] == 'ltm' else 'queue'} model, "
        f"{r['hours']} h simulated, {r['links']:,} links, {r['loops']} counted arcs, "
        f"{r['vehicles']:,} vehicles drawn for SUMO ({r['teleports']:,} teleported after "
        f"waiting 300 s in a jam). Synthetic inputs: "
        f"{', '.join(r['synthetic_inputs']) or 'none'}. CTM: its two junction models "
        "(decision 0036), 'shares' (the default) and 'turns' (each turn's vehicles kept).",
        "",
        "| | CTM, shares | CTM, turns | SUMO meso |",
        "|---|---:|---:|---:|",
        f"| GEH < 5 on counted arc-hours, in-sample | {pct(g['ctm'])} | "
        f"{pct(g['ctm_turns'])} | {pct(g['sumo'])} |",
        f"| GEH < 5, held-out loops (free-flow prediction) | {pct(g['ctm_heldout'])} | — | — |",
        f"| mean speed gap to SUMO, {PEAK[0]:02d}–{PEAK[1]:02d} h, km/h | "
        f"{gap(r['peak_speed_gap']['ctm'])} | {gap(r['peak_speed_gap']['ctm_turns'])} | — |",
        f"| vehicle-km | {r['vkm']['ctm']:,.0f} | {r['vkm']['ctm_turns']:,.0f} | "
        f"{r['vkm']['sumo']:,.0f} |",
        f"| wall time, s | {s['ctm']:.1f} | {s['ctm_turns']:.1f} | {s['sumo']:.1f} |",
        f"| wall time per simulated day, s | {s['ctm'] * 24 / r['hours']:.1f} | "
        f"{s['ctm_turns'] * 24 / r['hours']:.1f} | {s['sumo'] * 24 / r['hours']:.1f} |",
        "",
        "| hour | counted, veh/h | CTM shares | CTM turns | SUMO | GEH < 5: shares | turns | "
        "SUMO | mean speed, km/h: shares | turns | SUMO |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for h in r["hourly"]:
        lines.append(
            f"| {h['hour']:02d} | {h['counted']:.0f} | {h['ctm']:.0f} | {h['ctm_turns']:.0f} | "
            f"{h['sumo']:.0f} | {pct(h['geh_ctm'])} | {pct(h['geh_ctm_turns'])} | "
            f"{pct(h['geh_sumo'])} | {h['speed_ctm']:.1f} | {h['speed_ctm_turns']:.1f} | "
            f"{h['speed_sumo']:.1f} |"
        )
    return lines
