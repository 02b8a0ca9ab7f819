"""Catalogue metadata of the partners' datasets: what a steward would write, kept with the data.

Each connector publishes these as DCAT-AP 3 descriptions on start-up (`gemello catalog publish`
replaces one). Coverage that the data itself shows (bounding box, first and last day) is measured
from the table by `table_extent`, never typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.model import (
    BBox,
    ColumnBounds,
    ContactPoint,
    ContributionLimit,
    DatasetDescription,
    Frequency,
    Governance,
    LangText,
    Location,
    PeriodOfTime,
    PrivacyClass,
    PublicDimension,
    SeriesDescription,
    SpatialUnit,
    Theme,
    TimePart,
)
from connector.partnerdata.prepare import TableEntry
from connector.partnerdata.specs import identifier_columns, spec_of

BOLOGNA = Location(
    iri="https://sws.geonames.org/3181928/",
    label="Bologna",
    bbox=BBox(west=11.229, south=44.421, east=11.434, north=44.556),
)
# Columns that locate a row and columns that date it, in order of preference.
LAT_LON = (("lat", "lon"), ("centroid_lat", "centroid_lon"))
TIME_COLUMNS = ("date", "timestamp", "departure")

# Public domains of the DP dimensions: facts about the city, never read from a table. Bologna's
# open statistical-areas dataset numbers its 90 areas 1..90.
AREAS = tuple(str(i) for i in range(1, 91))
HOURS = tuple(str(h) for h in range(24))
WEEKDAYS = tuple(str(d) for d in range(7))
MONTHS = tuple(str(m) for m in range(1, 13))
TRIP_MODES = ("bike", "bus", "car", "motorbike", "tram", "walk")
TRIP_PURPOSES = ("care", "leisure", "other", "shopping", "study", "work")


def _dim(
    name: str, column: str, values: tuple[str, ...], part: TimePart | None = None
) -> PublicDimension:
    return PublicDimension(name=name, column=column, part=part, values=list(values))


@dataclass(frozen=True)
class DatasetMeta:
    """The parts of a description a person decides (the rest comes from the table)."""

    title_it: str
    description_it: str
    keywords_it: tuple[str, ...]
    keywords_en: tuple[str, ...]
    frequency: Frequency
    privacy: PrivacyClass = PrivacyClass.open
    personal_data: bool = False
    spatial_unit: SpatialUnit | None = None
    bounds: tuple[tuple[str, float, float], ...] = ()
    resolution: str | None = None
    series: str | None = None
    extra_themes: tuple[Theme, ...] = field(default_factory=tuple)
    dimensions: tuple[PublicDimension, ...] = ()
    contribution: ContributionLimit | None = None


_M = DatasetMeta
META: dict[str, DatasetMeta] = {
    "traffic-loop-counts": _M(
        "Conteggi delle spire di traffico (orari, 2024, Costa-Pasubio)",
        "Veicoli all'ora contati dalle spire induttive, una riga per spira e ora, "
        "collegati al grafo stradale dal codice arco.",
        ("traffico", "spire", "flussi veicolari"),
        ("traffic", "induction loops", "vehicle counts"),
        Frequency.DAILY,
        spatial_unit=SpatialUnit.measurement_point,
        resolution="PT1H",
        series="traffic-loop-counts-yearly",
        bounds=(("vehicles", 0.0, 5000.0),),
        dimensions=(
            _dim("hour", "hour", HOURS),
            _dim("weekday", "date", WEEKDAYS, TimePart.weekday),
            _dim("month", "date", MONTHS, TimePart.month),
        ),
    ),
    "traffic-loop-register": _M(
        "Anagrafica delle spire di traffico",
        "Tutte le spire e telecamere della rete di rilevazione del traffico con arco e posizione.",
        ("spire", "sensori", "traffico"),
        ("induction loops", "sensors", "traffic"),
        Frequency.IRREG,
        spatial_unit=SpatialUnit.measurement_point,
    ),
    "road-graph": _M(
        "Grafo stradale (archi stradali)",
        "Archi stradali comunali con nodi estremi, lunghezza in metri e geometria GeoJSON.",
        ("grafo stradale", "strade", "rete", "traffico"),
        ("road graph", "streets", "network", "traffic"),
        Frequency.IRREG,
        spatial_unit=SpatialUnit.road_arc,
    ),
    "ring-road-counts": _M(
        "Conteggi sui viali (2019-2025)",
        "Veicoli ogni mezz'ora sui viali di circonvallazione nei giorni feriali tipo.",
        ("viali", "traffico", "flussi veicolari"),
        ("ring road", "traffic", "vehicle counts"),
        Frequency.DAILY,
        spatial_unit=SpatialUnit.measurement_point,
        resolution="PT30M",
    ),
    "statistical-areas": _M(
        "Aree statistiche",
        "Le 90 aree statistiche di Bologna con centroide e poligono di confine.",
        ("aree statistiche", "confini", "quartieri"),
        ("statistical areas", "boundaries", "districts"),
        Frequency.IRREG,
        spatial_unit=SpatialUnit.statistical_area,
    ),
    "fragility-indices": _M(
        "Indici di fragilità per area statistica",
        "Indici di fragilità demografica, sociale ed economica (media città = 100), 2021-2023.",
        ("fragilità", "demografia", "reddito"),
        ("fragility", "demography", "income"),
        Frequency.ANNUAL,
        spatial_unit=SpatialUnit.statistical_area,
        resolution="P1Y",
    ),
    "building-stock": _M(
        "Patrimonio edilizio (sintetico)",
        "Circa 40.000 edifici residenziali con archetipo, superficie, anno e trasmittanze "
        "dell'involucro. Sintetico: generato, non osservato.",
        ("edifici", "efficienza energetica", "riqualificazione"),
        ("buildings", "energy efficiency", "retrofit"),
        Frequency.NEVER,
        privacy=PrivacyClass.compute_only,
        spatial_unit=SpatialUnit.building,
        bounds=(("floor_area_m2", 20.0, 10000.0), ("year_built", 1000.0, 2030.0)),
    ),
    "temperature-daily": _M(
        "Temperatura giornaliera 2001-2026",
        "Temperatura dell'aria media, massima e minima giornaliera sul comune (ERG5).",
        ("temperatura", "clima", "meteo"),
        ("temperature", "climate", "weather"),
        Frequency.DAILY,
        spatial_unit=SpatialUnit.municipality,
        resolution="P1D",
    ),
    "rainfall-daily": _M(
        "Precipitazioni giornaliere 2001-2026",
        "Pioggia giornaliera in mm sul comune (ERG5), compresa l'alluvione di maggio 2023.",
        ("precipitazioni", "alluvione", "clima"),
        ("rainfall", "flood", "climate"),
        Frequency.DAILY,
        spatial_unit=SpatialUnit.municipality,
        resolution="P1D",
    ),
    "air-quality-2024": _M(
        "Qualità dell'aria 2024",
        "NO2, O3, CO (orari), PM10 e PM2,5 (giornalieri) alle stazioni ARPAE di Bologna.",
        ("qualità dell'aria", "inquinamento", "PM10"),
        ("air quality", "pollution", "PM10"),
        Frequency.DAILY,
        spatial_unit=SpatialUnit.measurement_point,
        resolution="PT1H",
        extra_themes=(Theme.HEAL,),
    ),
    "wifi-od-flows": _M(
        "Flussi origine-destinazione WiFi 2019-2021",
        "Persone al giorno che si spostano tra le zone della zona universitaria, "
        "rilevate dai sensori BolognaWiFi.",
        ("mobilità", "origine-destinazione", "WiFi"),
        ("mobility", "origin-destination", "WiFi"),
        Frequency.DAILY,
        privacy=PrivacyClass.aggregate_only,
        spatial_unit=SpatialUnit.statistical_area,
        bounds=(("visitors", 0.0, 100000.0),),
        resolution="P1D",
        dimensions=(
            _dim("weekday", "date", WEEKDAYS, TimePart.weekday),
            _dim("month", "date", MONTHS, TimePart.month),
        ),
    ),
    "bike-counters": _M(
        "Posizione dei contabici",
        "Posizione dei contatori di biciclette della città con quartiere e civico più vicino.",
        ("biciclette", "ciclabilità", "sensori"),
        ("bicycles", "cycling", "sensors"),
        Frequency.IRREG,
        spatial_unit=SpatialUnit.measurement_point,
    ),
    "sub-catchments": _M(
        "Sottobacini urbani (sintetici)",
        "Due sottobacini per area statistica con curve number SCS, area e parametri della "
        "cascata di Nash. Sintetico: generato, non osservato. Sta per i parametri di "
        "pianificazione idraulica, che sono pubblici: dati aperti.",
        ("idrologia", "alluvione", "drenaggio urbano"),
        ("hydrology", "flood", "urban drainage"),
        Frequency.NEVER,
        # Open, not compute-only (decision 0018): it stands for public planning data, and the
        # flood model's per-area outputs rest on two rows each, which no noise could protect
        # without destroying them.
        privacy=PrivacyClass.open,
        spatial_unit=SpatialUnit.sub_catchment,
    ),
    "trips": _M(
        "Spostamenti individuali (dati personali sintetici)",
        "Una settimana di spostamenti: id pseudonimo della persona, area di origine e "
        "destinazione, orari, modo, distanza, motivo. Sintetico: generato, non osservato.",
        ("spostamenti", "mobilità", "ripartizione modale"),
        ("trips", "mobility", "modal split"),
        Frequency.NEVER,
        privacy=PrivacyClass.aggregate_only,
        personal_data=True,
        spatial_unit=SpatialUnit.person,
        bounds=(("distance_km", 0.0, 60.0),),
        dimensions=(
            _dim("origin_area", "origin_area", AREAS),
            _dim("destination_area", "destination_area", AREAS),
            _dim("mode", "mode", TRIP_MODES),
            _dim("purpose", "purpose", TRIP_PURPOSES),
            _dim("hour", "departure", HOURS, TimePart.hour),
            _dim("weekday", "departure", WEEKDAYS, TimePart.weekday),
        ),
        # A person makes about five trips in the synthetic week; ten covers nearly everyone.
        contribution=ContributionLimit(column="person_id", max_rows=10),
    ),
}

SERIES: dict[str, tuple[SeriesDescription, ...]] = {
    "comune": (
        SeriesDescription(
            id="traffic-loop-counts-yearly",
            title=LangText(
                it="Conteggi delle spire di traffico, per anno",
                en="Traffic loop counts, by year",
            ),
            description=LangText(
                it="Una edizione all'anno dei conteggi orari delle spire induttive.",
                en="One release per year of the hourly induction-loop counts.",
            ),
            frequency=Frequency.ANNUAL,
        ),
    ),
}


def contact_for(partner: str, legal_name: str) -> ContactPoint:
    """The default contact point of a partner's datasets (its data steward)."""
    return ContactPoint(
        name=f"Data steward, {legal_name or partner}", email=f"steward@{partner}.gemello.example"
    )


def table_extent(path: Path) -> tuple[BBox | None, PeriodOfTime | None]:
    """Bounding box and first/last day of a table, measured from its columns."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowInvalid):
        return None, None
    names = set(schema.names)
    bbox = None
    for lat, lon in LAT_LON:
        if {lat, lon} <= names:
            table = pq.read_table(path, columns=[lat, lon])
            ys, xs = pc.min_max(table[lat]).as_py(), pc.min_max(table[lon]).as_py()
            if None not in (ys["min"], xs["min"]):
                bbox = BBox(west=xs["min"], south=ys["min"], east=xs["max"], north=ys["max"])
            break
    period = None
    if "year" in names and not (names & set(TIME_COLUMNS)):
        years = pc.min_max(pq.read_table(path, columns=["year"])["year"]).as_py()
        if years["min"] is not None:
            period = PeriodOfTime(start=date(years["min"], 1, 1), end=date(years["max"], 12, 31))
    for column in TIME_COLUMNS:
        if column in names:
            span = pc.min_max(pq.read_table(path, columns=[column])[column]).as_py()
            if span["min"] is not None:
                period = PeriodOfTime(start=_day(span["min"]), end=_day(span["max"]))
            break
    return bbox, period


def _day(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


# What a generated stand-in holds that the real table does not (said in its description).
STAND_IN_NOTES: dict[str, tuple[str, str]] = {
    "rainfall-daily": (
        "Ogni maggio contiene un temporale di tre giorni generato (45, 80 e 55 mm), perché il "
        "modello delle piene abbia un evento da mostrare.",
        "Each May holds a generated three-day storm (45, 80 and 55 mm), so that the flood "
        "model has an event to show.",
    ),
}


def stands_in(dataset_id: str) -> bool:
    """Whether a synthetic table stands in for a real one that is not installed here (the
    tables that are synthetic by nature already say so in their own words). By dataset, not
    by holder: a synthetic city's copy of the comune's road graph stands in for it too."""
    spec = spec_of(dataset_id)
    return spec is not None and spec.real is not None


def stand_in_words(dataset_id: str, real: LangText) -> tuple[LangText, LangText]:
    """The title and description of a generated stand-in: what it stands for, and that it
    is generated, with no source, place, person or event of the real one's."""
    it_title = real.it or real.en
    note_it, note_en = STAND_IN_NOTES.get(dataset_id, ("", ""))
    return (
        LangText(en=f"{real.en} (synthetic stand-in)", it=f"{it_title} (sostituto sintetico)"),
        LangText(
            en="Synthetic: generated, not observed. It stands in for a real table that is not "
            "installed on this connector, with its schema and typical magnitudes; it records no "
            f"real measurement or event. {note_en}".strip(),
            it="Sintetico: generato, non osservato. Sostituisce una tabella reale che su questo "
            "connettore non è installata, con il suo schema e i suoi ordini di grandezza; non "
            f"registra misure né eventi reali. {note_it}".strip(),
        ),
    )


def describe(
    entry: TableEntry, data_dir: Path, partner: str, legal_name: str
) -> DatasetDescription:
    """The description a partner publishes for one of its tables by default."""
    meta = META.get(entry.id)
    bbox, period = table_extent(data_dir / entry.table_path)
    spatial = [BOLOGNA]
    if bbox is not None:
        spatial.append(Location(label=f"extent of {entry.id}", bbox=bbox))
    themes = [Theme(entry.theme), *(meta.extra_themes if meta else ())]
    title = LangText(en=entry.title, it=meta.title_it if meta else None)
    description = LangText(en=entry.description, it=meta.description_it if meta else None)
    if entry.synthetic and stands_in(entry.id):
        title, description = stand_in_words(entry.id, title)
    return DatasetDescription(
        id=entry.id,
        title=title,
        description=description,
        themes=themes,
        keywords={"it": list(meta.keywords_it), "en": list(meta.keywords_en)} if meta else {},
        contact_point=contact_for(partner, legal_name),
        spatial=spatial,
        temporal=period,
        temporal_resolution=meta.resolution if meta else None,
        frequency=meta.frequency if meta else Frequency.UNKNOWN,
        provenance=entry.source or "gemello synthetic generator",
        series=meta.series if meta else None,
        governance=Governance(
            privacy_class=meta.privacy if meta else PrivacyClass.open,
            personal_data=meta.personal_data if meta else False,
            synthetic=entry.synthetic,
            spatial_unit=meta.spatial_unit if meta else None,
            column_bounds=[ColumnBounds(column=c, lower=lo, upper=hi) for c, lo, hi in meta.bounds]
            if meta
            else [],
            dimensions=list(meta.dimensions) if meta else [],
            identifiers=list(identifier_columns(entry.id)),
            contribution_limit=meta.contribution if meta else None,
        ),
    )
