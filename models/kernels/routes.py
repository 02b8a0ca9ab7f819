"""All-or-nothing loading on the road graph, link by link: the shortest-path trees behind the
CTM's route choice (models/routes.py runs them inside the method of successive averages).

The trees are built on links, not nodes, so parallel links and the no-U-turn rule need no
special case: a trip may follow link a with link b when b leaves a's head node and is not a's
reverse (except at a dead end, where the reverse is the only way on). A trip to zone z ends
after the first link of z it drives along. Each tree is grown backwards from z's links
(Dijkstra with a binary heap); loading then walks it from the farthest link, so each link's
flow is complete before it moves on.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(inline="always")
def _push(key: np.ndarray, val: np.ndarray, size: int, k: float, v: int) -> int:
    i = size
    key[i], val[i] = k, v
    while i > 0:
        p = (i - 1) >> 1
        if key[p] <= key[i]:
            break
        key[p], key[i] = key[i], key[p]
        val[p], val[i] = val[i], val[p]
        i = p
    return size + 1


@njit(inline="always")
def _pop(key: np.ndarray, val: np.ndarray, size: int) -> int:
    """Remove the root (read it first); returns the new size."""
    size -= 1
    key[0], val[0] = key[size], val[size]
    i = 0
    while True:
        lo, hi, m = 2 * i + 1, 2 * i + 2, i
        if lo < size and key[lo] < key[m]:
            m = lo
        if hi < size and key[hi] < key[m]:
            m = hi
        if m == i:
            return size
        key[m], key[i] = key[i], key[m]
        val[m], val[i] = val[i], val[m]
        i = m


@njit(cache=True)
def _tree(
    cost: np.ndarray,  # (links,) time to drive each link
    ends: np.ndarray,  # (links,) bool: the trip ends after this link
    tail: np.ndarray,  # (links,) node each link leaves
    node_in_start: np.ndarray,
    node_in: np.ndarray,
    reverse: np.ndarray,
    dead_end: np.ndarray,  # (nodes,) bool
    togo: np.ndarray,  # (links,) written: time to the destination from the start of a link
    nxt: np.ndarray,  # (links,) written: the next link (-1: the trip ends after this one)
    order: np.ndarray,  # (links,) written: links in the order they were settled (nearest first)
    key: np.ndarray,  # heap scratch, at least as long as the number of turns + links
    val: np.ndarray,
    done: np.ndarray,
) -> int:
    """The shortest-path tree to one destination; returns how many links reach it."""
    size = 0
    for a in range(cost.shape[0]):
        done[a] = False
        nxt[a] = -2
        togo[a] = np.inf
        if ends[a]:
            togo[a] = cost[a]
            nxt[a] = -1
            size = _push(key, val, size, cost[a], a)
    count = 0
    while size > 0:
        k, a = key[0], val[0]
        size = _pop(key, val, size)
        if done[a]:
            continue
        done[a] = True
        order[count] = a
        count += 1
        u = tail[a]
        for t in range(node_in_start[u], node_in_start[u + 1]):
            p = node_in[t]
            if ends[p] or done[p] or (p == reverse[a] and not dead_end[u]):
                continue
            c = cost[p] + k
            if c < togo[p]:
                togo[p], nxt[p] = c, a
                size = _push(key, val, size, c, p)
    return count


@njit(cache=True, nogil=True)
def all_or_nothing(
    cost: np.ndarray,
    link_zone: np.ndarray,  # (links,) zone index, -1 for none
    zones: np.ndarray,  # destination zones to load
    origin: np.ndarray,  # (links,) each link's share of its zone's trips
    od: np.ndarray,  # (zones, zones) trips an hour
    tail: np.ndarray,
    node_in_start: np.ndarray,
    node_in: np.ndarray,
    reverse: np.ndarray,
    dead_end: np.ndarray,
    turn_start: np.ndarray,  # (links + 1,) the turns of link a: turn_start[a] + out position
    out_pos: np.ndarray,  # (links,) position of each link among its tail node's outgoing links
    link_flow: np.ndarray,  # (links,) added to
    turn_flow: np.ndarray,  # (turns,) added to
    exit_flow: np.ndarray,  # (links,) added to: trips ending after each link
) -> float:
    """Load the trips to `zones` on their shortest paths at `cost`; returns the total of
    flow x time to destination at the origins (the loaded trips' total travel time)."""
    n = cost.shape[0]
    togo = np.empty(n)
    nxt = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    key = np.empty(turn_flow.shape[0] + n + 1)
    val = np.empty(turn_flow.shape[0] + n + 1, np.int64)
    done = np.empty(n, np.bool_)
    ends = np.empty(n, np.bool_)
    flow = np.empty(n)
    total = 0.0
    for z in zones:
        for a in range(n):
            ends[a] = link_zone[a] == z
        count = _tree(
            cost, ends, tail, node_in_start, node_in, reverse, dead_end, togo, nxt, order,
            key, val, done,
        )  # fmt: skip
        for a in range(n):
            flow[a] = 0.0
            o = link_zone[a]
            if o >= 0 and o != z and nxt[a] != -2:
                flow[a] = origin[a] * od[o, z]
                total += flow[a] * togo[a]
        for i in range(count - 1, -1, -1):
            a = order[i]
            x = flow[a]
            if x == 0.0:
                continue
            link_flow[a] += x
            b = nxt[a]
            if b == -1:
                exit_flow[a] += x
            else:
                flow[b] += x
                turn_flow[turn_start[a] + out_pos[b]] += x
    return total


@njit(cache=True, nogil=True)
def zone_times(
    cost: np.ndarray,  # (links,) time to drive each link
    link_zone: np.ndarray,  # (links,) zone index, -1 for none
    zones: np.ndarray,  # destination zones
    origin: np.ndarray,  # (links,) each link's share of its zone's trips
    tail: np.ndarray,
    node_in_start: np.ndarray,
    node_in: np.ndarray,
    reverse: np.ndarray,
    dead_end: np.ndarray,
    n_zones: int,
    n_turns: int,
    times: np.ndarray,  # (zones, zones) written for the columns of `zones`
) -> None:
    """Travel time from every zone to each of `zones` at `cost`: the trips' mean over the
    origin links of a zone (weighted as trips start on them) of the shortest time from the
    start of the link to the end of the destination's first link; NaN where no trip gets
    through (and from a zone to itself)."""
    n = cost.shape[0]
    togo = np.empty(n)
    nxt = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    key = np.empty(n_turns + n + 1)
    val = np.empty(n_turns + n + 1, np.int64)
    done = np.empty(n, np.bool_)
    ends = np.empty(n, np.bool_)
    acc = np.empty(n_zones)
    weight = np.empty(n_zones)
    for z in zones:
        for a in range(n):
            ends[a] = link_zone[a] == z
        _tree(
            cost, ends, tail, node_in_start, node_in, reverse, dead_end, togo, nxt, order,
            key, val, done,
        )  # fmt: skip
        acc[:] = 0.0
        weight[:] = 0.0
        for a in range(n):
            o = link_zone[a]
            if o >= 0 and o != z and nxt[a] != -2 and origin[a] > 0:
                acc[o] += origin[a] * togo[a]
                weight[o] += origin[a]
        for o in range(n_zones):
            times[o, z] = acc[o] / weight[o] if weight[o] > 0 else np.nan
