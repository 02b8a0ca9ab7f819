"""Dataspace Protocol 2025-1 catalog messages (compact JSON-LD) from and to catalogue entries.

The protocol's context defines `Dataset`, `hasPolicy`, `distribution`... and the prefixes `dct`
and `dcat`; DCAT-AP properties travel as compact IRIs (`dct:title`), Gemello's profile as full
IRIs, since the protocol allows only context URLs (no inline context) in `@context`.
`summary_from_dataset` reads them back for the federated index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from catalog.model import (
    BBox,
    CatalogEntry,
    PrivacyClass,
    Publisher,
)
from catalog.rdf import FREQ_NS, PRIVACY_IRI, THEME_NS, UNIT_IRI, parse_wkt_box, wkt
from ontology import GEM

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
DSP_VERSION = "2025-1"
# How each privacy class is delivered; DSP leaves `format` to the implementation.
DELIVERY = {
    PrivacyClass.open: "HttpData-PULL",
    PrivacyClass.aggregate_only: "Gemello-DPQuery",
    PrivacyClass.compute_only: "Gemello-ModelRun",
}
G = str(GEM)  # full-IRI keys for the Gemello profile
# The DSP context defines no `skos:` prefix: a compact `skos:prefLabel` would not expand.
SKOS_PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
PRIVACY_BY_IRI = {str(v): k for k, v in PRIVACY_IRI.items()}
UNIT_BY_IRI = {str(v): k for k, v in UNIT_IRI.items()}


def _texts(text: Any) -> list[dict[str, str]]:
    return [{"@value": v, "@language": lang} for lang in ("it", "en") if (v := getattr(text, lang))]


def data_service(publisher: Publisher) -> dict[str, Any]:
    """The connector as a DSP DataService."""
    return {
        "@id": publisher.service_iri,
        "@type": "DataService",
        "endpointURL": publisher.connector_url,
    }


def dataset(
    entry: CatalogEntry, publisher: Publisher, offers: Sequence[dict[str, Any]], root: bool = False
) -> dict[str, Any]:
    """One dataset; `root` makes it a stand-alone message (with `@context`)."""
    d, facts, gov = entry.description, entry.facts, entry.description.governance
    body: dict[str, Any] = {"@context": [DSP_CONTEXT]} if root else {}
    body |= {
        "@id": publisher.dataset_iri(d.id),
        "@type": "Dataset",
        "hasPolicy": list(offers),
        "distribution": [
            {
                "@type": "Distribution",
                "format": DELIVERY[gov.privacy_class],
                # A stand-alone dataset names the full service; in a catalogue, its @id.
                "accessService": data_service(publisher) if root else publisher.service_iri,
            }
        ],
        "dct:identifier": d.id,
        "dct:title": _texts(d.title),
        "dct:description": _texts(d.description),
        "dct:publisher": {"@id": publisher.participant_id},
        "dcat:theme": [{"@id": THEME_NS + t} for t in d.themes],
        "dcat:keyword": [
            {"@value": w, "@language": lang} for lang, ws in d.keywords.items() for w in ws
        ],
        "dct:accrualPeriodicity": {"@id": FREQ_NS + d.frequency},
        "dct:license": {"@id": d.license},
        "dct:modified": {"@value": facts.modified.isoformat(), "@type": "xsd:dateTime"},
        G + "privacyClass": {"@id": str(PRIVACY_IRI[gov.privacy_class])},
        G + "containsPersonalData": gov.personal_data,
        G + "synthetic": gov.synthetic,
    }
    if d.spatial:
        body["dct:spatial"] = [
            {k: v for k, v in (("@id", loc.iri), (SKOS_PREF_LABEL, loc.label)) if v}
            | ({"dcat:bbox": str(wkt(loc.bbox))} if loc.bbox else {})
            for loc in d.spatial
        ]
    if d.temporal is not None:
        period = {}
        if d.temporal.start:
            period["dcat:startDate"] = {"@value": d.temporal.start.isoformat(), "@type": "xsd:date"}
        if d.temporal.end:
            period["dcat:endDate"] = {"@value": d.temporal.end.isoformat(), "@type": "xsd:date"}
        body["dct:temporal"] = period
    if gov.spatial_unit is not None:
        body[G + "spatialUnit"] = {"@id": str(UNIT_IRI[gov.spatial_unit])}
    if facts.row_count is not None:
        body[G + "rowCount"] = facts.row_count
    if gov.column_bounds or gov.dimensions:
        body[G + "queryProfile"] = query_profile(gov)
    return body


def query_profile(gov: Any) -> dict[str, Any]:
    """What a researcher may ask of a dataset, published with it: the numeric columns with
    their clamping bounds, the public dimensions with their values, and how many rows one
    contributor may add. These are the public facts the noise is calibrated on, so a consumer
    can offer only valid questions and preview the error before spending anything."""
    limit = gov.contribution_limit
    return {
        "columns": [{"name": b.column, "lower": b.lower, "upper": b.upper}
                    for b in gov.column_bounds],
        "dimensions": [{"name": d.name, "values": list(d.values)} for d in gov.dimensions],
        "contributionLimit": limit.max_rows if limit else None,
    }  # fmt: skip


def catalog(publisher: Publisher, datasets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A catalogue message (`datasets` already rendered with `dataset`)."""
    body: dict[str, Any] = {
        "@context": [DSP_CONTEXT],
        "@id": publisher.catalog_iri,
        "@type": "Catalog",
        "participantId": publisher.participant_id,
        "dct:title": [{"@value": f"Gemello catalogue — {publisher.name}", "@language": "en"}],
        "service": [data_service(publisher)],
    }
    if datasets:  # the schema wants at least one item when the key is there
        body["dataset"] = list(datasets)
    return body


def version_response(path: str = "/") -> dict[str, Any]:
    """The body of `/.well-known/dspace-version`."""
    return {
        "protocolVersions": [
            {
                "version": DSP_VERSION,
                "path": path,
                "binding": "HTTPS",
                "identifierType": "urn",
                "auth": {"protocol": "gemello-jwt", "version": "1", "profile": ["rfc7523-ed25519"]},
            }
        ]
    }


# --- reading (gateway side) ---------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSummary:
    """What the federated index keeps of a member's dataset to answer searches."""

    iri: str
    dataset_id: str
    title: str
    search_text: str
    themes: tuple[str, ...]
    privacy_class: str
    bbox: BBox | None
    start: date | None
    end: date | None
    modified: datetime | None


class NotADataset(ValueError):
    """A catalogue item that is not a readable DSP dataset."""


def _values(items: Any) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        items = [items]
    out = []
    for item in items:
        value = item.get("@value") if isinstance(item, dict) else item
        if isinstance(value, str | int | float):
            out.append(str(value))
    return out


def _date(node: Any) -> date | None:
    text = next(iter(_values(node)), None)
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def summary_from_dataset(item: dict[str, Any]) -> DatasetSummary:
    """Read a DSP dataset (as `dataset` renders it; other providers' extras are optional)."""
    iri = item.get("@id")
    if not isinstance(iri, str) or not iri:
        raise NotADataset("a catalogue item without an @id")
    titles = _values(item.get("dct:title"))
    descriptions = _values(item.get("dct:description"))
    keywords = _values(item.get("dcat:keyword"))
    themes = tuple(
        t["@id"][len(THEME_NS) :]
        for t in item.get("dcat:theme", []) or []
        if isinstance(t, dict) and str(t.get("@id", "")).startswith(THEME_NS)
    )
    boxes = []
    for loc in item.get("dct:spatial", []) or []:
        if isinstance(loc, dict) and isinstance(loc.get("dcat:bbox"), str):
            try:
                boxes.append(parse_wkt_box(loc["dcat:bbox"]))
            except ValueError:
                continue
    # The tightest box describes the data best (the municipality box covers everything).
    bbox = min(boxes, key=lambda b: (b.east - b.west) * (b.north - b.south), default=None)
    period = item.get("dct:temporal") or {}
    privacy = (item.get(G + "privacyClass") or {}).get("@id", "")
    modified_text = next(iter(_values(item.get("dct:modified"))), None)
    try:
        modified = datetime.fromisoformat(modified_text) if modified_text else None
    except ValueError:
        modified = None
    local_id = next(iter(_values(item.get("dct:identifier"))), None) or iri.rsplit(":", 1)[-1]
    text = " ".join([*titles, *descriptions, *keywords, local_id]).lower()
    return DatasetSummary(
        iri=iri,
        dataset_id=local_id,
        title=(titles[-1] if titles else local_id)[:300],
        search_text=text,
        themes=themes,
        privacy_class=PRIVACY_BY_IRI[privacy].value if privacy in PRIVACY_BY_IRI else "",
        bbox=bbox,
        start=_date(period.get("dcat:startDate")) if isinstance(period, dict) else None,
        end=_date(period.get("dcat:endDate")) if isinstance(period, dict) else None,
        modified=modified,
    )
