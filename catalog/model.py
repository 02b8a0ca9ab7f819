"""DCAT-AP 3 dataset descriptions as pydantic models.

A `DatasetDescription` is what a data steward controls: titles and descriptions in Italian and
English, themes, keywords, coverage, licence, contact point, provenance and the Gemello governance
block. Facts the connector knows better than any person (row count, digest, byte size, dates) are
a separate `DistributionFacts`, so a republished description can never contradict the data.
`catalog.rdf` maps both to and from RDF; `catalog.dsp` renders them as Dataspace Protocol messages.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG = r"^[a-z0-9][a-z0-9-]{0,119}$"
Slug = Annotated[str, Field(pattern=SLUG, description="lower-case id, e.g. 'traffic-loop-counts'")]
EU = "http://publications.europa.eu/resource/authority/"
CC_BY_4_0 = EU + "licence/CC_BY_4_0"
GEMELLO_PROFILE = "https://w3id.org/gemello/ns"
_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


class Theme(StrEnum):
    """EU data themes (publications.europa.eu/resource/authority/data-theme)."""

    AGRI = "AGRI"
    ECON = "ECON"
    EDUC = "EDUC"
    ENER = "ENER"
    ENVI = "ENVI"
    GOVE = "GOVE"
    HEAL = "HEAL"
    INTR = "INTR"
    JUST = "JUST"
    REGI = "REGI"
    SOCI = "SOCI"
    TECH = "TECH"
    TRAN = "TRAN"


THEME_LABELS = {
    Theme.AGRI: "Agriculture, fisheries, forestry and food",
    Theme.ECON: "Economy and finance",
    Theme.EDUC: "Education, culture and sport",
    Theme.ENER: "Energy",
    Theme.ENVI: "Environment",
    Theme.GOVE: "Government and public sector",
    Theme.HEAL: "Health",
    Theme.INTR: "International issues",
    Theme.JUST: "Justice, legal system and public safety",
    Theme.REGI: "Regions and cities",
    Theme.SOCI: "Population and society",
    Theme.TECH: "Science and technology",
    Theme.TRAN: "Transport",
}


class Frequency(StrEnum):
    """EU frequency vocabulary (a subset)."""

    CONT = "CONT"
    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    ANNUAL = "ANNUAL"
    IRREG = "IRREG"
    NEVER = "NEVER"
    UNKNOWN = "UNKNOWN"


class PrivacyClass(StrEnum):
    """What may leave the holder (ontology/gemello.ttl, gem:PrivacyClass)."""

    open = "open"
    aggregate_only = "aggregate-only"
    compute_only = "compute-only"


class TimePart(StrEnum):
    """A part of a date or time a public dimension may take."""

    hour = "hour"
    weekday = "weekday"
    month = "month"


class SpatialUnit(StrEnum):
    """The spatial resolution one row refers to (gem:SpatialUnit)."""

    municipality = "municipality"
    statistical_area = "statistical-area"
    road_arc = "road-arc"
    measurement_point = "measurement-point"
    sub_catchment = "sub-catchment"
    building = "building"
    person = "person"


class LangText(BaseModel):
    """A text in Italian and English; at least one of the two."""

    model_config = ConfigDict(extra="forbid")

    it: str | None = Field(default=None, min_length=1)
    en: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_language(self) -> LangText:
        if self.it is None and self.en is None:
            raise ValueError("give the text in Italian ('it'), English ('en') or both")
        return self

    def best(self, lang: str = "en") -> str:
        """The text in `lang`, falling back to the other language."""
        return (self.en or self.it or "") if lang == "en" else (self.it or self.en or "")


class BBox(BaseModel):
    """A WGS84 bounding box in degrees."""

    model_config = ConfigDict(extra="forbid")

    west: float = Field(ge=-180, le=180)
    south: float = Field(ge=-90, le=90)
    east: float = Field(ge=-180, le=180)
    north: float = Field(ge=-90, le=90)

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if self.west > self.east or self.south > self.north:
            raise ValueError("west must not exceed east and south must not exceed north")
        return self

    def intersects(self, other: BBox) -> bool:
        """True when the two boxes share at least a point."""
        return not (
            other.west > self.east
            or other.east < self.west
            or other.south > self.north
            or other.north < self.south
        )


class Location(BaseModel):
    """Spatial coverage: a named place with an optional IRI and bounding box."""

    model_config = ConfigDict(extra="forbid")

    iri: str | None = Field(default=None, description="e.g. a GeoNames IRI")
    label: str = Field(min_length=1)
    bbox: BBox | None = None


class PeriodOfTime(BaseModel):
    """Temporal coverage; either end may be open."""

    model_config = ConfigDict(extra="forbid")

    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PeriodOfTime:
        if self.start is None and self.end is None:
            raise ValueError("a period needs a start, an end or both")
        if self.start and self.end and self.start > self.end:
            raise ValueError("the period starts after it ends")
        return self


class ContactPoint(BaseModel):
    """Who answers questions about a dataset (vcard:Kind)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ColumnBounds(BaseModel):
    """Public bounds of a numeric column, used to clamp values before DP noise."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(min_length=1)
    lower: float
    upper: float

    @model_validator(mode="after")
    def _ordered(self) -> ColumnBounds:
        if not self.lower < self.upper:
            raise ValueError(f"bounds of '{self.column}': lower must be below upper")
        return self


COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,59}$"


class PublicDimension(BaseModel):
    """A public, low-cardinality column (or a time part of one) that DP queries may filter and
    group by. Its declared values are the only groups ever released, whatever the data holds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=COLUMN, description="what queries call it, e.g. 'hour'")
    column: str = Field(pattern=COLUMN)
    part: TimePart | None = Field(default=None, description="hour, weekday or month of a time")
    values: list[str] = Field(min_length=1, max_length=500)

    @field_validator("values")
    @classmethod
    def _canonical(cls, values: list[str]) -> list[str]:
        # RDF keeps no order: a canonical order makes a round trip exact.
        if len(set(values)) != len(values):
            raise ValueError("domain values must be distinct")
        numeric = all(re.fullmatch(r"-?\d+", v) for v in values)
        return sorted(values, key=int) if numeric else sorted(values)


class ContributionLimit(BaseModel):
    """Rows of one contributor (e.g. a person) that a DP query may use: the guarantee then
    protects the contributor, not just one row."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(pattern=COLUMN, description="the (pseudonymised) contributor id")
    max_rows: int = Field(ge=1, le=1000)


class Governance(BaseModel):
    """The Gemello profile: what governance needs and DCAT-AP does not say."""

    model_config = ConfigDict(extra="forbid")

    privacy_class: PrivacyClass
    personal_data: bool
    synthetic: bool
    spatial_unit: SpatialUnit | None = None
    column_bounds: list[ColumnBounds] = Field(default_factory=list)
    dimensions: list[PublicDimension] = Field(default_factory=list)
    identifiers: list[str] = Field(
        default_factory=list,
        description="personal identifier columns, pseudonymised, never released",
    )
    contribution_limit: ContributionLimit | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Governance:
        # The same rules as ontology/shapes.ttl, so API callers hear about them before SHACL.
        if self.personal_data and self.privacy_class is PrivacyClass.open:
            raise ValueError("personal data cannot be open: use aggregate-only or compute-only")
        if self.privacy_class is PrivacyClass.aggregate_only and not self.column_bounds:
            raise ValueError("an aggregate-only dataset must declare column_bounds")
        names = [d.name for d in self.dimensions]
        if len(set(names)) != len(names):
            raise ValueError("two public dimensions share a name")
        exposed = {d.column for d in self.dimensions} | {b.column for b in self.column_bounds}
        if exposed & set(self.identifiers):
            raise ValueError("an identifier column cannot be a dimension or have bounds")
        # Canonical order, as RDF keeps none.
        self.dimensions.sort(key=lambda d: d.name)
        self.identifiers.sort()
        return self

    def bounds(self, column: str) -> ColumnBounds | None:
        """The declared bounds of one column."""
        return next((b for b in self.column_bounds if b.column == column), None)


class DatasetDescription(BaseModel):
    """What a steward publishes about one dataset (the editable part of its DCAT-AP entry)."""

    model_config = ConfigDict(extra="forbid")

    id: Slug
    title: LangText
    description: LangText
    themes: list[Theme] = Field(min_length=1)
    keywords: dict[str, list[str]] = Field(
        default_factory=dict, description="keywords per language code, e.g. {'it': [...]}"
    )
    contact_point: ContactPoint
    spatial: list[Location] = Field(default_factory=list)
    temporal: PeriodOfTime | None = None
    temporal_resolution: str | None = Field(default=None, description="ISO 8601, e.g. PT1H")
    frequency: Frequency = Frequency.UNKNOWN
    license: str = Field(default=CC_BY_4_0, description="licence IRI")
    conforms_to: list[str] = Field(default_factory=lambda: [GEMELLO_PROFILE])
    provenance: str = Field(min_length=1, description="where the rows come from, in words")
    landing_page: str | None = None
    series: Slug | None = Field(default=None, description="id of the dataset series it is in")
    governance: Governance

    @field_validator("temporal_resolution")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not _DURATION.match(value):
            raise ValueError("must be an ISO 8601 duration such as PT1H or P1D")
        return value

    @field_validator("keywords")
    @classmethod
    def _languages(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for lang, words in value.items():
            if not re.fullmatch(r"[a-z]{2}", lang):
                raise ValueError(f"'{lang}' is not a two-letter language code")
            if any(not w.strip() for w in words):
                raise ValueError("keywords must not be empty")
        return value

    def all_keywords(self) -> list[str]:
        """Every keyword, in every language."""
        return [w for words in self.keywords.values() for w in words]


class DistributionFacts(BaseModel):
    """What the connector knows about a dataset's table: never typed by a person."""

    media_type: str = "application/vnd.apache.parquet"
    file_type: str = "PARQUET"
    byte_size: int | None = Field(default=None, ge=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    row_count: int | None = Field(default=None, ge=0)
    issued: datetime
    modified: datetime


class SeriesDescription(BaseModel):
    """A DCAT-AP dataset series, e.g. the yearly loop counts."""

    model_config = ConfigDict(extra="forbid")

    id: Slug
    title: LangText
    description: LangText
    frequency: Frequency = Frequency.ANNUAL
    contact_point: ContactPoint | None = None


class Publisher(BaseModel):
    """The organisation publishing a catalogue: a dataspace member."""

    participant_id: str
    name: str
    connector_url: str

    def dataset_iri(self, dataset_id: str) -> str:
        """The stable IRI of one of this publisher's datasets."""
        return f"{self.participant_id}:dataset:{dataset_id}"

    def series_iri(self, series_id: str) -> str:
        """The stable IRI of one of this publisher's dataset series."""
        return f"{self.participant_id}:series:{series_id}"

    @property
    def catalog_iri(self) -> str:
        """The IRI of the publisher's catalogue."""
        return f"{self.participant_id}:catalog"

    @property
    def service_iri(self) -> str:
        """The IRI of the publisher's DSP data service (its connector)."""
        return f"{self.participant_id}:connector"


class DerivedDownload(BaseModel):
    """One file a derived dataset is offered as."""

    url: str
    media_type: str
    title: str


class DerivedDataset(BaseModel):
    """A published result: a dataset derived from others by a model run (its released, noised
    outputs), listed in the publisher's catalogue with `prov:wasDerivedFrom` its inputs."""

    id: Slug
    title: LangText
    description: LangText
    themes: list[Theme] = Field(min_length=1)
    issued: datetime
    landing_page: str
    downloads: list[DerivedDownload] = Field(min_length=1)
    derived_from: list[str] = Field(min_length=1, description="the input datasets' IRIs")
    generated_by: str = Field(description="the IRI of the run (its PROV activity)")
    synthetic: bool = Field(description="whether any input is synthetic")
    license: str = CC_BY_4_0


class CatalogEntry(BaseModel):
    """A published dataset: the steward's description plus the connector's facts."""

    description: DatasetDescription
    facts: DistributionFacts


def dataset_id_from_iri(iri: str, participant_id: str) -> str | None:
    """The local id of a dataset IRI minted by `Publisher.dataset_iri`, else None."""
    prefix = f"{participant_id}:dataset:"
    return iri[len(prefix) :] if iri.startswith(prefix) else None
