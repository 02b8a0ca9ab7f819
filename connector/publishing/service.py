"""Publishing: default descriptions on start-up, steward submissions checked by SHACL, paging.

Services raise domain errors and never commit; the caller's session does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog import CatalogValidator, MetadataUnreadable, ValidationOutcome, parse_description
from catalog.model import (
    CatalogEntry,
    DatasetDescription,
    DistributionFacts,
    Publisher,
    SeriesDescription,
)
from catalog.rdf import DescriptionError, dataset_graph, description_from_graph
from connector.datasets.repository import DatasetRepository
from connector.errors import DatasetNotFound, MetadataInvalid, ShapeViolation
from connector.partnerdata.catalogmeta import SERIES, describe
from connector.partnerdata.prepare import TableEntry
from connector.partnerdata.specs import partner_specs
from connector.publishing.repository import CatalogFilter, CatalogRepository, ProfileRepository
from connector.storage import Session
from connector.storage.tables import CatalogRecord, DatasetRecord, aware, utcnow

log = logging.getLogger("gemello.catalog")

# Content types a description may be published in, and the RDF syntax each one is.
RDF_MEDIA_TYPES = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
}
JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class CatalogSyncReport:
    """What a start-up publication changed."""

    generated: int
    refreshed: int
    unchanged: int
    refused: int
    removed: int


def series_of(partner: str) -> tuple[SeriesDescription, ...]:
    """The dataset series a partner publishes. A member that is none of the partners (a
    synthetic city of the benchmarks) holds copies of all their tables, so all their series."""
    if partner_specs(partner):
        return SERIES.get(partner, ())
    return tuple(s for group in SERIES.values() for s in group)


def entry_of(record: CatalogRecord) -> CatalogEntry:
    """A stored record as a model."""
    return CatalogEntry(
        description=DatasetDescription.model_validate(record.description),
        facts=DistributionFacts.model_validate(record.facts),
    )


def _facts(dataset: DatasetRecord, data_dir: Path | None) -> DistributionFacts:
    path = data_dir / dataset.table_path if data_dir is not None else None
    return DistributionFacts(
        byte_size=path.stat().st_size if path is not None and path.is_file() else None,
        sha256=dataset.content_sha256 or None,
        row_count=dataset.row_count,
        issued=aware(dataset.registered_at),
        modified=aware(dataset.updated_at),
    )


def _record(entry: CatalogEntry, origin: str, by: str | None, now: datetime) -> CatalogRecord:
    d = entry.description
    text = " ".join(
        [d.id, d.title.it or "", d.title.en or "", d.description.it or "", d.description.en or ""]
        + d.all_keywords()
    )
    return CatalogRecord(
        dataset_id=d.id,
        origin=origin,
        description=d.model_dump(mode="json"),
        facts=entry.facts.model_dump(mode="json"),
        themes=" " + " ".join(d.themes) + " ",
        privacy_class=d.governance.privacy_class.value,
        search_text=text.lower(),
        published_by=by,
        modified=now,
    )


def check(
    validator: CatalogValidator, publisher: Publisher, entry: CatalogEntry, partner: str
) -> ValidationOutcome:
    """SHACL results for an entry exactly as it would be published."""
    return validator.validate(dataset_graph(publisher, entry, series_of(partner)))


def _refuse(outcome: ValidationOutcome, what: str) -> ShapeViolation:
    n = len(outcome.violations)
    first = outcome.violations[0]
    return ShapeViolation(
        f"{what} has {n} SHACL violation{'s' * (n != 1)}; first: {first.focus}"
        f"{' ' + first.path if first.path else ''}: {first.message}",
        shapes=list(outcome.shapes_used),
        results=[
            {"severity": r.severity, "focus": r.focus, "path": r.path, "message": r.message}
            for r in outcome.results
        ],
    )


def sync_catalog(
    session: Session,
    tables: Sequence[TableEntry],
    data_dir: Path,
    publisher: Publisher,
    partner: str,
    validator: CatalogValidator,
) -> CatalogSyncReport:
    """Publish a default description of every table that has no steward's description.

    A steward's (or the harvester's) description is kept; only its measured facts follow the
    table. Anything that would not conform is refused and logged, never published.
    """
    repo = CatalogRepository(session)
    datasets = DatasetRepository(session)
    now = utcnow()
    generated = refreshed = unchanged = refused = 0
    for table in tables:
        dataset = datasets.get(table.id)
        if dataset is None:
            continue
        old = repo.get(table.id)
        facts = _facts(dataset, data_dir)
        if old is not None and old.origin != "generated":
            entry = CatalogEntry(description=entry_of(old).description, facts=facts)
            origin = old.origin
        else:
            entry = CatalogEntry(
                description=describe(table, data_dir, partner, publisher.name), facts=facts
            )
            origin = "generated"
        if old is not None and entry == entry_of(old):
            unchanged += 1
            continue
        outcome = check(validator, publisher, entry, partner)
        if not outcome.conforms:
            refused += 1
            log.error("%s: not publishing %s: %s", partner, table.id, _refuse(outcome, table.id))
            continue
        repo.put(_record(entry, origin, old.published_by if old else None, now))
        described_anew = old is None or (
            origin == "generated" and old.description != entry.description.model_dump(mode="json")
        )
        if described_anew:
            generated += 1
        else:
            refreshed += 1  # same description, new facts (the table changed)
    removed = repo.delete_except({t.id for t in tables})
    return CatalogSyncReport(generated, refreshed, unchanged, refused, removed)


def read_submission(
    body: bytes, media_type: str, dataset_id: str, publisher: Publisher, validator: CatalogValidator
) -> DatasetDescription:
    """A steward's submission as a description, or a 422 saying what is wrong with it.

    RDF is checked by SHACL as submitted (so the steward sees results about their own nodes),
    then mapped to the model; JSON is the model itself.
    """
    if media_type == JSON_MEDIA_TYPE:
        try:
            fields: Any = DatasetDescription.model_validate_json(body).model_dump()
        except ValidationError as exc:
            raise _model_errors(exc) from None
    elif media_type in RDF_MEDIA_TYPES:
        try:
            graph = parse_description(body, RDF_MEDIA_TYPES[media_type])
        except MetadataUnreadable as exc:
            raise MetadataInvalid(str(exc)) from None
        outcome = validator.validate(graph)
        if not outcome.conforms:
            raise _refuse(outcome, "the submitted description")
        try:
            fields = description_from_graph(graph, publisher.dataset_iri(dataset_id), dataset_id)
        except DescriptionError as exc:
            raise MetadataInvalid(str(exc)) from None
    else:
        known = ", ".join([JSON_MEDIA_TYPE, *RDF_MEDIA_TYPES])
        raise MetadataInvalid(f"cannot read a description sent as '{media_type}' (use {known})")
    if fields.get("id") != dataset_id:
        raise MetadataInvalid(f"the description is of '{fields.get('id')}', not '{dataset_id}'")
    try:
        return DatasetDescription.model_validate(fields)
    except ValidationError as exc:
        raise _model_errors(exc) from None


def _model_errors(exc: ValidationError) -> MetadataInvalid:
    errors = [
        {"location": ".".join(str(p) for p in e["loc"]) or "(root)", "message": e["msg"]}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
    return MetadataInvalid(f"the description is incomplete or malformed: {summary}", errors=errors)


def publish(
    session: Session,
    description: DatasetDescription,
    publisher: Publisher,
    partner: str,
    validator: CatalogValidator,
    by: str,
    data_dir: Path | None = None,
    origin: str = "published",
) -> tuple[CatalogRecord, ValidationOutcome]:
    """Replace a dataset's description after checking it exactly as it will be served."""
    dataset = DatasetRepository(session).get(description.id)
    if dataset is None:
        raise DatasetNotFound(
            f"this connector holds no dataset '{description.id}' to describe",
            dataset=description.id,
        )
    known_series = {s.id for s in series_of(partner)}
    if description.series is not None and description.series not in known_series:
        raise MetadataInvalid(
            f"series '{description.series}' does not exist (known: {sorted(known_series)})"
        )
    entry = CatalogEntry(description=description, facts=_facts(dataset, data_dir))
    outcome = check(validator, publisher, entry, partner)
    if not outcome.conforms:
        raise _refuse(outcome, f"the description of '{description.id}'")
    record = _record(entry, origin, by, utcnow())
    CatalogRepository(session).put(record)
    return record, outcome


def get_entry(session: Session, dataset_id: str) -> CatalogEntry:
    """One published entry, or DatasetNotFound."""
    record = CatalogRepository(session).get(dataset_id)
    if record is None:
        raise DatasetNotFound(
            f"this connector publishes no dataset '{dataset_id}'", dataset=dataset_id
        )
    return entry_of(record)


def all_entries(session: Session) -> list[CatalogEntry]:
    """Every published entry."""
    return [entry_of(r) for r in CatalogRepository(session).all()]


def page(
    session: Session, where: CatalogFilter, offset: int, limit: int
) -> tuple[list[CatalogEntry], int]:
    """A page of published entries and the number matching in all."""
    rows, total = CatalogRepository(session).page(where, offset, limit)
    return [entry_of(r) for r in rows], total


def dataset_stamp(session: Session, dataset_id: str) -> tuple[str, str, int, object] | None:
    """(table path, content digest, row count, catalogue modified) of a held, published
    dataset in one cheap read (it changes whenever the table or the entry does); None when the
    dataset is not held or not published."""
    return ProfileRepository(session).stamp(dataset_id)


def dataset_description(session: Session, dataset_id: str) -> dict[str, Any]:
    """The published description (JSON) of a dataset, or {}."""
    return ProfileRepository(session).description(dataset_id)
