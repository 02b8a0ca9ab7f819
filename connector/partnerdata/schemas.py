"""Arrow schemas of every partner table. Real and synthetic data are both cast to these."""

from __future__ import annotations

import pyarrow as pa

_str, _i8, _i16, _i32, _i64, _f64 = (
    pa.string(),
    pa.int8(),
    pa.int16(),
    pa.int32(),
    pa.int64(),
    pa.float64(),
)
_date = pa.date32()
_ts = pa.timestamp(
    "ms"
)  # Parquet has no seconds unit; local time (Europe/Rome) as published; see the dataset description


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, typ) for name, typ in fields])


TRAFFIC_LOOP_COUNTS = _schema(
    ("date", _date),
    ("loop_code", _str),
    ("station_id", _i64),
    ("arc_code", _i64),
    ("street", _str),
    ("direction", _str),
    ("hour", _i8),
    ("vehicles", _i32),
    ("lat", _f64),
    ("lon", _f64),
)
TRAFFIC_LOOP_REGISTER = _schema(
    ("loop_code", _str),
    ("station_id", _i64),
    ("kind", _str),
    ("arc_code", _i64),
    ("street", _str),
    ("node_from", _i64),
    ("node_to", _i64),
    ("status", _str),
    ("direction", _str),
    ("angle_deg", _i16),
    ("lat", _f64),
    ("lon", _f64),
)
ROAD_GRAPH = _schema(
    ("arc_code", _i64),
    ("street_code", _i64),
    ("street", _str),
    ("district_code", _i16),
    ("district", _str),
    ("node_from", _i64),
    ("node_to", _i64),
    ("length_m", _f64),
    ("lat", _f64),
    ("lon", _f64),
    ("geometry", _str),
)
RING_ROAD_COUNTS = _schema(
    ("date", _date),
    ("day_type", _str),
    ("street", _str),
    ("from_street", _str),
    ("to_street", _str),
    ("direction", _str),
    ("section_code", _str),
    ("slot", _i8),
    ("slot_start", _str),
    ("vehicles", _i32),
)
STATISTICAL_AREAS = _schema(
    ("area_code", _i32),
    ("area_name", _str),
    ("district_code", _i16),
    ("district", _str),
    ("zone_code", _str),
    ("zone", _str),
    ("centroid_lat", _f64),
    ("centroid_lon", _f64),
    ("geometry", _str),
)
FRAGILITY_INDICES = _schema(
    ("area_code", _i32),
    ("area_name", _str),
    ("year", _i16),
    ("residents", _i32),
    ("over80_pct", _f64),
    ("alone_over65_pct", _f64),
    ("graduates_pct", _f64),
    ("median_household_income_eur", _f64),
    ("frag_demographic", _f64),
    ("frag_social", _f64),
    ("frag_economic", _f64),
    ("frag_composite", _f64),
)
BUILDING_STOCK = _schema(
    ("building_id", _str),
    ("area_code", _i32),
    ("archetype", _str),
    ("year_built", _i16),
    ("floors", _i8),
    ("floor_area_m2", _f64),
    ("u_wall", _f64),
    ("u_roof", _f64),
    ("u_window", _f64),
    ("u_floor", _f64),
    ("window_wall_ratio", _f64),
    ("heating", _str),
)
TEMPERATURE_DAILY = _schema(
    ("date", _date), ("t_mean_c", _f64), ("t_max_c", _f64), ("t_min_c", _f64), ("season", _str)
)
RAINFALL_DAILY = _schema(("date", _date), ("rain_mm", _f64), ("season", _str))
AIR_QUALITY = _schema(
    ("timestamp", _ts),
    ("station", _str),
    ("pollutant", _str),
    ("unit", _str),
    ("value", _f64),
    ("validity", _str),
)
WIFI_OD_FLOWS = _schema(
    ("date", _date), ("origin", _str), ("destination", _str), ("visitors", _i32)
)
BIKE_COUNTERS = _schema(
    ("counter", _str),
    ("lat", _f64),
    ("lon", _f64),
    ("district", _str),
    ("zone", _str),
    ("street", _str),
    ("civic", _str),
    ("distance_m", _f64),
)
SUB_CATCHMENTS = _schema(
    ("catchment_id", _str),
    ("area_code", _i32),
    ("outlet", _str),
    ("area_km2", _f64),
    ("curve_number", _f64),
    ("impervious_share", _f64),
    ("slope_pct", _f64),
    ("reservoir_k_h", _f64),
    ("n_reservoirs", _i8),
)
TRIPS = _schema(
    ("trip_id", _str),
    ("person_id", _str),
    ("origin_area", _i32),
    ("destination_area", _i32),
    ("departure", _ts),
    ("arrival", _ts),
    ("mode", _str),
    ("distance_km", _f64),
    ("purpose", _str),
)
