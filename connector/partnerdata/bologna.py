"""Readers for the real Bologna open data (see shared/data/bologna/SOURCES.md for each file).

The files are as the portal publishes them: `;` separators, UTF-8 with BOM, Italian headers,
loop counts one day per row, and (in the spire subset) longitude/latitude columns garbled by a
locale conversion, so positions come from `geopoint` ("lat, lon") instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

COMUNE_CREDIT = "Fonte: Comune di Bologna – opendata.comune.bologna.it, CC BY 4.0"
ARPAE_CREDIT = "Fonte: ARPAE Emilia-Romagna, CC BY 4.0 (republished by the Comune di Bologna)"


def _csv(path: Path, **kw: object) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", encoding="utf-8-sig", **kw)  # type: ignore[call-overload]


def _geopoint(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    parts = series.astype("string").str.split(",", n=1, expand=True)
    return pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[1], errors="coerce")


def traffic_loop_counts(root: Path) -> pd.DataFrame:
    """Hourly loop counts, reshaped from one day per row to one hour per row."""
    raw = _csv(root / "traffic_loops_spire" / "spire_hourly_2024_costa_pasubio_subset.csv")
    hours = [c for c in raw.columns if len(c) == 11 and c[2] == ":" and c[5] == "-"]
    lat, lon = _geopoint(raw["geopoint"])
    ids = pd.DataFrame(
        {
            "date": pd.to_datetime(raw["data"], format="%d/%m/%Y").dt.date,
            "loop_code": raw["codice_spira"],
            "station_id": raw["ID_univoco_stazione_spira"],
            "arc_code": raw["codice arco"],
            "street": raw["Nome via"],
            "direction": raw["direzione"],
            "lat": lat,
            "lon": lon,
        }
    )
    counts = raw[hours].set_axis(range(len(hours)), axis=1)
    long = pd.concat([ids, counts], axis=1).melt(
        id_vars=list(ids.columns), var_name="hour", value_name="vehicles"
    )
    long = long.dropna(subset=["vehicles"])
    return long.sort_values(["date", "loop_code", "hour"], kind="stable")


def traffic_loop_register(root: Path) -> pd.DataFrame:
    """The city-wide register of loops and cameras."""
    raw = _csv(root / "traffic_loops_spire" / "spire_loop_metadata.csv")
    return pd.DataFrame(
        {
            "loop_code": raw["codice spira"],
            "station_id": raw["ID_univoco_stazione_spira"],
            "kind": raw["tipologia"],
            "arc_code": raw["codice arco"],
            "street": raw["Nome via"],
            "node_from": raw["Nodo da"],
            "node_to": raw["Nodo a"],
            "status": raw["stato"],
            "direction": raw["direzione"],
            "angle_deg": raw["angolo"],
            "lat": raw["latitudine"],
            "lon": raw["longitudine"],
        }
    )


def road_graph(root: Path) -> pd.DataFrame:
    """The municipal road arcs (rifter_arcstra_li), one row per arc, geometry as GeoJSON."""
    raw = _csv(root / "road_network" / "rifter_arcstra_li_road_arcs.csv")
    lat, lon = _geopoint(raw["Geo Point"])
    return pd.DataFrame(
        {
            "arc_code": raw["CODARCO"],
            "street_code": raw["CODVIA"],
            "street": raw["NOMEVIA"],
            "district_code": raw["NUMQUART"],
            "district": raw["Quartiere"],
            "node_from": raw["COD_NODO1"],
            "node_to": raw["COD_NODO2"],
            "length_m": raw["LUNGHEZ"],
            "lat": lat,
            "lon": lon,
            "geometry": raw["Geo Shape"],
        }
    )


def ring_road_counts(root: Path) -> pd.DataFrame:
    """Ring-boulevard counts: one row per section, direction, day and half hour."""
    raw = _csv(root / "traffic_viali" / "traffico_viali_2019_2025.csv")
    slots = [c for c in raw.columns if " - " in c]
    ids = pd.DataFrame(
        {
            "date": pd.to_datetime(raw["data"], format="%Y-%m-%d").dt.date,
            "day_type": raw["tipo_giorno"],
            "street": raw["VIA_SPIRA"],
            "from_street": raw["TRA VIA"],
            "to_street": raw["E VIA"],
            "direction": raw["DIREZIONE"],
            "section_code": raw["Codice"],
        }
    )
    counts = raw[slots].set_axis(range(len(slots)), axis=1)
    long = pd.concat([ids, counts], axis=1).melt(
        id_vars=list(ids.columns), var_name="slot", value_name="vehicles"
    )
    long["slot_start"] = long["slot"].map(lambda s: f"{s // 2:02d}:{30 * (s % 2):02d}")
    return long.sort_values(["date", "section_code", "direction", "slot"], kind="stable")


def statistical_areas(root: Path) -> pd.DataFrame:
    """The 90 statistical areas with centroid and polygon (GeoJSON string)."""
    doc = json.loads((root / "statistical_areas" / "aree_statistiche_bologna.geojson").read_text())
    rows = []
    for feat in doc["features"]:
        p = feat["properties"]
        rows.append(
            {
                "area_code": p["codice_area_statistica"],
                "area_name": p["area_statistica"],
                "district_code": p["cod_quar"],
                "district": p["quartiere"],
                "zone_code": p["cod_zona"],
                "zone": p["zona"],
                "centroid_lat": p["geo_point_2d"]["lat"],
                "centroid_lon": p["geo_point_2d"]["lon"],
                "geometry": json.dumps(feat["geometry"], separators=(",", ":")),
            }
        )
    return pd.DataFrame(rows).sort_values("area_code")


def fragility_indices(root: Path) -> pd.DataFrame:
    """Fragility indices per statistical area and year (100 = city mean)."""
    raw = pd.read_parquet(root / "statistical_areas" / "indici_fragilita_2021.parquet")
    return pd.DataFrame(
        {
            "area_code": raw["codareast"],
            "area_name": raw["area_statistica"],
            "year": pd.to_datetime(raw["yyyy"].astype("string")).dt.year,
            "residents": raw["pop_res"],
            "over80_pct": raw["ultra80"],
            "alone_over65_pct": raw["soli_65"],
            "graduates_pct": raw["perc_laur"],
            "median_household_income_eur": raw["rmpe_fam"],
            "frag_demographic": raw["frag_demo"],
            "frag_social": raw["frag_soc"],
            "frag_economic": raw["frag_econ"],
            "frag_composite": raw["frag_compl"],
        }
    ).sort_values(["year", "area_code"])


def temperature_daily(root: Path) -> pd.DataFrame:
    """Daily mean/max/min temperature over the municipality (ARPAE ERG5)."""
    raw = _csv(root / "weather_erg5" / "temperature_bologna_daily_2001_2026.csv")
    return pd.DataFrame(
        {
            "date": pd.to_datetime(raw["Data"], format="%Y-%m-%d").dt.date,
            "t_mean_c": raw["Temperatura media"],
            "t_max_c": raw["Temperatura massima"],
            "t_min_c": raw["Temperatura minima"],
            "season": raw["Stagione"],
        }
    ).sort_values("date")


def rainfall_daily(root: Path) -> pd.DataFrame:
    """Daily rainfall over the municipality (ARPAE ERG5), May 2023 flood included."""
    raw = _csv(root / "weather_erg5" / "precipitazioni_bologna_daily_2001_2026.csv")
    return pd.DataFrame(
        {
            "date": pd.to_datetime(raw["Data"], format="%Y-%m-%d").dt.date,
            "rain_mm": raw["Precipitazioni (mm)"],
            "season": raw["Stagione"],
        }
    ).sort_values("date")


# file stem -> (pollutant, unit)
AIR_QUALITY_FILES = {
    "arpae_bologna_2024_NO2_hourly": ("NO2", "ug/m3"),
    "arpae_bologna_2024_Ozone_hourly": ("O3", "ug/m3"),
    "arpae_bologna_2024_CO_hourly": ("CO", "mg/m3"),
    "arpae_bologna_2024_PM10_daily": ("PM10", "ug/m3"),
    "arpae_bologna_2024_PM25_daily": ("PM2.5", "ug/m3"),
}


def air_quality(root: Path) -> pd.DataFrame:
    """ARPAE 2024 air quality, one row per station, pollutant and hour (or day)."""
    frames = []
    for stem, (pollutant, unit) in AIR_QUALITY_FILES.items():
        raw = pd.read_csv(root / "air_quality" / f"{stem}.csv", dtype="string")
        stamp = pd.to_datetime(raw["data"], format="%Y-%m-%d %H:%M")
        stations = [c for c in raw.columns if c != "data" and not c.startswith("v_")]
        for station in stations:
            frames.append(
                pd.DataFrame(
                    {
                        "timestamp": stamp,
                        "station": station,
                        "pollutant": pollutant,
                        "unit": unit,
                        "value": pd.to_numeric(raw[station], errors="coerce"),
                        "validity": raw[f"v_{station}"],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def wifi_od_flows(root: Path) -> pd.DataFrame:
    """Daily origin-destination visitor counts between BolognaWiFi zones."""
    raw = _csv(root / "mobility_od_wifi" / "bologna_daily_mobility_od_2019_2021.csv")
    return pd.DataFrame(
        {
            "date": pd.to_datetime(raw["Data"], format="%Y-%m-%d").dt.date,
            "origin": raw["Area provenienza"],
            "destination": raw["Area Arrivo"],
            "visitors": raw["Numero di visitatori"],
        }
    ).sort_values(["date", "origin", "destination"])


def bike_counters(root: Path) -> pd.DataFrame:
    """Positions of the city's bicycle counters."""
    raw = pd.read_csv(root / "bike_counters" / "bike_counter_locations.csv")
    civic = raw["civico"].map(
        lambda v: "" if pd.isna(v) else str(int(v)) if v == int(v) else str(v)
    )
    return pd.DataFrame(
        {
            "counter": raw["colonnina"],
            "lat": raw["lat"],
            "lon": raw["lon"],
            "district": raw["quartiere"],
            "zone": raw["zona"],
            "street": raw["via"],
            "civic": civic,
            "distance_m": raw["distanza_m"],
        }
    )


def area_codes(root: Path | None) -> np.ndarray:
    """The statistical-area codes: real ones when the data is here, else 1..90."""
    if root is not None:
        return statistical_areas(root)["area_code"].to_numpy(dtype=np.int32)
    return np.arange(1, 91, dtype=np.int32)
