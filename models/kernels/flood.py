"""SCS curve-number runoff routed through a Nash cascade: compiled kernel and NumPy twin.

Per sub-catchment and time step: rain accumulates within an event (an event ends after
`dry_steps` steps without rain, which resets the accumulation); the SCS-CN relation turns
cumulative rain into cumulative runoff, Q = (P - 0.2 S)² / (P + 0.8 S) for P > 0.2 S; the step's
runoff enters a cascade of linear reservoirs, each updated exactly for a constant inflow over
the step (S' = S a + q b, a = exp(-dt/k), b = k (1 - a)). Cascades are padded to MAX_RES
reservoirs with pass-through ones (k -> 0), so every catchment runs the same instructions and the
inner loop over catchments vectorises.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

MAX_RES = 4


@njit(cache=True, fastmath=True, parallel=True)
def simulate(
    rain: np.ndarray,  # (steps,) mm per step, the same over the city
    s_mm: np.ndarray,  # (catchments,) SCS potential retention S, sorted by group
    decay: np.ndarray,  # (MAX_RES, catchments) a = exp(-dt/k)
    gain: np.ndarray,  # (MAX_RES, catchments) b = k (1 - a) / dt
    to_flow: np.ndarray,  # (catchments,) mm per step -> m³/s
    dry_steps: int,
    group_start: np.ndarray,  # (groups + 1,) offsets of each group's catchments
    out: np.ndarray,  # (groups, steps) m³/s summed over each group, written
) -> None:
    """Discharge of every group of catchments (e.g. area x outlet) at every step."""
    steps = rain.shape[0]
    for g in prange(group_start.shape[0] - 1):
        lo, hi = group_start[g], group_start[g + 1]
        m = hi - lo
        s = s_mm[lo:hi].copy()
        dec = decay[:, lo:hi].copy()
        gn = gain[:, lo:hi].copy()
        scale = to_flow[lo:hi].copy()
        store = np.zeros((MAX_RES, m))
        q_prev = np.zeros(m)
        q = np.empty(m)
        p_cum = 0.0
        dry = 0
        for t in range(steps):
            r = rain[t]
            if r > 0.0:
                dry = 0
            else:
                dry += 1
                if dry == dry_steps:  # the event is over: the soil starts a new one
                    p_cum = 0.0
                    q_prev[:] = 0.0
            p_cum += r
            for i in range(m):
                excess = max(p_cum - 0.2 * s[i], 0.0)
                q_cum = excess * excess / (excess + s[i])
                q[i] = q_cum - q_prev[i]
                q_prev[i] = q_cum
            for k in range(MAX_RES):
                for i in range(m):
                    before = store[k, i]
                    after = before * dec[k, i] + q[i] * gn[k, i]
                    store[k, i] = after
                    q[i] += before - after
            total = 0.0
            for i in range(m):
                total += q[i] * scale[i]
            out[g, t] = total


def simulate_numpy(
    rain: np.ndarray,
    s_mm: np.ndarray,
    decay: np.ndarray,
    gain: np.ndarray,
    to_flow: np.ndarray,
    dry_steps: int,
    group_start: np.ndarray,
    out: np.ndarray,
) -> None:
    """The same model with NumPy over all catchments at once (the baseline)."""
    store = np.zeros((MAX_RES, len(s_mm)))
    q_prev = np.zeros(len(s_mm))
    group = np.repeat(np.arange(len(group_start) - 1), np.diff(group_start))
    p_cum, dry = 0.0, 0
    for t in range(len(rain)):
        r = rain[t]
        if r > 0:
            dry = 0
        else:
            dry += 1
            if dry == dry_steps:
                p_cum = 0.0
                q_prev[:] = 0.0
        p_cum += r
        excess = np.maximum(p_cum - 0.2 * s_mm, 0.0)
        q_cum = excess * excess / (excess + s_mm)
        inflow = q_cum - q_prev
        q_prev = q_cum
        for k in range(MAX_RES):
            before = store[k].copy()
            store[k] = before * decay[k] + inflow * gain[k]
            inflow = inflow + before - store[k]
        out[:, t] = np.bincount(group, inflow * to_flow, len(group_start) - 1)
