"""Cell transmission model (Daganzo's discretisation of LWR) on a road network: kernel and twin.

Links are chains of cells. Each step every cell offers a sending flow min(v dt/l · n, Q) and a
receiving flow min(Q, w dt/l · (N - n)); inside a link the flow between neighbours is the lesser
of the two. At a node, each incoming link's sending flow loses a fixed exit share (trips ending
there) and splits evenly over the outgoing links other than its own reverse; every outgoing link
admits at most its receiving flow, and an incoming link is held back by its most constrained
destination (first-in-first-out). Demand enters each link's first cell from a source queue.

Per hour the kernel adds up, per cell, vehicle-kilometres (outflow x cell length) and
vehicle-hours (occupancy x dt), and per link the vehicles leaving it (what a loop counts).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, fastmath=True, parallel=True)
def simulate(
    cell_jam: np.ndarray,  # (cells,) N: vehicles the cell holds at jam density
    cell_cap: np.ndarray,  # (cells,) Q: vehicles per step at capacity
    cell_v: np.ndarray,  # (cells,) v dt / l (<= 1)
    cell_w: np.ndarray,  # (cells,) w dt / l (<= 1)
    cell_len_km: np.ndarray,  # (cells,)
    link_first: np.ndarray,  # (links,) first cell of each link
    link_last: np.ndarray,  # (links,) last cell
    by_dst_start: np.ndarray,  # (links + 1,) turns into each link (CSR)
    by_dst_cell: np.ndarray,  # last cell of the incoming link of each turn
    by_dst_share: np.ndarray,  # its share of the incoming link's sending flow
    by_src_start: np.ndarray,  # (links + 1,) turns out of each link (CSR)
    by_src_dst: np.ndarray,  # destination link of each turn, grouped by incoming link
    demand: np.ndarray,  # (hours, links) vehicles per step entering each link
    steps_per_hour: int,
    dt_h: float,
    vkm: np.ndarray,  # (hours, cells) written
    vht: np.ndarray,  # (hours, cells) written
    link_flow: np.ndarray,  # (hours, links) vehicles leaving each link, written
) -> None:
    """Run `hours` hours of `steps_per_hour` steps from an empty network.

    Four passes a step: links (flows inside them and the demand on their entry), links (their
    exit, held back by the tightest destination), links (what enters them), cells (the update,
    fused with the next step's sending and receiving flows).
    """
    n_cells = cell_jam.shape[0]
    n_links = link_first.shape[0]
    hours = demand.shape[0]
    occ = np.zeros(n_cells)
    send = np.zeros(n_cells)
    recv = np.empty(n_cells)
    out = np.empty(n_cells)
    inflow = np.empty(n_cells)
    want = np.empty(n_links)
    queue = np.zeros(n_links)
    for c in prange(n_cells):
        recv[c] = min(cell_cap[c], cell_w[c] * cell_jam[c])
    for h in range(hours):
        vkm[h, :] = 0.0
        vht[h, :] = 0.0
        link_flow[h, :] = 0.0
        for _ in range(steps_per_hour):
            for j in prange(n_links):
                first, last = link_first[j], link_last[j]
                for c in range(first, last):
                    y = min(send[c], recv[c + 1])
                    out[c] = y
                    inflow[c + 1] = y
                w = 0.0
                for t in range(by_dst_start[j], by_dst_start[j + 1]):
                    w += send[by_dst_cell[t]] * by_dst_share[t]
                want[j] = w
            for i in prange(n_links):
                last = link_last[i]
                ratio = 1.0
                for t in range(by_src_start[i], by_src_start[i + 1]):
                    j = by_src_dst[t]
                    if want[j] > 0.0:
                        ratio = min(ratio, recv[link_first[j]] / want[j])
                out[last] = send[last] * ratio
                link_flow[h, i] += out[last]
            for j in prange(n_links):
                first = link_first[j]
                got = 0.0
                for t in range(by_dst_start[j], by_dst_start[j + 1]):
                    got += out[by_dst_cell[t]] * by_dst_share[t]
                q = queue[j] + demand[h, j]
                enter = min(q, max(recv[first] - got, 0.0))
                queue[j] = q - enter
                inflow[first] = got + enter
            for c in prange(n_cells):
                vkm[h, c] += out[c] * cell_len_km[c]
                n = occ[c] + inflow[c] - out[c]
                occ[c] = n
                vht[h, c] += n * dt_h
                send[c] = min(cell_v[c] * n, cell_cap[c])
                recv[c] = min(cell_cap[c], cell_w[c] * (cell_jam[c] - n))


def turns(
    node_in_start: np.ndarray,
    node_in: np.ndarray,
    node_out_start: np.ndarray,
    node_out: np.ndarray,
    reverse: np.ndarray,
    link_last: np.ndarray,
    exit_share: float,
) -> dict[str, np.ndarray]:
    """The turning movements: at each node, every incoming link feeds every outgoing link but
    its own reverse, evenly, after the exit share; as CSR by destination and by source."""
    src, dst, share = [], [], []
    for node in range(len(node_in_start) - 1):
        ins = node_in[node_in_start[node] : node_in_start[node + 1]]
        outs = node_out[node_out_start[node] : node_out_start[node + 1]]
        for i in ins:
            targets = [j for j in outs if j != reverse[i]]
            for j in targets:
                src.append(i)
                dst.append(j)
                share.append((1.0 - exit_share) / len(targets))
    n_links = len(link_last)
    s, d, f = np.array(src, np.int64), np.array(dst, np.int64), np.array(share)
    by_dst = np.argsort(d, kind="stable")
    by_src = np.argsort(s, kind="stable")
    return {
        "by_dst_start": np.searchsorted(d[by_dst], np.arange(n_links + 1)).astype(np.int64),
        "by_dst_cell": link_last[s[by_dst]],
        "by_dst_share": f[by_dst],
        "by_src_start": np.searchsorted(s[by_src], np.arange(n_links + 1)).astype(np.int64),
        "by_src_dst": d[by_src],
        "src": s,
        "dst": d,
        "share": f,
    }


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
    vkm: np.ndarray,
    vht: np.ndarray,
    link_flow: np.ndarray,
) -> None:
    """The same model with NumPy array operations (the baseline): turns as (incoming,
    outgoing, share) triples reduced with bincount and minimum.at."""
    n_cells, n_links = len(cell_jam), len(link_first)
    inner = np.ones(n_cells, bool)
    inner[link_last] = False
    inner_c = np.nonzero(inner)[0]
    occ = np.zeros(n_cells)
    queue = np.zeros(n_links)
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
            want = np.bincount(dst, s_last[src] * share, n_links)
            ratio_j = np.where(want > 0, recv[link_first] / np.where(want > 0, want, 1), np.inf)
            hold = np.ones(n_links)
            np.minimum.at(hold, src, ratio_j[dst])
            sent = s_last * hold
            out[link_last] = sent
            got = np.bincount(dst, sent[src] * share, n_links)
            room = np.maximum(recv[link_first] - got, 0.0)
            q = queue + demand[h]
            enter = np.minimum(q, room)
            queue = q - enter
            inflow[link_first] = got + enter
            link_flow[h] += sent
            vkm[h] += out * cell_len_km
            occ += inflow - out
            vht[h] += occ * dt_h
