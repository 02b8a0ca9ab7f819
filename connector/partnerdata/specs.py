"""Which partner holds which dataset, and how each is made (real reader, synthetic generator)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from connector.partnerdata import bologna, schemas, synthetic

RealReader = Callable[[Path], pd.DataFrame]
Generator = Callable[[np.random.Generator, np.ndarray], pd.DataFrame]


@dataclass(frozen=True)
class DatasetSpec:
    """One partner table: identity, description, schema, and the two ways to make it."""

    id: str
    title: str
    description: str
    theme: str  # EU data theme (TRAN, ENER, ENVI, REGI, SOCI)
    schema: pa.Schema
    synthetic: Generator
    real: RealReader | None = None
    credit: str = bologna.COMUNE_CREDIT
    # Personal identifier columns: keyed-hashed when the table is written (privacy.pseudonym).
    identifiers: tuple[str, ...] = ()


def _spec(
    id: str,
    title: str,
    theme: str,
    schema: pa.Schema,
    real: RealReader | None,
    gen: Generator,
    description: str,
    credit: str = bologna.COMUNE_CREDIT,
    identifiers: tuple[str, ...] = (),
) -> DatasetSpec:
    return DatasetSpec(id, title, description, theme, schema, gen, real, credit, identifiers)


PARTNER_DATASETS: dict[str, tuple[DatasetSpec, ...]] = {
    "comune": (
        _spec(
            "traffic-loop-counts",
            "Traffic loop counts (hourly, 2024, Costa-Pasubio)",
            "TRAN",
            schemas.TRAFFIC_LOOP_COUNTS,
            bologna.traffic_loop_counts,
            synthetic.traffic_loop_counts,
            "Vehicles per hour counted by induction loops, one row per loop and hour, "
            "joined to the road graph by arc code.",
        ),
        _spec(
            "traffic-loop-register",
            "Traffic loop register",
            "TRAN",
            schemas.TRAFFIC_LOOP_REGISTER,
            bologna.traffic_loop_register,
            synthetic.traffic_loop_register,
            "Every loop and camera of the city's traffic network with its road arc and position.",
        ),
        _spec(
            "road-graph",
            "Road graph (archi stradali)",
            "TRAN",
            schemas.ROAD_GRAPH,
            bologna.road_graph,
            synthetic.road_graph,
            "Municipal road arcs with end nodes, length in metres and GeoJSON geometry.",
        ),
        _spec(
            "ring-road-counts",
            "Ring-road counts (viali, 2019-2025)",
            "TRAN",
            schemas.RING_ROAD_COUNTS,
            bologna.ring_road_counts,
            synthetic.ring_road_counts,
            "Vehicles per half hour on the ring boulevards for typical weekdays.",
        ),
        _spec(
            "statistical-areas",
            "Statistical areas",
            "REGI",
            schemas.STATISTICAL_AREAS,
            bologna.statistical_areas,
            synthetic.statistical_areas,
            "The 90 statistical areas of Bologna with centroid and boundary polygon.",
        ),
        _spec(
            "fragility-indices",
            "Fragility indices by statistical area",
            "SOCI",
            schemas.FRAGILITY_INDICES,
            bologna.fragility_indices,
            synthetic.fragility_indices,
            "Demographic, social and economic fragility indices (city mean = 100), 2021-2023.",
        ),
        _spec(
            "building-stock",
            "Building stock (synthetic)",
            "ENER",
            schemas.BUILDING_STOCK,
            None,
            synthetic.building_stock,
            "About 40,000 residential buildings with archetype, floor area, year and envelope "
            "U-values. Synthetic: generated, not observed.",
            credit="",
        ),
    ),
    "cineca": (
        _spec(
            "temperature-daily",
            "Daily temperature 2001-2026",
            "ENVI",
            schemas.TEMPERATURE_DAILY,
            bologna.temperature_daily,
            synthetic.temperature_daily,
            "Daily mean, maximum and minimum air temperature over the municipality (ERG5).",
            bologna.ARPAE_CREDIT,
        ),
        _spec(
            "rainfall-daily",
            "Daily rainfall 2001-2026",
            "ENVI",
            schemas.RAINFALL_DAILY,
            bologna.rainfall_daily,
            synthetic.rainfall_daily,
            "Daily rainfall in mm over the municipality (ERG5), May 2023 flood included.",
            bologna.ARPAE_CREDIT,
        ),
        _spec(
            "air-quality-2024",
            "Air quality 2024",
            "ENVI",
            schemas.AIR_QUALITY,
            bologna.air_quality,
            synthetic.air_quality,
            "NO2, O3, CO (hourly), PM10 and PM2.5 (daily) at the ARPAE stations in Bologna.",
            bologna.ARPAE_CREDIT,
        ),
    ),
    "unibo": (
        _spec(
            "wifi-od-flows",
            "WiFi origin-destination flows 2019-2021",
            "TRAN",
            schemas.WIFI_OD_FLOWS,
            bologna.wifi_od_flows,
            synthetic.wifi_od_flows,
            "People per day moving between university-area zones, seen by BolognaWiFi sensors.",
        ),
        _spec(
            "bike-counters",
            "Bicycle counter locations",
            "TRAN",
            schemas.BIKE_COUNTERS,
            bologna.bike_counters,
            synthetic.bike_counters,
            "Positions of the city's bicycle counters with district and nearest civic number.",
        ),
        _spec(
            "sub-catchments",
            "Urban sub-catchments (synthetic)",
            "ENVI",
            schemas.SUB_CATCHMENTS,
            None,
            synthetic.sub_catchments,
            "Two sub-catchments per statistical area with SCS curve number, area and Nash "
            "cascade routing parameters. Synthetic: generated, not observed.",
            credit="",
        ),
    ),
    "fbk": (
        _spec(
            "trips",
            "Individual trips (synthetic personal data)",
            "TRAN",
            schemas.TRIPS,
            None,
            synthetic.trips,
            "One week of trips: pseudonymous person id, origin and destination area, times, "
            "mode, distance, purpose. Synthetic: generated, not observed.",
            credit="",
            identifiers=("person_id", "trip_id"),
        ),
    ),
}


def partner_specs(partner: str) -> tuple[DatasetSpec, ...]:
    """The datasets a partner holds (none for a partner we have no data for)."""
    return PARTNER_DATASETS.get(partner, ())


def spec_of(dataset_id: str) -> DatasetSpec | None:
    """The spec of one of the partners' datasets, whoever holds it (a synthetic city holds
    copies of them all)."""
    return next(
        (s for specs in PARTNER_DATASETS.values() for s in specs if s.id == dataset_id), None
    )


def identifier_columns(dataset_id: str) -> tuple[str, ...]:
    """The personal identifier columns of one of the partners' datasets."""
    spec = spec_of(dataset_id)
    return spec.identifiers if spec is not None else ()
