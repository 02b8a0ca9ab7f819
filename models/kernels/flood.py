"""SCS curve-number runoff routed through a Nash cascade: compiled kernel and NumPy twin.

Per sub-catchment and time step: rain accumulates within an event (an event ends after
`dry_steps` steps without rain, which resets the accumulation); the SCS-CN relation turns
cumulative rain into cumulative runoff, Q = (P - 0.2 S)² / (P + 0.8 S) for P > 0.2 S; the step's
runoff enters a cascade of linear reservoirs, each updated exactly for a constant inflow over
the step (S' = S a + q b, a = exp(-dt/k), b = k (1 - a)). Cascades are padded to MAX_RES
reservoirs with pass-through ones (k -> 0), so every catchment runs the same instructions. Several
runs (a sweep's scenarios) go through at once, the runs innermost (decision 0033).
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

MAX_RES = 4


@njit(cache=True, fastmath=True, parallel=True)
def simulate(
    rain: np.ndarray,  # (steps,) mm per step, the same over the city
    multiplier: np.ndarray,  # (runs,) each run's rain factor
    s_mm: np.ndarray,  # (catchments, runs) SCS potential retention S, sorted by group
    decay: np.ndarray,  # (MAX_RES, catchments) a = exp(-dt/k)
    gain: np.ndarray,  # (MAX_RES, catchments) b = k (1 - a) / dt
    to_flow: np.ndarray,  # (catchments, runs) mm per step -> m³/s
    outlet: np.ndarray,  # (catchments,) each one's outlet, -1: none
    dry_steps: int,
    group_start: np.ndarray,  # (groups + 1,) offsets of each group's catchments
    out: np.ndarray,  # (runs, groups, steps) m³/s summed over each group, written
    outlet_out: np.ndarray,  # (threads, runs, outlets, steps) m³/s per outlet, added to
) -> None:
    """Discharge of every group of catchments (e.g. a statistical area) and of every outlet at
    every step, for several runs at once (a sweep's scenarios: rain factors, retentions, paved
    areas). The runs are the innermost dimension: one catchment's cascade parameters are loaded
    once for all of them, and each step's arithmetic vectorises across the runs. Outlets cross
    the groups: each thread adds to its own slice of `outlet_out`, summed by the caller."""
    steps = rain.shape[0]
    runs = multiplier.shape[0]
    n_outlets = outlet_out.shape[2]
    for g in prange(group_start.shape[0] - 1):
        tid = get_thread_id()
        lo, hi = group_start[g], group_start[g + 1]
        m = hi - lo
        s = s_mm[lo:hi].copy()
        dec = decay[:, lo:hi].copy()
        gn = gain[:, lo:hi].copy()
        scale = to_flow[lo:hi].copy()
        where = outlet[lo:hi].copy()
        store = np.zeros((MAX_RES, m, runs))
        q_prev = np.zeros((m, runs))
        q = np.empty(runs)
        p_cum = np.zeros(runs)
        total = np.empty(runs)
        by_outlet = np.zeros((n_outlets, runs))
        dry = 0
        for t in range(steps):
            r = rain[t]
            if r > 0.0:
                dry = 0
            else:
                dry += 1
                if dry == dry_steps:  # the event is over: the soil starts a new one
                    p_cum[:] = 0.0
                    q_prev[:] = 0.0
            for j in range(runs):
                p_cum[j] += r * multiplier[j]
                total[j] = 0.0
            for i in range(m):
                for j in range(runs):
                    excess = max(p_cum[j] - 0.2 * s[i, j], 0.0)
                    q_cum = excess * excess / (excess + s[i, j])
                    q[j] = q_cum - q_prev[i, j]
                    q_prev[i, j] = q_cum
                for k in range(MAX_RES):
                    a, b = dec[k, i], gn[k, i]
                    for j in range(runs):
                        before = store[k, i, j]
                        after = before * a + q[j] * b
                        store[k, i, j] = after
                        q[j] += before - after
                o = where[i]
                for j in range(runs):
                    flow = q[j] * scale[i, j]
                    total[j] += flow
                    if o >= 0:
                        by_outlet[o, j] += flow
            for j in range(runs):
                out[j, g, t] = total[j]
            for o in range(n_outlets):
                for j in range(runs):
                    outlet_out[tid, j, o, t] += by_outlet[o, j]
                    by_outlet[o, j] = 0.0


def simulate_numpy(
    rain: np.ndarray,
    multiplier: np.ndarray,
    s_mm: np.ndarray,
    decay: np.ndarray,
    gain: np.ndarray,
    to_flow: np.ndarray,
    outlet: np.ndarray,
    dry_steps: int,
    group_start: np.ndarray,
    out: np.ndarray,
    outlet_out: np.ndarray,
) -> None:
    """The same model with NumPy over all catchments and runs at once (the baseline)."""
    store = np.zeros((MAX_RES, *s_mm.shape))
    q_prev = np.zeros(s_mm.shape)
    groups = len(group_start) - 1
    group = np.repeat(np.arange(groups), np.diff(group_start))
    n_outlets = outlet_out.shape[2]
    has = outlet >= 0
    p_cum, dry = np.zeros(len(multiplier)), 0
    for t in range(len(rain)):
        r = rain[t]
        if r > 0:
            dry = 0
        else:
            dry += 1
            if dry == dry_steps:
                p_cum[:] = 0.0
                q_prev[:] = 0.0
        p_cum = p_cum + r * multiplier
        excess = np.maximum(p_cum[None, :] - 0.2 * s_mm, 0.0)
        q_cum = excess * excess / (excess + s_mm)
        inflow = q_cum - q_prev
        q_prev = q_cum
        for k in range(MAX_RES):
            before = store[k].copy()
            store[k] = before * decay[k][:, None] + inflow * gain[k][:, None]
            inflow = inflow + before - store[k]
        flow = inflow * to_flow
        for j in range(len(multiplier)):
            out[j, :, t] = np.bincount(group, flow[:, j], groups)
            outlet_out[0, j, :, t] += np.bincount(outlet[has], flow[has, j], n_outlets)
