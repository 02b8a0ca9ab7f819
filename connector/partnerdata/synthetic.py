"""Seeded synthetic tables, plausible for Bologna, with the same schemas as the real ones.

Three tables are always synthetic because no open source exists (building stock, sub-catchments,
individual trips); the others stand in for the real files when `shared/` is absent. Every
catalogue entry made from these is flagged synthetic. Magnitudes follow the real data: loop
counts peak near 200 veh/h, rain is zero on ~70% of days, temperatures follow the Po valley
seasonal cycle, Bologna's centre is at about 44.494 N, 11.343 E.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import cache

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Raise when a generator's output changes: partner tables made by an older one are made again
# (2: the road graph became a connected street plan, the loops sit on its arcs).
GENERATOR_VERSION = 3
CENTRE_LAT, CENTRE_LON = 44.494, 11.343
DISTRICTS = [
    "Borgo Panigale - Reno",
    "Navile",
    "Porto - Saragozza",
    "San Donato - San Vitale",
    "Santo Stefano",
    "Savena",
]
DIRECTIONS = ["N", "S", "E", "O"]
# Relative hourly traffic profile of an urban weekday (morning and evening peaks).
HOURLY_PROFILE = np.array(
    [
        0.05,
        0.02,
        0.015,
        0.01,
        0.02,
        0.06,
        0.25,
        0.8,
        1.0,
        0.75,
        0.7,
        0.72,
        0.75,
        0.7,
        0.72,
        0.8,
        0.9,
        1.0,
        0.9,
        0.7,
        0.45,
        0.3,
        0.22,
        0.12,
    ]
)

Rng = np.random.Generator


def _days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def _season(d: date) -> str:
    return {
        12: "Inverno",
        1: "Inverno",
        2: "Inverno",
        3: "Primavera",
        4: "Primavera",
        5: "Primavera",
        6: "Estate",
        7: "Estate",
        8: "Estate",
    }.get(d.month, "Autunno")


def _scatter(rng: Rng, n: int, spread: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    return (CENTRE_LAT + rng.normal(0, spread, n), CENTRE_LON + rng.normal(0, spread * 1.4, n))


# The synthetic street plan is fixed (its own seed): the loop register and the loop counts are
# generated apart from the graph, and must find their arcs in it.
PLAN_SEED = 2023_05_16
PLAN_NODES = 32  # a 32 x 32 lattice of junctions over the synthetic areas (~400 m apart)
_RING = (10, 21)  # lattice rows and columns of the viali around the centre
_BYPASS_ROW = 27  # the tangenziale's row, north of the centre
_CUT_SHARE = 0.06  # ordinary street arcs left out, so that the lattice is not perfectly regular


@cache  # the road graph, the loop register and the loop counts all read it
def _street_plan() -> pd.DataFrame:
    """The synthetic city's street plan: a jittered lattice of junctions over the synthetic
    statistical areas, with a square ring of viali around the centre, a tangenziale across the
    north, lanes (vicoli) mostly inside the ring, and a few streets left out. Only its largest
    connected part is kept, so every arc can be reached from every other. Each lattice line is
    one street (a lane closure on a street name closes the whole line)."""
    rng = np.random.default_rng(PLAN_SEED)
    n = PLAN_NODES
    lat_axis = np.linspace(CENTRE_LAT - 0.057, CENTRE_LAT + 0.045, n)
    lon_axis = np.linspace(CENTRE_LON - 0.081, CENTRE_LON + 0.081, n)
    lat = lat_axis[:, None] + rng.normal(0, 0.12 * (lat_axis[1] - lat_axis[0]), (n, n))
    lon = lon_axis[None, :] + rng.normal(0, 0.12 * (lon_axis[1] - lon_axis[0]), (n, n))
    node = np.arange(n * n).reshape(n, n)  # junction (row i, column j) is i * n + j
    # arcs along rows (west to east), then along columns (south to north)
    a = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    b = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    along_row = np.arange(len(a)) < n * (n - 1)
    i_a, j_a, i_b, j_b = a // n, a % n, b // n, b % n
    line = np.where(along_row, i_a, n + j_a)
    # the ring: arcs whose two ends both lie on the square between _RING's rows and columns
    lo, hi = _RING
    inside = (np.minimum(i_a, i_b) >= lo) & (np.maximum(i_a, i_b) <= hi)
    inside &= (np.minimum(j_a, j_b) >= lo) & (np.maximum(j_a, j_b) <= hi)
    on_ring = inside & np.where(along_row, np.isin(i_a, _RING), np.isin(j_a, _RING))
    bypass = along_row & (i_a == _BYPASS_ROW)
    centre = (i_a > lo) & (i_a < hi) & (j_a > lo) & (j_a < hi)
    minor = ~on_ring & ~bypass & (rng.random(len(a)) < np.where(centre, 0.4, 0.1))
    names = np.array([f"VIA SINTETICA {k + 1}" for k in line], dtype=object)
    sides = {lo: "SUD", hi: "NORD"}
    names[on_ring & along_row] = [f"VIALE SINTETICO {sides[i]}" for i in i_a[on_ring & along_row]]
    sides = {lo: "OVEST", hi: "EST"}
    names[on_ring & ~along_row] = [f"VIALE SINTETICO {sides[j]}" for j in j_a[on_ring & ~along_row]]
    names[bypass] = "TANGENZIALE SINTETICA"
    names[minor] = [f"VICOLO SINTETICO {k + 1}" for k in range(int(minor.sum()))]
    keep = on_ring | bypass | (rng.random(len(a)) >= _CUT_SHARE)
    a, b, names = a[keep], b[keep], names[keep]
    # the largest connected part only
    adjacency = coo_matrix((np.ones(len(a)), (a, b)), shape=(n * n, n * n))
    _, part = connected_components(adjacency, directed=False)
    main = part == np.bincount(part).argmax()
    kept = main[a] & main[b]
    a, b, names = a[kept], b[kept], names[kept]
    lat, lon = lat.ravel(), lon.ravel()
    km_lat = 111.32
    km_lon = km_lat * np.cos(np.radians(CENTRE_LAT))
    straight = np.hypot((lat[b] - lat[a]) * km_lat, (lon[b] - lon[a]) * km_lon) * 1000.0
    mid_lat, mid_lon = (lat[a] + lat[b]) / 2, (lon[a] + lon[b]) / 2
    sector = np.floor(
        (np.arctan2(mid_lat - CENTRE_LAT, mid_lon - CENTRE_LON) + np.pi) / (2 * np.pi) * 6
    )
    district_idx = np.clip(sector.astype(int), 0, len(DISTRICTS) - 1)
    street_codes = {name: 100 + k for k, name in enumerate(sorted(set(names)))}
    geometry = [
        json.dumps({"coordinates": [[lon[p], lat[p]], [lon[q], lat[q]]], "type": "LineString"})
        for p, q in zip(a, b, strict=True)
    ]
    return pd.DataFrame(
        {
            "arc_code": np.arange(1, len(a) + 1),
            "street_code": [street_codes[name] for name in names],
            "street": names,
            "district_code": district_idx + 11,
            "district": [DISTRICTS[i] for i in district_idx],
            "node_from": a + 1000,
            "node_to": b + 1000,
            "length_m": np.round(straight, 1),
            "lat": mid_lat,
            "lon": mid_lon,
            "geometry": geometry,
        }
    )


def road_graph(rng: Rng, _areas: np.ndarray) -> pd.DataFrame:
    """The synthetic street plan (`_street_plan`): ~1,900 arcs of ~400 m on a connected,
    jittered lattice with viali, a tangenziale and vicoli. The plan is the same for every seed
    (the loops must find their arcs in it); the seed sets how much longer than the straight
    line each arc is (up to 15 %)."""
    plan = _street_plan().copy()
    plan["length_m"] = np.round(plan["length_m"] * rng.uniform(1.0, 1.15, len(plan)), 1)
    return plan


# Loops sit mostly on arterials, as Bologna's do (relative chance of an arc by road kind).
_LOOP_WEIGHT = {"VIALE": 6.0, "TANGENZIALE": 4.0, "VIA": 1.0, "VICOLO": 0.1}


def traffic_loop_register(rng: Rng, _areas: np.ndarray) -> pd.DataFrame:
    """A register of 120 loops on arcs of the synthetic street plan, mostly the arterials."""
    n = 120
    plan = _street_plan()
    weight = plan["street"].str.split().str[0].map(_LOOP_WEIGHT).to_numpy(float)
    arcs = plan.iloc[rng.choice(len(plan), n, replace=False, p=weight / weight.sum())]
    return pd.DataFrame(
        {
            "loop_code": [f"S.{i:03d} 1 1" for i in range(n)],
            "station_id": np.arange(1, n + 1),
            "kind": np.where(rng.random(n) < 0.9, "spira", "telecamera"),
            "arc_code": arcs["arc_code"].to_numpy(),
            "street": arcs["street"].to_numpy(),
            "node_from": arcs["node_from"].to_numpy(),
            "node_to": arcs["node_to"].to_numpy(),
            "status": "A",
            "direction": rng.choice(DIRECTIONS, n),
            "angle_deg": rng.integers(0, 360, n),
            "lat": arcs["lat"].to_numpy(),
            "lon": arcs["lon"].to_numpy(),
        }
    )


def traffic_loop_counts(rng: Rng, areas: np.ndarray) -> pd.DataFrame:
    """Hourly counts of 40 loops over 60 days, weekday peaks, weekend dip, Poisson noise."""
    reg = traffic_loop_register(rng, areas).head(40)
    days = _days(date(2024, 1, 1), 60)
    rows = []
    for d in days:
        weekend = 0.6 if d.weekday() >= 5 else 1.0
        for _, loop in reg.iterrows():
            peak = rng.uniform(80, 320)
            counts = rng.poisson(peak * weekend * HOURLY_PROFILE)
            for hour, vehicles in enumerate(counts):
                rows.append(
                    (
                        d,
                        loop.loop_code,
                        loop.station_id,
                        loop.arc_code,
                        loop.street,
                        loop.direction,
                        hour,
                        vehicles,
                        loop.lat,
                        loop.lon,
                    )
                )
    cols = [
        "date",
        "loop_code",
        "station_id",
        "arc_code",
        "street",
        "direction",
        "hour",
        "vehicles",
        "lat",
        "lon",
    ]
    return pd.DataFrame(rows, columns=cols)


def ring_road_counts(rng: Rng, _areas: np.ndarray) -> pd.DataFrame:
    """Half-hourly counts on 6 ring-road sections, two directions, 50 typical weekdays."""
    sections = [
        ("Viale Panzacchi", "4.45"),
        ("Viale Carducci", "4.12"),
        ("Viale Ercolani", "3.90"),
        ("Viale Filopanti", "3.71"),
        ("Viale Pepoli", "4.60"),
        ("Viale Pietramellara", "2.20"),
    ]
    half_hour = np.repeat(HOURLY_PROFILE, 2) / 2
    rows = []
    for d in _days(date(2023, 1, 10), 50):
        for street, code in sections:
            for direction in ("Est", "Ovest"):
                counts = rng.poisson(rng.uniform(900, 1400) * half_hour)
                for slot, vehicles in enumerate(counts):
                    rows.append(
                        (
                            d,
                            "giorno feriale tipo",
                            street,
                            "Via A",
                            "Via B",
                            direction,
                            f"{code} 8 1",
                            slot,
                            f"{slot // 2:02d}:{30 * (slot % 2):02d}",
                            vehicles,
                        )
                    )
    cols = [
        "date",
        "day_type",
        "street",
        "from_street",
        "to_street",
        "direction",
        "section_code",
        "slot",
        "slot_start",
        "vehicles",
    ]
    return pd.DataFrame(rows, columns=cols)


def statistical_areas(rng: Rng, areas: np.ndarray) -> pd.DataFrame:
    """Square cells around the centre standing in for the 90 statistical areas."""
    n = len(areas)
    side = int(np.ceil(np.sqrt(n)))
    step = 0.012
    rows = []
    for i, code in enumerate(areas):
        lat0 = CENTRE_LAT + (i // side - side / 2) * step
        lon0 = CENTRE_LON + (i % side - side / 2) * step * 1.4
        ring = [
            [lon0, lat0],
            [lon0 + step * 1.4, lat0],
            [lon0 + step * 1.4, lat0 + step],
            [lon0, lat0 + step],
            [lon0, lat0],
        ]
        d = int(rng.integers(0, len(DISTRICTS)))
        rows.append(
            {
                "area_code": int(code),
                "area_name": f"AREA SINTETICA {int(code)}",
                "district_code": d + 11,
                "district": DISTRICTS[d],
                "zone_code": chr(65 + i % 18),
                "zone": f"Zona {chr(65 + i % 18)}",
                "centroid_lat": lat0 + step / 2,
                "centroid_lon": lon0 + step * 0.7,
                "geometry": json.dumps({"type": "Polygon", "coordinates": [ring]}),
            }
        )
    return pd.DataFrame(rows)


def fragility_indices(rng: Rng, areas: np.ndarray) -> pd.DataFrame:
    """Fragility indices around the city mean of 100, for 2021-2023."""
    frames = []
    for year in (2021, 2022, 2023):
        n = len(areas)
        frames.append(
            pd.DataFrame(
                {
                    "area_code": areas,
                    "area_name": [f"AREA SINTETICA {a}" for a in areas],
                    "year": year,
                    "residents": rng.integers(800, 9000, n),
                    "over80_pct": rng.uniform(4, 16, n).round(1),
                    "alone_over65_pct": rng.uniform(20, 45, n).round(1),
                    "graduates_pct": rng.uniform(10, 55, n).round(1),
                    "median_household_income_eur": rng.normal(24000, 5000, n).round(0),
                    **{
                        k: rng.normal(100, 12, n).round(0)
                        for k in (
                            "frag_demographic",
                            "frag_social",
                            "frag_economic",
                            "frag_composite",
                        )
                    },
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# archetype -> (share, year range, U wall, U roof, U window, U floor) in W/m2K, after TABULA IT
ARCHETYPES = {
    "pre1945_masonry": (0.22, (1850, 1945), 1.5, 1.8, 4.9, 1.6),
    "1946_1975_concrete": (0.38, (1946, 1975), 1.2, 1.6, 4.9, 1.3),
    "1976_1990": (0.18, (1976, 1990), 0.8, 0.9, 3.7, 0.9),
    "1991_2005": (0.12, (1991, 2005), 0.6, 0.6, 3.0, 0.7),
    "post2005_nzeb": (0.10, (2006, 2024), 0.3, 0.26, 1.6, 0.3),
}


def building_stock(rng: Rng, areas: np.ndarray) -> pd.DataFrame:
    """About 40,000 residential buildings with archetype, size and envelope U-values."""
    n = 40_000
    names = list(ARCHETYPES)
    kind = rng.choice(len(names), size=n, p=[ARCHETYPES[k][0] for k in names])
    spec = [ARCHETYPES[names[k]] for k in kind]
    year = np.array([rng.integers(s[1][0], s[1][1] + 1) for s in spec])
    floors = np.clip(rng.poisson(3.5, n) + 1, 1, 12)
    footprint = rng.lognormal(np.log(180), 0.5, n)
    jitter = rng.uniform(0.85, 1.15, (n, 4))
    u = np.array([s[2:] for s in spec]) * jitter
    return pd.DataFrame(
        {
            "building_id": [f"B{i:06d}" for i in range(n)],
            "area_code": rng.choice(areas, n),
            "archetype": [names[k] for k in kind],
            "year_built": year,
            "floors": floors,
            "floor_area_m2": (footprint * floors).round(1),
            "u_wall": u[:, 0].round(2),
            "u_roof": u[:, 1].round(2),
            "u_window": u[:, 2].round(2),
            "u_floor": u[:, 3].round(2),
            "window_wall_ratio": rng.uniform(0.12, 0.3, n).round(2),
            "heating": rng.choice(
                ["gas_boiler", "district_heating", "heat_pump"], n, p=[0.72, 0.18, 0.10]
            ),
        }
    )


def _daily_dates() -> list[date]:
    return _days(date(2001, 1, 1), (date(2026, 6, 30) - date(2001, 1, 1)).days + 1)


def temperature_daily(rng: Rng, _areas: np.ndarray) -> pd.DataFrame:
    """Daily temperature: annual cycle (mean 14.5 C, amplitude 11 C) plus AR(1) weather."""
    days = _daily_dates()
    doy = np.array([d.timetuple().tm_yday for d in days])
    anomaly = np.zeros(len(days))
    for i in range(1, len(days)):
        anomaly[i] = 0.8 * anomaly[i - 1] + rng.normal(0, 1.6)
    mean = 14.5 - 11 * np.cos(2 * np.pi * (doy - 15) / 365.25) + anomaly
    spread = rng.uniform(4, 12, len(days))
    return pd.DataFrame(
        {
            "date": days,
            "t_mean_c": mean.round(1),
            "t_max_c": (mean + spread / 2).round(1),
            "t_min_c": (mean - spread / 2).round(1),
            "season": [_season(d) for d in days],
        }
    )


STORM_MM = (45.0, 80.0, 55.0)  # the generated spring storm, day by day


def rainfall_daily(rng: Rng, _areas: np.ndarray) -> pd.DataFrame:
    """Daily rain: wet on ~30% of days, gamma amounts, ~700 mm a year; and each spring one
    generated three-day storm (45, 80 and 55 mm, starting on a random day from 1 to 25 May),
    so that the flood model has an event to show on synthetic data. It is no real event."""
    days = _daily_dates()
    wet = rng.random(len(days)) < 0.3
    amount = np.where(wet, rng.gamma(0.7, 9.5, len(days)), 0.0)
    stamps = pd.DatetimeIndex(days)
    for year in sorted(set(stamps.year)):
        first = pd.Timestamp(year, 5, 1) + pd.Timedelta(days=int(rng.integers(0, 25)))
        for k, mm in enumerate(STORM_MM):
            at = np.flatnonzero(stamps == first + pd.Timedelta(days=k))
            amount[at] = mm
    return pd.DataFrame(
        {"date": days, "rain_mm": amount.round(1), "season": [_season(d) for d in days]}
    )


def air_quality(rng: Rng, _areas: np.ndarray) -> pd.DataFrame:
    """Hourly NO2 at two stations and daily PM10 at one, for 2024."""
    hours = pd.date_range("2024-01-01", "2024-12-31 23:00", freq="h")
    days = pd.date_range("2024-01-01", "2024-12-31", freq="D")
    frames = []
    for station, level in (("PORTA SAN FELICE", 35.0), ("GIARDINI MARGHERITA", 20.0)):
        value = np.clip(
            level
            * np.tile(HOURLY_PROFILE / HOURLY_PROFILE.mean(), len(days))
            * rng.lognormal(0, 0.3, len(hours)),
            1,
            None,
        ).round(0)
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": hours,
                    "station": station,
                    "pollutant": "NO2",
                    "unit": "ug/m3",
                    "value": value,
                    "validity": "S",
                }
            )
        )
    frames.append(
        pd.DataFrame(
            {
                "timestamp": days,
                "station": "PORTA SAN FELICE",
                "pollutant": "PM10",
                "unit": "ug/m3",
                "value": rng.lognormal(np.log(26), 0.45, len(days)).round(0),
                "validity": "S",
            }
        )
    )
    return pd.concat(frames, ignore_index=True)


WIFI_ZONES = [
    "Piazza Verdi",
    "Via Zamboni",
    "Porta San Donato",
    "Palazzo Poggi",
    "Piazza Scaravilli",
    "Via San Giacomo",
    "Piazza Puntoni",
    "Via Belmeloro",
    "Piazza Rossini (Palazzo Malvezzi)",
    "Via Irnerio",
]


def wifi_od_flows(rng: Rng, _areas: np.ndarray) -> pd.DataFrame:
    """Daily visitor flows between 10 university-area WiFi zones for 120 days."""
    attract = rng.lognormal(7, 0.6, len(WIFI_ZONES))
    rows = []
    for d in _days(date(2019, 9, 1), 120):
        factor = 0.3 if d.weekday() >= 5 else 1.0
        for i, o in enumerate(WIFI_ZONES):
            for j, dst in enumerate(WIFI_ZONES):
                if i != j:
                    mean = factor * np.sqrt(attract[i] * attract[j]) / (1 + abs(i - j))
                    rows.append((d, o, dst, int(rng.poisson(mean))))
    return pd.DataFrame(rows, columns=["date", "origin", "destination", "visitors"])


def bike_counters(rng: Rng, _areas: np.ndarray) -> pd.DataFrame:
    """Twelve bicycle counter positions."""
    n = 12
    lat, lon = _scatter(rng, n, 0.015)
    return pd.DataFrame(
        {
            "counter": [f"Contatore_{i + 1}" for i in range(n)],
            "lat": lat,
            "lon": lon,
            "district": rng.choice(DISTRICTS, n),
            "zone": "Zona sintetica",
            "street": [f"VIA SINTETICA {i + 1}" for i in range(n)],
            "civic": [str(rng.integers(1, 200)) for _ in range(n)],
            "distance_m": rng.uniform(1, 40, n).round(1),
        }
    )


OUTLETS = ["Reno", "Savena", "Aposa", "Navile", "Idice"]


def sub_catchments(rng: Rng, areas: np.ndarray) -> pd.DataFrame:
    """Urban sub-catchments: two per statistical area, SCS curve numbers 60-95, Nash cascade."""
    area = np.repeat(areas, 2)
    n = len(area)
    impervious = np.clip(rng.beta(4, 3, n), 0.05, 0.95)
    # Curve number grows with imperviousness: pervious soils ~61-74 (groups B/C), paved 98.
    cn = np.round(impervious * 98 + (1 - impervious) * rng.uniform(61, 74, n), 1)
    return pd.DataFrame(
        {
            "catchment_id": [f"SC{a:03d}{'ab'[i % 2]}" for i, a in enumerate(area)],
            "area_code": area,
            "outlet": rng.choice(OUTLETS, n, p=[0.35, 0.25, 0.1, 0.2, 0.1]),
            "area_km2": rng.lognormal(np.log(0.7), 0.5, n).round(3),
            "curve_number": cn,
            "impervious_share": impervious.round(3),
            "slope_pct": rng.gamma(2, 1.2, n).round(2),
            "reservoir_k_h": rng.uniform(0.5, 4, n).round(2),
            "n_reservoirs": rng.integers(2, 5, n),
        }
    )


# mode -> (share, mean speed km/h)
MODES = {
    "walk": (0.27, 4.5),
    "bike": (0.14, 13.0),
    "bus": (0.18, 15.0),
    "tram": (0.03, 18.0),
    "car": (0.33, 22.0),
    "motorbike": (0.05, 25.0),
}
PURPOSES = ["work", "study", "shopping", "leisure", "care", "other"]


def trips(rng: Rng, areas: np.ndarray) -> pd.DataFrame:
    """About 60,000 trips by 12,000 people over one week of 2024 (synthetic personal data)."""
    n_people, n = 12_000, 60_000
    person = rng.integers(0, n_people, n)
    home = rng.choice(areas, n_people)
    origin = home[person]
    destination = np.where(rng.random(n) < 0.2, origin, rng.choice(areas, n))
    names = list(MODES)
    mode = rng.choice(len(names), n, p=[MODES[m][0] for m in names])
    speed = np.array([MODES[names[m]][1] for m in mode])
    dist = np.round(np.clip(rng.lognormal(np.log(3.2), 0.7, n), 0.2, 40), 2)
    dist = np.where(names.index("walk") == mode, np.minimum(dist, 3.0), dist)
    day = rng.integers(0, 7, n)
    minute = np.clip(rng.normal(13 * 60, 240, n), 5 * 60, 23 * 60).astype(int)
    departure = pd.Timestamp("2024-03-04") + pd.to_timedelta(day * 1440 + minute, unit="min")
    arrival = departure + pd.to_timedelta(np.ceil(dist / speed * 60), unit="min")
    return pd.DataFrame(
        {
            "trip_id": [f"T{i:07d}" for i in range(n)],
            "person_id": [f"P{p:06d}" for p in person],
            "origin_area": origin,
            "destination_area": destination,
            "departure": departure,
            "arrival": arrival,
            "mode": [names[m] for m in mode],
            "distance_km": dist,
            "purpose": rng.choice(PURPOSES, n, p=[0.3, 0.1, 0.2, 0.2, 0.1, 0.1]),
        }
    )
