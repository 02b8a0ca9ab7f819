"""Mobility: an origin-destination gravity model fitted across partners from sufficient statistics.

The doubly constrained gravity model T_ij = A_i O_i B_j D_j exp(-beta d_ij) has, for a given zone
system, the productions O, the attractions D and the total travelled distance C = sum T_ij d_ij
as sufficient statistics of beta (Wilson's entropy model): its maximum-likelihood beta makes the
model's total distance equal the observed one. Several zone systems share one pooled beta by
adding their equations, each scaled to a mean trip length so that a system with millions of
counted passages does not drown one with thousands of trips; each system's own beta is
reported too. So:

- stage `zones` (comune) returns the centroids of the 90 statistical areas (open data);
- stage `flows` runs at every holder of OD data — unibo's WiFi flows between university-area
  zones, fbk's individual trips between statistical areas — and returns O, D and C of its own
  zone system, never a flow between two zones (for the WiFi zones also their distance matrix,
  public and small; the areas' distances the gateway computes from the centroids it sent);
- the gateway adds the equations and solves for beta with Brent's method (Furness balancing inside).

A result from one holder is still a fit (k = 1 of n): it says which systems it used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import brentq

from models import common
from models.base import Context, Model, Noise, Partial, Stage, Tables

# Approximate positions of the BolognaWiFi zones (public landmarks in the university quarter,
# read off the city map; accurate to ~50 m). Zones not listed are left out of the fit.
WIFI_ZONES: dict[str, tuple[float, float]] = {
    "2 Torri (Inizio Portico Via Zamboni)": (44.4943, 11.3470),
    "Facoltà Di Giurisprudenza": (44.4963, 11.3502),
    "Palazzo Poggi": (44.4970, 11.3527),
    "Piazza Puntoni (Via Zamboni)": (44.4975, 11.3545),
    "Piazza Puntoni": (44.4975, 11.3545),
    "Piazza Rossini (Palazzo Malvezzi)": (44.4955, 11.3487),
    "Piazza Scaravilli": (44.4978, 11.3537),
    "Piazza Verdi": (44.4964, 11.3515),
    "Porta San Donato": (44.5005, 11.3590),
    "Via Del Guasto": (44.4967, 11.3510),
    "Via San Giacomo": (44.4980, 11.3550),
    "Via Zamboni": (44.4966, 11.3520),
    "Via Belmeloro": (44.4990, 11.3560),
    "Via Irnerio": (44.5000, 11.3500),
}
MAX_KM = 15.0  # public bound on any distance between two zones of the city
# One WiFi row counts the people passing between two zones on one day: clipped here to this
# many (p99.9 of the real series is ~45,000), so that one row moves O, D and C by a known amount.
WIFI_CLIP = 50_000.0


class GravityScenario(BaseModel):
    """Fit settings: the search range for beta."""

    model_config = ConfigDict(extra="forbid")

    beta_max: float = Field(20.0, gt=0, le=50, description="upper end of the search, per km")


def distances(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Zone-to-zone distances in km (equirectangular); a zone to itself: half the distance to
    its nearest neighbour."""
    y = np.radians(lat) * 6371.0
    x = np.radians(lon) * 6371.0 * np.cos(np.radians(44.5))
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    off = d + np.diag(np.full(len(d), np.inf))
    np.fill_diagonal(d, 0.5 * off.min(axis=1) if len(d) > 1 else 0.5)
    return np.minimum(d, MAX_KM)


def _zones_local(tables: Tables, _p: BaseModel, _ctx: Context) -> Partial:
    areas = tables["statistical-areas"]
    idx = common.area_index(areas.column("area_code").to_numpy(zero_copy_only=False))
    lat = np.full(common.N_AREAS, np.nan)
    lon = np.full(common.N_AREAS, np.nan)
    ok = idx >= 0
    lat[idx[ok]] = areas.column("centroid_lat").to_numpy(zero_copy_only=False)[ok]
    lon[idx[ok]] = areas.column("centroid_lon").to_numpy(zero_copy_only=False)[ok]
    return Partial(arrays={"lat": lat, "lon": lon})


def _zones_combine(partials: Sequence[Partial], _p: BaseModel, _ctx: Context) -> Context:
    return {"lat": partials[0].arrays["lat"], "lon": partials[0].arrays["lon"]}


def _sufficient(count: np.ndarray, dist: np.ndarray) -> Partial:
    """O, D and C of one zone system (count: flows per OD pair, used here and dropped)."""
    return Partial(
        arrays={
            "origins": count.sum(axis=1),
            "destinations": count.sum(axis=0),
            "distance": np.array([float((count * dist).sum())]),
        },
        meta={"zones": int(len(count)), "flows": float(count.sum())},
    )


def _wifi_span() -> float:
    """The longest distance between two WiFi landmarks (public): a bound on any WiFi trip."""
    coords = np.array(list(WIFI_ZONES.values()))
    return float(distances(coords[:, 0], coords[:, 1]).max())


WIFI_MAX_KM = _wifi_span()


def area_distances(ctx: Context) -> np.ndarray:
    """Distances between the statistical areas from the centroids of stage `zones` (areas
    without a centroid: MAX_KM from everything)."""
    n = common.N_AREAS
    lat, lon = np.asarray(ctx["lat"], dtype=float), np.asarray(ctx["lon"], dtype=float)
    known = np.isfinite(lat) & np.isfinite(lon)
    dist = np.full((n, n), MAX_KM)
    dist[np.ix_(known, known)] = distances(lat[known], lon[known])
    return dist


def _trips_system(trips: pa.Table, ctx: Context) -> Partial:
    o = common.area_index(trips.column("origin_area").to_numpy(zero_copy_only=False))
    d = common.area_index(trips.column("destination_area").to_numpy(zero_copy_only=False))
    ok = (o >= 0) & (d >= 0)
    n = common.N_AREAS
    count = np.bincount(o[ok] * n + d[ok], minlength=n * n).reshape(n, n).astype(float)
    part = _sufficient(count, area_distances(ctx))
    part.meta["system"] = "statistical areas (trips)"
    return part


def _wifi_system(flows: pa.Table) -> Partial:
    origins, dests = flows.column("origin").to_pylist(), flows.column("destination").to_pylist()
    names = sorted(set(origins) | set(dests))
    zones = [z for z in names if z in WIFI_ZONES]
    index = {z: i for i, z in enumerate(zones)}
    o = np.array([index.get(z, -1) for z in origins])
    d = np.array([index.get(z, -1) for z in dests])
    v = pc.fill_null(flows.column("visitors"), 0).to_numpy(zero_copy_only=False).astype(float)
    v = np.clip(v, 0.0, WIFI_CLIP)
    ok = (o >= 0) & (d >= 0) & (o != d)
    k = len(zones)
    count = np.bincount(o[ok] * k + d[ok], v[ok], k * k).reshape(k, k)
    coords = np.array([WIFI_ZONES[z] for z in zones])
    dist = distances(coords[:, 0], coords[:, 1])
    part = _sufficient(count, dist)
    part.arrays["dist"] = dist  # which landmarks the data names: k x k, k <= 14
    part.meta |= {"system": "university WiFi zones", "zones_unplaced": len(names) - k}
    return part


SYSTEMS = ("trips", "wifi-od-flows")


def _flows_local(tables: Tables, _p: BaseModel, ctx: Context) -> Partial:
    """One zone system per OD dataset held here; arrays are named `<statistic>:<dataset>`."""
    out = Partial(arrays={})
    for dataset in SYSTEMS:
        if dataset not in tables:
            continue
        part = (
            _trips_system(tables[dataset], ctx)
            if dataset == "trips"
            else _wifi_system(tables[dataset])
        )
        for name, values in part.arrays.items():
            out.arrays[f"{name}:{dataset}"] = values
        out.meta[dataset] = part.meta
    if not out.arrays:
        raise ValueError("no origin-destination dataset among the tables")
    return out


def furness(o: np.ndarray, d: np.ndarray, dist: np.ndarray, beta: float) -> np.ndarray:
    """The doubly constrained flows for a beta (balancing factors by iterative fitting)."""
    f = np.exp(-beta * dist)
    o = np.maximum(o, 0.0)
    d = np.maximum(d, 0.0)
    if o.sum() <= 0 or d.sum() <= 0:  # nothing to balance (DP noise can clip a small system)
        return np.zeros_like(f)
    d = d * (o.sum() / d.sum())
    b = np.ones(len(d))
    a = np.ones(len(o))
    for _ in range(500):
        a = 1.0 / np.maximum(f @ (b * d), 1e-300)
        b_new = 1.0 / np.maximum(f.T @ (a * o), 1e-300)
        # np.allclose(b_new, b, rtol=1e-12, atol=0) for finite factors, without its overhead
        # (three quarters of a balancing's time on the 90 areas)
        if (np.abs(b_new - b) <= 1e-12 * np.abs(b)).all():
            b = b_new
            break
        b = b_new
    return (a * o)[:, None] * f * (b * d)[None, :]


def fitted(system: dict[str, np.ndarray]) -> bool:
    """Whether a system has trips to fit: productions and attractions left after the noise.
    (One that has none would make every balancing 0/0; it is reported, not fitted.)"""
    o, d = system["origins"], system["destinations"]
    return bool(np.maximum(o, 0.0).sum() > 0 and np.maximum(d, 0.0).sum() > 0)


def fit_beta(systems: Sequence[dict[str, np.ndarray]], beta_max: float) -> float:
    """The beta at which the modelled mean trip length matches the observed one, averaged over
    the systems (each weighs the same, whatever its number of trips); the modelled length
    falls as beta grows, so a bracketing root finder finds it."""

    systems = [s for s in systems if fitted(s)]

    def excess(beta: float) -> float:
        gap = 0.0
        for s in systems:
            total = max(float(s["origins"].sum()), 1e-12)
            flows = furness(s["origins"], s["destinations"], s["dist"], beta)
            modelled = float((flows * s["dist"]).sum()) / max(float(flows.sum()), 1e-12)
            gap += modelled - float(s["distance"][0]) / total
        return gap

    if excess(0.0) <= 0:
        return 0.0
    # Bracket from below (city trips decay at 0.1-1 per km; Furness balancing at a large beta
    # takes its full 500 iterations), then Brent's method: ~10 evaluations where bisection took
    # 50 to the same 1e-12. Each evaluation balances every system, so this keeps the gateway's
    # combine of a 16-member fit short.
    lo, hi = 0.0, min(1.0, beta_max)
    while excess(hi) > 0:
        if hi >= beta_max:
            return beta_max
        lo, hi = hi, min(4.0 * hi, beta_max)
    return float(brentq(excess, lo, hi, xtol=1e-12))


def _flows_combine(partials: Sequence[Partial], params: BaseModel, ctx: Context) -> Context:
    assert isinstance(params, GravityScenario)
    systems, labels = [], []
    areas = area_distances(ctx)  # one matrix for every holder's statistical-area system
    for p in partials:
        for dataset in SYSTEMS:
            if f"distance:{dataset}" in p.arrays:
                system = {
                    k: np.nan_to_num(np.asarray(p.arrays[f"{k}:{dataset}"], dtype=float))
                    for k in ("origins", "destinations", "distance")
                }
                # the WiFi zones' distances come back; the areas' are the gateway's own
                dist = p.arrays.get(f"dist:{dataset}")
                system["dist"] = areas if dist is None else np.asarray(dist, float)
                systems.append(system)
                labels.append(p.meta.get(dataset, {}).get("system", dataset))
    if not systems:
        raise ValueError("no zone system came back")
    beta = fit_beta(systems, params.beta_max)
    per_system = []
    for label, s in zip(labels, systems, strict=True):
        own = fit_beta([s], params.beta_max)
        model = furness(s["origins"], s["destinations"], s["dist"], own)
        total = max(float(s["origins"].sum()), 1e-12)
        per_system.append(
            {
                "system": label,
                "zones": int(len(s["origins"])),
                "beta_per_km": round(own, 4),
                "mean_km_observed": round(float(s["distance"][0]) / total, 3),
                "mean_km_fitted": round(
                    float((model * s["dist"]).sum()) / max(float(model.sum()), 1e-12), 3
                ),
            }
        )
    return {"beta_per_km": beta, "systems": per_system}  # pooled, and each system's own


def summary(result: Context) -> dict[str, Any]:
    """Headline: the fitted distance decay and each zone system's mean trip length."""
    return {"beta_per_km": round(float(result["beta_per_km"]), 4), "systems": result["systems"]}


MODEL = Model(
    name="mobility-gravity",
    version="1.2.1",
    title="Origin-destination gravity model fitted from federated sufficient statistics",
    params=GravityScenario,
    stages=(
        Stage("zones", ("statistical-areas",), _zones_local, _zones_combine),
        Stage(
            "flows",
            ("wifi-od-flows", "trips"),
            _flows_local,
            _flows_combine,
            # One person moves each production and attraction by at most their trips (the
            # holder scales by the dataset's contribution limit), C by that times MAX_KM. One
            # WiFi row moves them by its clipped count (and C by that times the zones' span).
            noise={
                "origins": Noise(l1=1.0, bound=1e7),
                "destinations": Noise(l1=1.0, bound=1e7),
                "distance": Noise(l1=MAX_KM, bound=1e9),
                "origins:wifi-od-flows": Noise(l1=WIFI_CLIP, bound=1e10),
                "destinations:wifi-od-flows": Noise(l1=WIFI_CLIP, bound=1e10),
                "distance:wifi-od-flows": Noise(l1=WIFI_CLIP * WIFI_MAX_KM, bound=1e11),
            },
            public=("dist",),
            public_meta=(*SYSTEMS, "system", "zones", "zones_unplaced"),
        ),
    ),
    modules=("models.gravity", "models.common"),
    summary=summary,
)
