"""ISO 13790 hourly 5R1C building model: the compiled kernel and a plain NumPy twin.

Each building is the standard's resistance-capacitance network (air node, surface node, mass
node). With the building's parameters fixed, the air temperature is affine in the heating or
cooling power, so the standard's "compute at 0 W and at 10 W/m², interpolate" step reduces to
one precomputed slope per building; the power needed to hold the set-point follows in closed
form (ideal, unlimited plant). Buildings of one area advance together hour by hour: the inner
loop runs over buildings, which the compiler vectorises, and areas run in parallel.

Inputs per building (SI units, W/K and J/K): h_ve, h_tr_w, h_tr_em, h_tr_is, h_tr_ms, c_m,
a_m/a_t (mass share), phi_int (W), solar aperture (m², W per W/m² of facade irradiance),
floor area. Outputs per area and hour: heating and cooling energy in Wh (power over 1 h), each
building's counted with its weight; and per building its own (unweighted) yearly totals, which
the model needs to bound one building's share of what leaves the holder (decision 0018).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Column order of the parameter matrix
H_VE, H_TR_W, H_TR_EM, H_TR_IS, H_TR_MS, C_M, MASS_SHARE, PHI_INT, APERTURE, FLOOR = range(10)
N_PARAMS = 10


@njit(cache=True, fastmath=True)
def _free_step(p: np.ndarray, theta_m: float, te: float, sol: float) -> tuple[float, float]:
    """One free-floating hour (no heating or cooling): new mass and air temperatures."""
    h_ve, h_w, h_em, h_is, h_ms = p[H_VE], p[H_TR_W], p[H_TR_EM], p[H_TR_IS], p[H_TR_MS]
    h1 = 1.0 / (1.0 / h_ve + 1.0 / h_is)
    h2 = h1 + h_w
    h3 = 1.0 / (1.0 / h2 + 1.0 / h_ms)
    cm = p[C_M] / 3600.0
    phi_ia = 0.5 * p[PHI_INT]
    gains = phi_ia + sol * p[APERTURE]
    phi_m = p[MASS_SHARE] * gains
    phi_st = (1.0 - p[MASS_SHARE] - h_w / (9.1 * (h_is / 3.45))) * gains
    tot = phi_m + h_em * te + h3 * (phi_st + h_w * te + h1 * (phi_ia / h_ve + te)) / h2
    tm_new = (theta_m * (cm - 0.5 * (h3 + h_em)) + tot) / (cm + 0.5 * (h3 + h_em))
    tm = 0.5 * (tm_new + theta_m)
    ts = (h_ms * tm + phi_st + h_w * te + h1 * (te + phi_ia / h_ve)) / (h_ms + h_w + h1)
    ta = (h_is * ts + h_ve * te + phi_ia) / (h_is + h_ve)
    return tm_new, ta


@njit(cache=True, fastmath=True)
def _slopes(p: np.ndarray) -> tuple[float, float]:
    """d(theta_m,t)/d(phi_hc) and d(theta_air)/d(phi_hc): the network is linear."""
    h_ve, h_w, h_em, h_is, h_ms = p[H_VE], p[H_TR_W], p[H_TR_EM], p[H_TR_IS], p[H_TR_MS]
    h1 = 1.0 / (1.0 / h_ve + 1.0 / h_is)
    h2 = h1 + h_w
    h3 = 1.0 / (1.0 / h2 + 1.0 / h_ms)
    k_m = (h3 * h1 / (h_ve * h2)) / (p[C_M] / 3600.0 + 0.5 * (h3 + h_em))
    k_s = (h_ms * 0.5 * k_m + h1 / h_ve) / (h_ms + h_w + h1)
    return k_m, (h_is * k_s + 1.0) / (h_is + h_ve)


@njit(cache=True, fastmath=True, parallel=True)
def simulate(
    params: np.ndarray,  # (buildings, N_PARAMS), sorted by area
    area_start: np.ndarray,  # (areas + 1,) offsets into the sorted buildings
    t_out: np.ndarray,  # (hours,) outdoor air, °C
    solar: np.ndarray,  # (hours,) irradiance on the facade, mean of four orientations, W/m²
    t_heat: float,
    t_cool: float,
    weight: np.ndarray,  # (buildings,) how much of each building's energy its area counts
    heat_out: np.ndarray,  # (areas, hours) Wh, written
    cool_out: np.ndarray,  # (areas, hours) Wh, written
    heat_tot: np.ndarray,  # (buildings,) Wh over all hours, unweighted, written
    cool_tot: np.ndarray,  # (buildings,) Wh over all hours, unweighted, written
) -> None:
    """Advance every building through every hour; sum weighted heating and cooling per area
    and each building's own totals.

    The free-floating step is affine in (theta_m, t_out, solar), so its coefficients are taken
    once per building by evaluating the standard's equations at the unit points; the hourly
    loop is then a handful of fused multiply-adds per building, over contiguous arrays.
    """
    n_areas = area_start.shape[0] - 1
    hours = t_out.shape[0]
    for a in prange(n_areas):
        lo, hi = area_start[a], area_start[a + 1]
        n = hi - lo
        coef = np.empty((10, n))  # tm_new: m, e, s, c; ta: m, e, s, c; k_m; 1/k_air
        for i in range(n):
            p = params[lo + i]
            m0, a0 = _free_step(p, 0.0, 0.0, 0.0)
            m1, a1 = _free_step(p, 1.0, 0.0, 0.0)
            m2, a2 = _free_step(p, 0.0, 1.0, 0.0)
            m3, a3 = _free_step(p, 0.0, 0.0, 1.0)
            coef[0, i], coef[1, i], coef[2, i], coef[3, i] = m1 - m0, m2 - m0, m3 - m0, m0
            coef[4, i], coef[5, i], coef[6, i], coef[7, i] = a1 - a0, a2 - a0, a3 - a0, a0
            k_m, k_air = _slopes(p)
            coef[8, i], coef[9, i] = k_m, 1.0 / k_air
        mm, me, ms, mc = coef[0], coef[1], coef[2], coef[3]
        am, ae, as_, ac = coef[4], coef[5], coef[6], coef[7]
        km, inv_k = coef[8], coef[9]
        w = weight[lo:hi]
        h_sum = np.zeros(n)
        c_sum = np.zeros(n)
        theta_m = np.full(n, 20.0)
        for t in range(hours):
            te = t_out[t]
            sol = solar[t]
            heat = 0.0
            cool = 0.0
            for i in range(n):
                tm = theta_m[i]
                ta = am[i] * tm + ae[i] * te + as_[i] * sol + ac[i]
                # power holding the set-points, branch-free: heating > 0, cooling < 0
                phi = (max(t_heat - ta, 0.0) - max(ta - t_cool, 0.0)) * inv_k[i]
                theta_m[i] = mm[i] * tm + me[i] * te + ms[i] * sol + mc[i] + km[i] * phi
                h = max(phi, 0.0)
                c = max(-phi, 0.0)
                h_sum[i] += h
                c_sum[i] += c
                heat += w[i] * h
                cool += w[i] * c
            heat_out[a, t] = heat
            cool_out[a, t] = cool
        heat_tot[lo:hi] = h_sum
        cool_tot[lo:hi] = c_sum


def simulate_numpy(
    params: np.ndarray,
    area_start: np.ndarray,
    t_out: np.ndarray,
    solar: np.ndarray,
    t_heat: float,
    t_cool: float,
    weight: np.ndarray,
    heat_out: np.ndarray,
    cool_out: np.ndarray,
    heat_tot: np.ndarray,
    cool_tot: np.ndarray,
) -> None:
    """The same model written with NumPy arrays over all buildings at once (the baseline)."""
    heat_tot[:] = 0.0
    cool_tot[:] = 0.0
    p = params
    h_ve, h_w, h_em, h_is, h_ms = (
        p[:, H_VE],
        p[:, H_TR_W],
        p[:, H_TR_EM],
        p[:, H_TR_IS],
        p[:, H_TR_MS],
    )
    h1 = 1.0 / (1.0 / h_ve + 1.0 / h_is)
    h2 = h1 + h_w
    h3 = 1.0 / (1.0 / h2 + 1.0 / h_ms)
    cm = p[:, C_M] / 3600.0
    den = cm + 0.5 * (h3 + h_em)
    st_share = 1.0 - p[:, MASS_SHARE] - h_w / (9.1 * (h_is / 3.45))
    inv_s = 1.0 / (h_ms + h_w + h1)
    air_den = 1.0 / (h_is + h_ve)
    k_m = (h3 * h1 / (h_ve * h2)) / den
    k_air = (h_is * ((h_ms * 0.5 * k_m + h1 / h_ve) * inv_s) + 1.0) * air_den
    theta_m = np.full(len(p), 20.0)
    area_of = np.repeat(np.arange(len(area_start) - 1), np.diff(area_start))
    n_areas = len(area_start) - 1
    phi_ia = 0.5 * p[:, PHI_INT]
    for t in range(len(t_out)):
        te = t_out[t]
        gains = phi_ia + solar[t] * p[:, APERTURE]
        phi_m = p[:, MASS_SHARE] * gains
        phi_st = st_share * gains
        tot = phi_m + h_em * te + h3 * (phi_st + h_w * te + h1 * (phi_ia / h_ve + te)) / h2
        tm_new = (theta_m * (cm - 0.5 * (h3 + h_em)) + tot) / den
        tm = 0.5 * (tm_new + theta_m)
        ts = (h_ms * tm + phi_st + h_w * te + h1 * (te + phi_ia / h_ve)) * inv_s
        ta = (h_is * ts + h_ve * te + phi_ia) * air_den
        phi = (np.maximum(t_heat - ta, 0.0) - np.maximum(ta - t_cool, 0.0)) / k_air
        theta_m = tm_new + k_m * phi
        h, c = np.maximum(phi, 0.0), np.maximum(-phi, 0.0)
        heat_tot += h
        cool_tot += c
        heat_out[:, t] = np.bincount(area_of, weight * h, n_areas)
        cool_out[:, t] = np.bincount(area_of, weight * c, n_areas)
