"""Cell transmission model (Daganzo's discretisation of LWR) on a road network: kernel and twin.

Links are chains of cells. Each step every cell offers a sending flow min(v dt/l · n, Q) and a
receiving flow min(Q, w dt/l · (N - n)); inside a link the flow between neighbours is the lesser
of the two. At a node, each incoming link's sending flow splits over the outgoing links by its
turning shares (per turn, from route choice or an even split; what is left over exits: trips
ending there); every outgoing link admits at most its receiving flow, shared in proportion to
what each incoming link sends it. A full outgoing link holds back only the vehicles turning
into it (no first-in-first-out across turns: urban approaches have turning lanes; see
docs/decisions/0016). Demand enters each link's first cell from a source queue.

Two junction models (decision 0036). With `give_up` < 0 ("shares", the default) a link's last
cell sends by the fixed turning shares, whatever was held back before: a vehicle held back
from a full link may leave by another next step. With `give_up` >= 0 ("turns") the last cell
keeps, per turn, the vehicles bound that way: a held-back turn's vehicles stay and fill the
cell until it blocks the link behind it (spillback), the other turns still pass (one queue per
turning direction, as SUMO's mesoscopic junctions with `--meso-multi-queue`), and each step a
share `give_up` (dt / the give-up time) of every turn's vehicles takes the usual shares again,
as a driver stuck at a turn takes another way.

The kernel works node by node, not turn by turn (see `simulate`); the NumPy twin works on the
turning movements and checks it.

Per hour the kernel adds up, per cell, vehicle-kilometres (outflow x cell length) and
vehicle-hours (occupancy x dt), and per link the vehicles leaving it (what a loop counts).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
from numba import njit, prange

ARMS = 4  # nodes with up to this many arms run the unrolled path (~99.5% of Bologna's)
KEEP_TURNS = False  # the junction model a compiled variant of `_simulate` runs (see below)


@njit(inline="always")
def _admit(waiting: float, turning: float, room: float) -> tuple[float, float]:
    """An outgoing link at a node: the vehicles turning into it, then queued demand up to the
    room its first cell has left. Returns (demand still waiting, flow entering the link)."""
    entering = min(waiting, max(room - turning, 0.0))
    return waiting - entering, turning + entering


@njit(inline="always")
def _blocked(want: float, room: float) -> float:
    """The share of what an outgoing link is sent that it cannot take this step."""
    return max(1.0 - room / want, 0.0) if want > 0.0 else 0.0


@njit(inline="always")
def _turn_mix(
    tracked: np.ndarray,  # (arms,) this arm's kept vehicles per turn, updated
    comp: np.ndarray,  # (arms,) written: their share of the cell's occupancy
    share: np.ndarray,  # (arms,) the turning shares
    n: float,  # the last cell's occupancy
    into: float,  # what entered it in the last cell pass
    give_up: float,
) -> None:
    """One incoming last cell's kept turns: what entered splits by the shares, a share
    `give_up` of each turn's vehicles takes the shares again, and the composition follows
    (the shares themselves in an empty cell; never more than the cell holds)."""
    total = 0.0
    for j in range(share.shape[0]):
        x = tracked[j] + into * share[j]
        x = max(x + give_up * (n * share[j] - x), 0.0)
        tracked[j] = x
        total += x
    if n > 1e-9:
        scale = 1.0 / max(n, total)
        for j in range(share.shape[0]):
            comp[j] = tracked[j] * scale
    else:
        for j in range(share.shape[0]):
            comp[j] = share[j]


@njit(inline="always")
def _composition(
    tracked: np.ndarray,  # (ARMS, ARMS) one junction's kept turns, updated
    comp: np.ndarray,  # (ARMS, ARMS) written
    share: np.ndarray,  # (ARMS, ARMS)
    arm_in: np.ndarray,  # (ARMS,) its incoming last cells
    occ: np.ndarray,
    into: np.ndarray,
    give_up: float,
) -> np.ndarray:
    """The junction's turning matrix from its kept turns (see `_turn_mix`); returns `comp`."""
    for i in range(ARMS):
        c = arm_in[i]
        _turn_mix(tracked[i], comp[i], share[i], occ[c + 1], into[c], give_up)
    return comp


@njit(inline="always")
def _leave(tracked: np.ndarray, sends: tuple, comp: np.ndarray, blocked: tuple) -> None:
    """Take what each turn passed this step out of the kept turns."""
    for i in range(ARMS):
        for j in range(ARMS):
            tracked[i, j] -= sends[i] * comp[i, j] * (1.0 - blocked[j])


@njit
def _wide_composition(
    start: int,
    n_k: int,
    ins: np.ndarray,
    share: np.ndarray,  # (n_k * n_k,) row-major
    tracked: np.ndarray,  # every wide junction's kept turns, updated
    occ: np.ndarray,
    into: np.ndarray,
    give_up: float,
    scratch: np.ndarray,
) -> np.ndarray:
    """`_composition` for a junction with more than ARMS arms; returns a view of `scratch`."""
    for u in range(n_k):
        c = ins[u]
        _turn_mix(
            tracked[start + u * n_k : start + (u + 1) * n_k],
            scratch[u * n_k : (u + 1) * n_k],
            share[u * n_k : (u + 1) * n_k],
            occ[c + 1],
            into[c],
            give_up,
        )
    return scratch[: n_k * n_k]


def _simulate(
    cell_jam: np.ndarray,  # (cells,) N: vehicles the cell holds at jam density
    cell_cap: np.ndarray,  # (cells,) Q: vehicles per step at capacity
    cell_v: np.ndarray,  # (cells,) v dt / l (<= 1)
    cell_w: np.ndarray,  # (cells,) w dt / l (<= 1)
    cell_len_km: np.ndarray,  # (cells,)
    link_first: np.ndarray,  # (links,) first cell of each link
    link_last: np.ndarray,  # (links,) last cell
    arm_in: np.ndarray,  # (junctions, ARMS) last cell of each arm's incoming link (pad: cells)
    arm_out: np.ndarray,  # (junctions, ARMS) first cell of its outgoing link (pad: cells + 1)
    arm_link: np.ndarray,  # (junctions, ARMS) the outgoing link (pad: -1)
    arm_share: np.ndarray,  # (junctions, ARMS, ARMS) share of arm i's incoming flow to arm j
    wide_start: np.ndarray,  # (wide + 1,) arms of the junctions with more than ARMS (CSR)
    wide_in: np.ndarray,
    wide_out: np.ndarray,
    wide_link: np.ndarray,
    wide_mat: np.ndarray,  # (wide,) where each wide junction's arms x arms shares start
    wide_share: np.ndarray,  # (sum of arms^2,) row-major: from arm, to arm
    demand: np.ndarray,  # (hours, links) vehicles per step entering each link
    steps_per_hour: int,
    dt_h: float,
    give_up: float,  # < 0: turns by the shares; else turns kept, this share given up a step
    vkm: np.ndarray,  # (hours, cells) written
    vht: np.ndarray,  # (hours, cells) written
    link_flow: np.ndarray,  # (hours, links) vehicles leaving each link, written
) -> None:
    """Run `hours` hours of `steps_per_hour` steps from an empty network.

    Two passes a step. **Junctions**: every node reads the sending flow of its incoming links'
    last cells and the receiving flow of its outgoing links' first cells, and writes what
    leaves the former and enters the latter. An arm is an outgoing link and its reverse, the
    incoming link; m[i, j] is the share of arm i's incoming flow that turns into arm j. Arm j
    is sent w_j = sum_i s_i m[i, j]; if it cannot take it all, it turns away a share b_j of
    every turn into it, so incoming link i keeps s_i sum_j m[i, j] b_j. Both are a 4 x 4
    matrix-vector product (decision 0017). Junctions of up to ARMS arms run unrolled, padded
    with a cell that never sends and one that always admits (whose b is 0) and zero shares.
    **Cells**: each cell moves to the next occupancy (its inner flows from its neighbours'
    previous occupancy, its boundary flows from the junction pass) and prepares its sending
    and receiving flows for the next junction pass. Occupancy is double-buffered.
    """
    n_cells = cell_jam.shape[0]
    n_links = link_first.shape[0]
    hours = demand.shape[0]
    n_arm = arm_in.shape[0]
    one, zero = 1.0, 0.0
    # sending / receiving flow per cell; cell n_cells never sends, n_cells + 1 always admits
    send = np.zeros(n_cells + 2)
    recv = np.zeros(n_cells + 2)
    recv[n_cells + 1] = 1e30
    j_in = np.zeros(n_cells + 2)  # what enters a link's first cell from its junction
    j_out = np.zeros(n_cells + 2)  # what leaves a link's last cell into its junction
    ends = np.zeros(n_cells, np.uint8)  # bit 1: first cell of its link, bit 2: last
    for j in range(n_links):
        ends[link_first[j]] |= 1
        ends[link_last[j]] |= 2
    # occupancy and parameters with one cell of padding each side: cell c at c + 1
    occ = np.zeros(n_cells + 2)
    nxt = np.zeros(n_cells + 2)
    p_v = np.zeros(n_cells + 2)
    p_cap = np.zeros(n_cells + 2)
    p_w = np.zeros(n_cells + 2)
    p_wn = np.zeros(n_cells + 2)
    for c in range(n_cells):
        p_v[c + 1] = cell_v[c]
        p_cap[c + 1] = cell_cap[c]
        p_w[c + 1] = cell_w[c]
        p_wn[c + 1] = cell_w[c] * cell_jam[c]
        recv[c] = min(cell_cap[c], cell_w[c] * cell_jam[c])
    queue = np.zeros((n_arm, ARMS))  # demand waiting to enter each arm's outgoing link
    left = np.zeros((n_arm, ARMS))  # vehicles that left each arm's incoming link this hour
    wide_queue = np.zeros(wide_in.shape[0])
    wide_left = np.zeros(wide_in.shape[0])
    n_wide = wide_start.shape[0] - 1
    widest = 1
    for k in range(n_wide):
        widest = max(widest, wide_start[k + 1] - wide_start[k])
    wide_want = np.zeros(widest)
    wide_b = np.zeros(widest)
    # kept turns: per arm i and arm j the vehicles in i's incoming last cell bound for j, and
    # what entered each last cell in the cell pass (added by the shares at the next junction)
    kept = KEEP_TURNS  # a constant in each compiled variant: the default's pays nothing for it
    tracked = np.zeros((n_arm if kept else 0, ARMS, ARMS))
    comp = np.zeros((n_arm if kept else 0, ARMS, ARMS))  # tracked / the cell's occupancy
    # a junction where nothing was ever held back keeps its turns by the shares exactly (its
    # `tracked` is each cell's occupancy times the shares): it skips the bookkeeping
    by_shares = np.ones(n_arm if kept else 0, np.bool_)
    wide_tracked = np.zeros(wide_share.shape[0] if kept else 0)
    into = np.zeros(n_cells + 2 if kept else 0)
    wide_c = np.zeros(widest * widest if kept else 0)
    for h in range(hours):
        left[:] = zero
        wide_left[:] = zero
        for c in prange(n_cells):
            vkm[h, c] = zero
            vht[h, c] = zero
        for _ in range(steps_per_hour):
            for k in prange(n_arm):
                m = arm_share[k]
                if kept and not by_shares[k]:
                    m = _composition(tracked[k], comp[k], m, arm_in[k], occ, into, give_up)
                i0, i1, i2, i3 = arm_in[k, 0], arm_in[k, 1], arm_in[k, 2], arm_in[k, 3]
                f0, f1, f2, f3 = arm_out[k, 0], arm_out[k, 1], arm_out[k, 2], arm_out[k, 3]
                s0, s1, s2, s3 = send[i0], send[i1], send[i2], send[i3]
                r0, r1, r2, r3 = recv[f0], recv[f1], recv[f2], recv[f3]
                w0 = s0 * m[0, 0] + s1 * m[1, 0] + s2 * m[2, 0] + s3 * m[3, 0]
                w1 = s0 * m[0, 1] + s1 * m[1, 1] + s2 * m[2, 1] + s3 * m[3, 1]
                w2 = s0 * m[0, 2] + s1 * m[1, 2] + s2 * m[2, 2] + s3 * m[3, 2]
                w3 = s0 * m[0, 3] + s1 * m[1, 3] + s2 * m[2, 3] + s3 * m[3, 3]
                b0, b1 = _blocked(w0, r0), _blocked(w1, r1)
                b2, b3 = _blocked(w2, r2), _blocked(w3, r3)
                o0 = s0 * (one - m[0, 0] * b0 - m[0, 1] * b1 - m[0, 2] * b2 - m[0, 3] * b3)
                o1 = s1 * (one - m[1, 0] * b0 - m[1, 1] * b1 - m[1, 2] * b2 - m[1, 3] * b3)
                o2 = s2 * (one - m[2, 0] * b0 - m[2, 1] * b1 - m[2, 2] * b2 - m[2, 3] * b3)
                o3 = s3 * (one - m[3, 0] * b0 - m[3, 1] * b1 - m[3, 2] * b2 - m[3, 3] * b3)
                left[k, 0] += o0
                left[k, 1] += o1
                left[k, 2] += o2
                left[k, 3] += o3
                outs = (o0, o1, o2, o3)
                turning = (w0 * (one - b0), w1 * (one - b1), w2 * (one - b2), w3 * (one - b3))
                if kept and (not by_shares[k] or b0 + b1 + b2 + b3 > zero):
                    if by_shares[k]:  # first held back: the turns as the shares kept them
                        by_shares[k] = False
                        for i in range(ARMS):
                            n_i = occ[arm_in[k, i] + 1]
                            for j in range(ARMS):
                                tracked[k, i, j] = n_i * m[i, j]
                    _leave(tracked[k], (s0, s1, s2, s3), m, (b0, b1, b2, b3))
                ins, firsts, rooms = (i0, i1, i2, i3), (f0, f1, f2, f3), (r0, r1, r2, r3)
                for t in range(ARMS):
                    if firsts[t] < n_cells:  # padding arms point at the spare cells: no writes
                        j_out[ins[t]] = outs[t]
                        queue[k, t], j_in[firsts[t]] = _admit(
                            queue[k, t] + demand[h, arm_link[k, t]], turning[t], rooms[t]
                        )
            for k in range(n_wide):  # the few junctions with more arms, in a loop
                a, b = wide_start[k], wide_start[k + 1]
                n_k = b - a
                mat = wide_share[wide_mat[k] : wide_mat[k] + n_k * n_k]  # row: from arm
                if kept:
                    mat = _wide_composition(
                        wide_mat[k],
                        n_k,
                        wide_in[a:b],
                        mat,
                        wide_tracked,
                        occ,
                        into,
                        give_up,
                        wide_c,
                    )
                for t in range(n_k):
                    want = zero
                    for u in range(n_k):
                        want += send[wide_in[a + u]] * mat[u * n_k + t]
                    wide_want[t] = want
                    wide_b[t] = _blocked(want, recv[wide_out[a + t]])
                for u in range(n_k):
                    kept_back = zero
                    for t in range(n_k):
                        kept_back += mat[u * n_k + t] * wide_b[t]
                    o = send[wide_in[a + u]] * (one - kept_back)
                    j_out[wide_in[a + u]] = o
                    wide_left[a + u] += o
                    if kept:
                        for t in range(n_k):
                            wide_tracked[wide_mat[k] + u * n_k + t] -= (
                                send[wide_in[a + u]] * mat[u * n_k + t] * (one - wide_b[t])
                            )
                for t in range(n_k):
                    wide_queue[a + t], j_in[wide_out[a + t]] = _admit(
                        wide_queue[a + t] + demand[h, wide_link[a + t]],
                        wide_want[t] * (one - wide_b[t]),
                        recv[wide_out[a + t]],
                    )
            for c in prange(n_cells):
                n_prev, n_here, n_next = occ[c], occ[c + 1], occ[c + 2]
                s_prev = min(p_v[c] * n_prev, p_cap[c])
                s_here = min(p_v[c + 1] * n_here, p_cap[c + 1])
                r_here = min(p_cap[c + 1], p_wn[c + 1] - p_w[c + 1] * n_here)
                r_next = min(p_cap[c + 2], p_wn[c + 2] - p_w[c + 2] * n_next)
                end = ends[c]
                enter = j_in[c] if end & 1 else min(s_prev, r_here)
                leave = j_out[c] if end & 2 else min(s_here, r_next)
                n = n_here + enter - leave
                nxt[c + 1] = n
                if kept and end & 2:
                    into[c] = enter
                vkm[h, c] += leave
                vht[h, c] += n
                send[c] = min(p_v[c + 1] * n, p_cap[c + 1])
                recv[c] = min(p_cap[c + 1], p_wn[c + 1] - p_w[c + 1] * n)
            occ, nxt = nxt, occ
        for c in prange(n_cells):
            vkm[h, c] *= cell_len_km[c]
            vht[h, c] *= dt_h
        for k in range(n_arm):
            for t in range(ARMS):
                if arm_link[k, t] >= 0:
                    link_flow[h, arm_link[k, t] ^ 1] = left[k, t]
        for t in range(wide_in.shape[0]):
            link_flow[h, wide_link[t] ^ 1] = wide_left[t]


def _renamed(fn: types.FunctionType, name: str, **constants: object) -> types.FunctionType:
    """The same function under another name: numba names its cache files after the function,
    not after the compile options, so two compilations of one function must not share one.
    `constants` replace module globals, which numba compiles in as constants."""
    scope = {**fn.__globals__, **constants} if constants else fn.__globals__
    copy = types.FunctionType(fn.__code__, scope, name, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = name
    copy.__doc__ = fn.__doc__
    copy.__module__ = fn.__module__
    return copy


# One run over every core (each pass split between the threads: the benchmark, a single run).
simulate = njit(cache=True, fastmath=True, parallel=True)(_simulate)
# One run on the calling thread, without the GIL: several runs at once, one per core, skip the
# two thread hand-offs a step costs (the model runs its baseline and its scenario this way).
simulate_one_core = njit(cache=True, fastmath=True, nogil=True)(
    _renamed(_simulate, "simulate_one_core")  # type: ignore[arg-type]
)
# The same two with kept turns (`give_up` >= 0); a run of either model calls `kernel_for`.
simulate_turns = njit(cache=True, fastmath=True, parallel=True)(
    _renamed(_simulate, "simulate_turns", KEEP_TURNS=True)  # type: ignore[arg-type]
)
simulate_turns_one_core = njit(cache=True, fastmath=True, nogil=True)(
    _renamed(_simulate, "simulate_turns_one_core", KEEP_TURNS=True)  # type: ignore[arg-type]
)


def kernel_for(give_up: float, one_core: bool) -> Any:
    """The compiled variant for a junction model (`give_up` < 0: shares) and a thread plan."""
    if give_up >= 0:
        return simulate_turns_one_core if one_core else simulate_turns
    return simulate_one_core if one_core else simulate


def turn_table(
    node_in_start: np.ndarray, node_in: np.ndarray, node_out_start: np.ndarray, node_out: np.ndarray
) -> dict[str, np.ndarray]:
    """Every turning movement, U-turns included, as (incoming, outgoing) pairs: the turns of
    incoming link a are `start[a]` to `start[a + 1]`, one per outgoing link of its head node in
    `node_out` order (so a share array indexed like `src` gives both the kernel's arms and the
    twin's triples). Also each link's tail node and its place among that node's outgoing
    links (`out_pos`): turn `start[a] + out_pos[b]` goes from a into b."""
    n_links, nodes = len(node_in), len(node_in_start) - 1
    arms = np.diff(node_out_start)
    head = np.empty(n_links, np.int64)
    head[node_in] = np.repeat(np.arange(nodes), np.diff(node_in_start))
    tail = np.empty(n_links, np.int64)
    tail[node_out] = np.repeat(np.arange(nodes), arms)
    out_pos = np.empty(n_links, np.int64)
    out_pos[node_out] = np.arange(len(node_out)) - np.repeat(node_out_start[:-1], arms)
    fan = arms[head]
    start = np.concatenate([[0], np.cumsum(fan)]).astype(np.int64)
    src = np.repeat(np.arange(n_links, dtype=np.int64), fan)
    offset = np.arange(len(src)) - start[src]
    dst = node_out[node_out_start[head[src]] + offset].astype(np.int64)
    return {"start": start, "src": src, "dst": dst, "tail": tail, "out_pos": out_pos}


def even_shares(turns: dict[str, np.ndarray], reverse: np.ndarray, exit_share: float) -> np.ndarray:
    """Turning shares without routes: an incoming flow splits evenly over the outgoing links but
    its own reverse, after the exit share (all of it exits at a dead end)."""
    fan = np.diff(turns["start"])[turns["src"]]
    u_turn = turns["dst"] == reverse[turns["src"]]
    return np.where(u_turn | (fan < 2), 0.0, (1.0 - exit_share) / np.maximum(fan - 1, 1))


def junctions(
    node_out_start: np.ndarray,
    node_out: np.ndarray,
    link_first: np.ndarray,
    link_last: np.ndarray,
) -> dict[str, np.ndarray]:
    """The nodes as the kernel reads them (their shares come per run, from `arm_shares`). Arm
    t of a node is its outgoing link node_out[t] and the incoming link that is its reverse
    (link ^ 1): every link has its reverse, so a node has as many incoming as outgoing links.
    Nodes are ordered by their first outgoing link (links are in space-filling order, so
    neighbouring nodes touch neighbouring cells), then by arm count within blocks of 64 (the
    unrolled path's branches then repeat)."""
    n_cells = int(link_last[-1]) + 1 if len(link_last) else 0
    arms = np.diff(node_out_start)
    nodes = np.nonzero(arms > 0)[0]
    lowest = np.array([node_out[node_out_start[k] : node_out_start[k + 1]].min() for k in nodes])
    nodes = nodes[np.argsort(lowest, kind="stable")]
    narrow = nodes[arms[nodes] <= ARMS]
    narrow = narrow[np.lexsort((arms[narrow], np.arange(len(narrow)) // 64))]
    wide = nodes[arms[nodes] > ARMS]
    arm_in = np.full((len(narrow), ARMS), n_cells, np.int64)
    arm_out = np.full((len(narrow), ARMS), n_cells + 1, np.int64)
    arm_link = np.full((len(narrow), ARMS), -1, np.int64)
    for row, k in enumerate(narrow):
        out = node_out[node_out_start[k] : node_out_start[k + 1]]
        arm_in[row, : len(out)] = link_last[out ^ 1]
        arm_out[row, : len(out)] = link_first[out]
        arm_link[row, : len(out)] = out
    wide_link = (
        np.concatenate([node_out[node_out_start[k] : node_out_start[k + 1]] for k in wide])
        if len(wide)
        else np.zeros(0, np.int64)
    ).astype(np.int64)
    return {
        "arm_in": arm_in,
        "arm_out": arm_out,
        "arm_link": arm_link,
        "wide_start": np.concatenate([[0], np.cumsum(arms[wide])]).astype(np.int64),
        "wide_in": link_last[wide_link ^ 1].astype(np.int64),
        "wide_out": link_first[wide_link].astype(np.int64),
        "wide_link": wide_link,
        "wide_mat": np.concatenate([[0], np.cumsum(arms[wide] ** 2)[:-1]]).astype(np.int64)
        if len(wide)
        else np.zeros(0, np.int64),
    }


def arm_shares(
    junction: dict[str, np.ndarray], turn_start: np.ndarray, share: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-turn shares (indexed like `turn_table`) as the kernel reads them: an arms x arms
    matrix per junction (row: the arm the flow comes in on; padding rows and columns zero), and
    the wide junctions' matrices flattened row by row."""
    link = junction["arm_link"]
    mat = np.zeros((len(link), ARMS, ARMS))
    for i in range(ARMS):
        for t in range(ARMS):
            ok = (link[:, i] >= 0) & (link[:, t] >= 0)
            mat[ok, i, t] = share[turn_start[link[ok, i] ^ 1] + t]
    start, wide_link = junction["wide_start"], junction["wide_link"]
    flat = [
        share[turn_start[wide_link[a:b] ^ 1][:, None] + np.arange(b - a)[None, :]].ravel()
        for a, b in zip(start[:-1], start[1:], strict=True)
    ]
    return mat, (np.concatenate(flat) if flat else np.zeros(0))


def simulate_numpy(
    cell_jam: np.ndarray,
    cell_cap: np.ndarray,
    cell_v: np.ndarray,
    cell_w: np.ndarray,
    cell_len_km: np.ndarray,
    link_first: np.ndarray,
    link_last: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    share: np.ndarray,
    demand: np.ndarray,
    steps_per_hour: int,
    dt_h: float,
    give_up: float,
    vkm: np.ndarray,
    vht: np.ndarray,
    link_flow: np.ndarray,
) -> None:
    """The same model with NumPy array operations (the baseline): turns as (incoming,
    outgoing, share) triples reduced with bincount, each turn limited by its destination's
    room on its own; with `give_up` >= 0, each turn's vehicles kept in the last cell."""
    n_cells, n_links = len(cell_jam), len(link_first)
    inner = np.ones(n_cells, bool)
    inner[link_last] = False
    inner_c = np.nonzero(inner)[0]
    occ = np.zeros(n_cells)
    queue = np.zeros(n_links)
    tracked = np.zeros(len(src))  # vehicles in src's last cell bound for dst ("turns")
    into = np.zeros(n_links)  # what entered each last cell in the last step
    for h in range(demand.shape[0]):
        vkm[h] = 0.0
        vht[h] = 0.0
        link_flow[h] = 0.0
        for _ in range(steps_per_hour):
            send = np.minimum(cell_v * occ, cell_cap)
            recv = np.minimum(cell_cap, cell_w * (cell_jam - occ))
            out = np.zeros(n_cells)
            inflow = np.zeros(n_cells)
            y = np.minimum(send[inner_c], recv[inner_c + 1])
            out[inner_c] = y
            inflow[inner_c + 1] = y
            s_last = send[link_last]
            comp = share
            if give_up >= 0:
                n_last = occ[link_last][src]
                tracked = tracked + into[src] * share
                tracked = np.maximum(tracked + give_up * (n_last * share - tracked), 0.0)
                total = np.bincount(src, tracked, n_links)[src]
                scale = np.where(n_last > 1e-9, 1.0 / np.maximum(n_last, 1e-9), 0.0)
                comp = np.where(
                    n_last > 1e-9,
                    tracked * np.minimum(scale, 1.0 / np.maximum(total, 1e-300)),
                    share,
                )
            want = np.bincount(dst, s_last[src] * comp, n_links)
            taken = np.minimum(recv[link_first] / np.where(want > 0, want, 1), 1.0)
            turn = s_last[src] * comp * taken[dst]
            got = np.bincount(dst, turn, n_links)
            exits = s_last * (1.0 - np.bincount(src, comp, n_links))
            tracked = tracked - turn
            sent = np.bincount(src, turn, n_links) + exits
            out[link_last] = sent
            room = np.maximum(recv[link_first] - got, 0.0)
            q = queue + demand[h]
            enter = np.minimum(q, room)
            queue = q - enter
            inflow[link_first] = got + enter
            into = inflow[link_last]
            link_flow[h] += sent
            vkm[h] += out * cell_len_km
            occ += inflow - out
            vht[h] += occ * dt_h
