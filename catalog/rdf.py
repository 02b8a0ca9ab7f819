"""DCAT-AP 3 <-> pydantic with rdflib.

`catalog_graph` renders a publisher's catalogue (datasets, series, the connector as a
DataService); `description_from_graph` reads a steward's Turtle / JSON-LD / RDF/XML back into a
`DatasetDescription`. Validation is closed-world, so every node the graph points to (publisher,
contact, theme, licence, location, media type...) is typed and labelled in the graph itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS as DCT
from rdflib.namespace import FOAF, SKOS
from rdflib.term import Node

from catalog.model import (
    EU,
    THEME_LABELS,
    BBox,
    CatalogEntry,
    ContactPoint,
    DerivedDataset,
    Frequency,
    Governance,
    LangText,
    Location,
    PeriodOfTime,
    PrivacyClass,
    Publisher,
    SeriesDescription,
    SpatialUnit,
)
from ontology import GEM

# rdflib's closed namespaces: a misspelt term fails at import, and `DCT.format` is the term,
# not str.format.
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")  # rdflib's closed DCAT lacks DCAT 3 (inSeries)
SPDX = Namespace("http://spdx.org/rdf/terms#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
ADMS = Namespace("http://www.w3.org/ns/adms#")

THEME_NS = EU + "data-theme/"
FREQ_NS = EU + "frequency/"
ACCESS_NS = EU + "access-right/"
FILE_TYPE_NS = EU + "file-type/"
IANA = "https://www.iana.org/assignments/media-types/"
LOCAL_AUTHORITY = URIRef("http://purl.org/adms/publishertype/LocalAuthority")

PRIVACY_IRI = {
    PrivacyClass.open: GEM.Open,
    PrivacyClass.aggregate_only: GEM.AggregateOnly,
    PrivacyClass.compute_only: GEM.ComputeOnly,
}
UNIT_IRI = {
    SpatialUnit.municipality: GEM.Municipality,
    SpatialUnit.statistical_area: GEM.StatisticalArea,
    SpatialUnit.road_arc: GEM.RoadArc,
    SpatialUnit.measurement_point: GEM.MeasurementPoint,
    SpatialUnit.sub_catchment: GEM.SubCatchment,
    SpatialUnit.building: GEM.Building,
    SpatialUnit.person: GEM.Person,
}
ACCESS_LABELS = {"PUBLIC": "public", "RESTRICTED": "restricted", "NON_PUBLIC": "non-public"}
PREFIXES = {
    "dcat": DCAT,
    "dct": DCT,
    "foaf": FOAF,
    "vcard": VCARD,
    "skos": SKOS,
    "spdx": SPDX,
    "locn": LOCN,
    "gsp": GSP,
    "gem": GEM,
}


class DescriptionError(ValueError):
    """RDF that parses but does not describe a dataset the way the model needs."""


def access_right(privacy: PrivacyClass) -> str:
    """The EU access-right code a privacy class implies."""
    return "PUBLIC" if privacy is PrivacyClass.open else "RESTRICTED"


def new_graph() -> Graph:
    """An empty graph with the catalogue's prefixes bound."""
    graph = Graph()
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns)
    return graph


def _texts(graph: Graph, node: Node, prop: URIRef, text: LangText) -> None:
    for lang in ("it", "en"):
        value = getattr(text, lang)
        if value:
            graph.add((node, prop, Literal(value, lang=lang)))


def _concept(graph: Graph, iri: URIRef, label: str, cls: URIRef | None = None) -> URIRef:
    graph.add((iri, RDF.type, SKOS.Concept))
    if cls is not None:
        graph.add((iri, RDF.type, cls))
    graph.set((iri, SKOS.prefLabel, Literal(label, lang="en")))
    return iri


def _typed(graph: Graph, iri: URIRef, cls: URIRef, label: str | None = None) -> URIRef:
    graph.add((iri, RDF.type, cls))
    if label:
        graph.set((iri, RDFS.label, Literal(label, lang="en")))
    return iri


def wkt(box: BBox) -> Literal:
    """A bounding box as a GeoSPARQL WKT polygon."""
    w, s, e, n = box.west, box.south, box.east, box.north
    ring = f"{w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}"
    return Literal(f"POLYGON(({ring}))", datatype=GSP.wktLiteral)


def parse_wkt_box(text: str) -> BBox:
    """The bounding box of a WKT POLYGON literal."""
    try:
        inner = text[text.index("((") + 2 : text.index("))")]
        points = [tuple(float(v) for v in p.split()) for p in inner.split(",")]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return BBox(west=min(xs), south=min(ys), east=max(xs), north=max(ys))
    except (ValueError, IndexError) as exc:
        raise DescriptionError(f"dcat:bbox is not a WKT polygon: {text[:60]}") from exc


def _agent(graph: Graph, publisher: Publisher) -> URIRef:
    agent = URIRef(publisher.participant_id)
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.set((agent, FOAF.name, Literal(publisher.name)))
    graph.set((agent, DCT.type, _concept(graph, LOCAL_AUTHORITY, "Local authority")))
    return agent


def _contact(graph: Graph, subject: URIRef, contact: ContactPoint) -> None:
    node = URIRef(f"{subject}/contact")
    graph.add((node, RDF.type, VCARD.Kind))
    graph.add((node, RDF.type, VCARD.Organization))
    graph.set((node, VCARD.fn, Literal(contact.name)))
    graph.set((node, VCARD.hasEmail, URIRef(f"mailto:{contact.email}")))
    graph.add((subject, DCAT.contactPoint, node))


def _service(graph: Graph, publisher: Publisher) -> URIRef:
    service = URIRef(publisher.service_iri)
    graph.add((service, RDF.type, DCAT.DataService))
    graph.set((service, DCT.title, Literal(f"Gemello connector of {publisher.name}", lang="en")))
    graph.set((service, DCAT.endpointURL, URIRef(publisher.connector_url)))
    graph.set(
        (service, DCAT.endpointDescription, URIRef(publisher.connector_url + "/openapi.json"))
    )
    graph.set((service, DCT.publisher, _agent(graph, publisher)))
    graph.add((service, DCT.conformsTo, _typed(graph, URIRef(DSP_PROFILE), DCT.Standard)))
    return service


DSP_PROFILE = "https://w3id.org/dspace/2025/1/"


def _location(graph: Graph, subject: URIRef, index: int, loc: Location) -> URIRef:
    node = URIRef(loc.iri) if loc.iri else URIRef(f"{subject}/spatial/{index}")
    graph.add((node, RDF.type, DCT.Location))
    graph.set((node, SKOS.prefLabel, Literal(loc.label)))
    if loc.bbox is not None:
        graph.set((node, DCAT.bbox, wkt(loc.bbox)))
    return node


def _period(graph: Graph, subject: URIRef, period: PeriodOfTime) -> URIRef:
    node = URIRef(f"{subject}/temporal")
    graph.add((node, RDF.type, DCT.PeriodOfTime))
    if period.start:
        graph.set((node, DCAT.startDate, Literal(period.start, datatype=XSD.date)))
    if period.end:
        graph.set((node, DCAT.endDate, Literal(period.end, datatype=XSD.date)))
    return node


def _governance(graph: Graph, subject: URIRef, gov: Governance) -> None:
    graph.set((subject, GEM.privacyClass, PRIVACY_IRI[gov.privacy_class]))
    graph.set((subject, GEM.containsPersonalData, Literal(gov.personal_data)))
    graph.set((subject, GEM.synthetic, Literal(gov.synthetic)))
    if gov.spatial_unit is not None:
        graph.set((subject, GEM.spatialUnit, UNIT_IRI[gov.spatial_unit]))
    for bounds in gov.column_bounds:
        node = URIRef(f"{subject}/bounds/{bounds.column}")
        graph.add((subject, GEM.columnBounds, node))
        graph.add((node, RDF.type, GEM.ColumnBounds))
        graph.set((node, GEM.column, Literal(bounds.column)))
        graph.set((node, GEM.lowerBound, Literal(bounds.lower, datatype=XSD.double)))
        graph.set((node, GEM.upperBound, Literal(bounds.upper, datatype=XSD.double)))
    for dim in gov.dimensions:
        node = URIRef(f"{subject}/dimension/{dim.name}")
        graph.add((subject, GEM.publicDimension, node))
        graph.add((node, RDF.type, GEM.PublicDimension))
        graph.set((node, GEM.dimensionName, Literal(dim.name)))
        graph.set((node, GEM.column, Literal(dim.column)))
        if dim.part is not None:
            graph.set((node, GEM.timePart, Literal(dim.part.value)))
        for value in dim.values:
            graph.add((node, GEM.domainValue, Literal(value)))
    for column in gov.identifiers:
        graph.add((subject, GEM.identifierColumn, Literal(column)))
    if gov.contribution_limit is not None:
        node = URIRef(f"{subject}/contribution-limit")
        graph.set((subject, GEM.contributionLimit, node))
        graph.add((node, RDF.type, GEM.ContributionLimit))
        graph.set((node, GEM.column, Literal(gov.contribution_limit.column)))
        graph.set((node, GEM.maxRows, Literal(gov.contribution_limit.max_rows)))


def add_dataset(graph: Graph, entry: CatalogEntry, publisher: Publisher) -> URIRef:
    """Add one dataset (with its distribution) to a graph; return its IRI."""
    d, facts = entry.description, entry.facts
    ds = URIRef(publisher.dataset_iri(d.id))
    graph.add((ds, RDF.type, DCAT.Dataset))
    graph.set((ds, DCT.identifier, Literal(d.id)))
    _texts(graph, ds, DCT.title, d.title)
    _texts(graph, ds, DCT.description, d.description)
    graph.set((ds, DCT.publisher, _agent(graph, publisher)))
    _contact(graph, ds, d.contact_point)
    for theme in d.themes:
        graph.add((ds, DCAT.theme, _concept(graph, URIRef(THEME_NS + theme), THEME_LABELS[theme])))
    for lang, words in d.keywords.items():
        for word in words:
            graph.add((ds, DCAT.keyword, Literal(word, lang=lang)))
    for i, loc in enumerate(d.spatial):
        graph.add((ds, DCT.spatial, _location(graph, ds, i, loc)))
    if d.temporal is not None:
        graph.set((ds, DCT.temporal, _period(graph, ds, d.temporal)))
    if d.temporal_resolution:
        graph.set(
            (ds, DCAT.temporalResolution, Literal(d.temporal_resolution, datatype=XSD.duration))
        )
    freq = _concept(graph, URIRef(FREQ_NS + d.frequency), d.frequency.lower(), DCT.Frequency)
    graph.set((ds, DCT.accrualPeriodicity, freq))
    code = access_right(d.governance.privacy_class)
    rights = _concept(graph, URIRef(ACCESS_NS + code), ACCESS_LABELS[code], DCT.RightsStatement)
    graph.set((ds, DCT.accessRights, rights))
    for standard in d.conforms_to:
        graph.add((ds, DCT.conformsTo, _typed(graph, URIRef(standard), DCT.Standard)))
    prov = URIRef(f"{ds}/provenance")
    _typed(graph, prov, DCT.ProvenanceStatement, d.provenance)
    graph.set((ds, DCT.provenance, prov))
    if d.landing_page:
        graph.set((ds, DCAT.landingPage, _typed(graph, URIRef(d.landing_page), FOAF.Document)))
    if d.series:
        graph.add((ds, DCAT.inSeries, URIRef(publisher.series_iri(d.series))))
    graph.set((ds, DCT.issued, Literal(facts.issued, datatype=XSD.dateTime)))
    graph.set((ds, DCT.modified, Literal(facts.modified, datatype=XSD.dateTime)))
    _governance(graph, ds, d.governance)
    graph.add((ds, DCAT.distribution, _distribution(graph, ds, entry, publisher)))
    return ds


def _distribution(graph: Graph, ds: URIRef, entry: CatalogEntry, publisher: Publisher) -> URIRef:
    d, facts = entry.description, entry.facts
    dist = URIRef(f"{ds}/distribution/{facts.file_type.lower()}")
    graph.add((dist, RDF.type, DCAT.Distribution))
    graph.set((dist, DCT.title, Literal(f"{d.title.best()} ({facts.file_type})", lang="en")))
    graph.set((dist, DCAT.accessURL, URIRef(f"{publisher.connector_url}/catalog/datasets/{d.id}")))
    graph.set((dist, DCAT.accessService, _service(graph, publisher)))
    fmt = _typed(graph, URIRef(FILE_TYPE_NS + facts.file_type), DCT.MediaTypeOrExtent)
    graph.set((dist, DCT.format, fmt))
    graph.set((dist, DCAT.mediaType, _typed(graph, URIRef(IANA + facts.media_type), DCT.MediaType)))
    lic = _typed(graph, URIRef(d.license), DCT.LicenseDocument)
    graph.set((dist, DCT.license, lic))
    if facts.byte_size is not None:
        graph.set((dist, DCAT.byteSize, Literal(facts.byte_size, datatype=XSD.nonNegativeInteger)))
    if facts.sha256:
        checksum = URIRef(f"{dist}/checksum")
        graph.add((checksum, RDF.type, SPDX.Checksum))
        graph.set(
            (
                checksum,
                SPDX.algorithm,
                _typed(graph, SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm),
            )
        )
        graph.set((checksum, SPDX.checksumValue, Literal(facts.sha256, datatype=XSD.hexBinary)))
        graph.set((dist, SPDX.checksum, checksum))
    graph.set((dist, DCT.issued, Literal(facts.issued, datatype=XSD.dateTime)))
    graph.set((dist, DCT.modified, Literal(facts.modified, datatype=XSD.dateTime)))
    return dist


PROV = Namespace("http://www.w3.org/ns/prov#")


def add_derived(graph: Graph, derived: DerivedDataset, publisher: Publisher) -> URIRef:
    """Add a published result: an open dataset derived from the run's inputs
    (`prov:wasDerivedFrom`), generated by the run (`prov:wasGeneratedBy`), about no one (its
    outputs were released with DP noise), with one distribution per download."""
    ds = URIRef(publisher.dataset_iri(derived.id))
    graph.add((ds, RDF.type, DCAT.Dataset))
    graph.set((ds, DCT.identifier, Literal(derived.id)))
    _texts(graph, ds, DCT.title, derived.title)
    _texts(graph, ds, DCT.description, derived.description)
    graph.set((ds, DCT.publisher, _agent(graph, publisher)))
    for theme in derived.themes:
        graph.add((ds, DCAT.theme, _concept(graph, URIRef(THEME_NS + theme), THEME_LABELS[theme])))
    public = URIRef(ACCESS_NS + "PUBLIC")
    rights = _concept(graph, public, ACCESS_LABELS["PUBLIC"], DCT.RightsStatement)
    graph.set((ds, DCT.accessRights, rights))
    graph.set((ds, DCT.issued, Literal(derived.issued, datatype=XSD.dateTime)))
    graph.set((ds, DCAT.landingPage, _typed(graph, URIRef(derived.landing_page), FOAF.Document)))
    for source in derived.derived_from:
        graph.add((ds, PROV.wasDerivedFrom, URIRef(source)))
    run = _typed(graph, URIRef(derived.generated_by), PROV.Activity)
    graph.set((ds, PROV.wasGeneratedBy, run))
    graph.set((ds, GEM.privacyClass, PRIVACY_IRI[PrivacyClass.open]))
    graph.set((ds, GEM.containsPersonalData, Literal(False)))
    graph.set((ds, GEM.synthetic, Literal(derived.synthetic)))
    graph.set((ds, GEM.spatialUnit, UNIT_IRI[SpatialUnit.statistical_area]))
    lic = _typed(graph, URIRef(derived.license), DCT.LicenseDocument)
    for i, d in enumerate(derived.downloads):
        dist = URIRef(f"{ds}/distribution/{i + 1}")
        graph.add((ds, DCAT.distribution, dist))
        graph.add((dist, RDF.type, DCAT.Distribution))
        graph.set((dist, DCT.title, Literal(d.title, lang="en")))
        graph.set((dist, DCAT.accessURL, URIRef(derived.landing_page)))
        graph.set((dist, DCAT.downloadURL, URIRef(d.url)))
        media = _typed(graph, URIRef(IANA + d.media_type), DCT.MediaType)
        graph.set((dist, DCAT.mediaType, media))
        graph.set((dist, DCT.license, lic))
        graph.set((dist, DCT.issued, Literal(derived.issued, datatype=XSD.dateTime)))
    return ds


def add_series(graph: Graph, series: SeriesDescription, publisher: Publisher) -> URIRef:
    """Add a dataset series."""
    node = URIRef(publisher.series_iri(series.id))
    graph.add((node, RDF.type, DCAT.DatasetSeries))
    _texts(graph, node, DCT.title, series.title)
    _texts(graph, node, DCT.description, series.description)
    graph.set((node, DCT.publisher, _agent(graph, publisher)))
    freq = _concept(
        graph, URIRef(FREQ_NS + series.frequency), series.frequency.lower(), DCT.Frequency
    )
    graph.set((node, DCT.accrualPeriodicity, freq))
    if series.contact_point is not None:
        _contact(graph, node, series.contact_point)
    return node


def catalog_graph(
    publisher: Publisher,
    entries: Iterable[CatalogEntry],
    series: Sequence[SeriesDescription] = (),
    derived: Iterable[DerivedDataset] = (),
) -> Graph:
    """A publisher's whole catalogue as DCAT-AP 3 (its datasets, then the results its
    researchers published, as derived datasets)."""
    graph = new_graph()
    cat = URIRef(publisher.catalog_iri)
    graph.add((cat, RDF.type, DCAT.Catalog))
    graph.add((cat, DCT.title, Literal(f"Catalogo Gemello — {publisher.name}", lang="it")))
    graph.add((cat, DCT.title, Literal(f"Gemello catalogue — {publisher.name}", lang="en")))
    graph.add(
        (
            cat,
            DCT.description,
            Literal(
                f"Datasets {publisher.name} offers in the Gemello data space of the Bologna "
                "city digital twin, under ODRL usage policies.",
                lang="en",
            ),
        )
    )
    graph.set((cat, DCT.publisher, _agent(graph, publisher)))
    graph.add((cat, DCAT.service, _service(graph, publisher)))
    for s in series:  # a series is linked from its datasets (dcat:inSeries), not listed
        add_series(graph, s, publisher)
    for entry in entries:
        graph.add((cat, DCAT.dataset, add_dataset(graph, entry, publisher)))
    for d in derived:
        graph.add((cat, DCAT.dataset, add_derived(graph, d, publisher)))
    return graph


def dataset_graph(
    publisher: Publisher, entry: CatalogEntry, series: Sequence[SeriesDescription] = ()
) -> Graph:
    """One dataset (and the series it belongs to) as DCAT-AP 3."""
    graph = new_graph()
    add_dataset(graph, entry, publisher)
    for s in series:
        if s.id == entry.description.series:
            add_series(graph, s, publisher)
    return graph


# --- reading ------------------------------------------------------------------------------


def _lang_text(graph: Graph, node: Node, prop: URIRef) -> LangText | None:
    values: dict[str, str] = {}
    for lit in graph.objects(node, prop):
        if isinstance(lit, Literal):
            lang = lit.language if lit.language in ("it", "en") else "en"
            values.setdefault(lang, str(lit))
    return LangText(**values) if values else None


def _tail(iri: Node | None, namespace: str) -> str | None:
    text = str(iri) if iri is not None else ""
    return text[len(namespace) :] if text.startswith(namespace) else None


def _one(graph: Graph, node: Node, prop: URIRef) -> Node | None:
    return next(iter(graph.objects(node, prop)), None)


def _read_governance(graph: Graph, ds: Node) -> dict[str, object]:
    by_iri = {v: k for k, v in PRIVACY_IRI.items()}
    unit_by_iri = {v: k for k, v in UNIT_IRI.items()}
    bounds = []
    for node in graph.objects(ds, GEM.columnBounds):
        lower, upper = _one(graph, node, GEM.lowerBound), _one(graph, node, GEM.upperBound)
        bounds.append(
            {
                "column": str(_one(graph, node, GEM.column) or ""),
                "lower": lower.toPython() if isinstance(lower, Literal) else None,
                "upper": upper.toPython() if isinstance(upper, Literal) else None,
            }
        )
    dimensions = []
    for node in graph.objects(ds, GEM.publicDimension):
        part = _one(graph, node, GEM.timePart)
        dimensions.append(
            {
                "name": str(_one(graph, node, GEM.dimensionName) or ""),
                "column": str(_one(graph, node, GEM.column) or ""),
                "part": str(part) if part is not None else None,
                "values": [str(v) for v in graph.objects(node, GEM.domainValue)],
            }
        )
    dimensions.sort(key=lambda d: str(d["name"]))
    limit = None
    holder = _one(graph, ds, GEM.contributionLimit)
    if holder is not None:
        rows = _one(graph, holder, GEM.maxRows)
        limit = {
            "column": str(_one(graph, holder, GEM.column) or ""),
            "max_rows": rows.toPython() if isinstance(rows, Literal) else None,
        }
    personal, synthetic = _one(graph, ds, GEM.containsPersonalData), _one(graph, ds, GEM.synthetic)
    return {
        "privacy_class": by_iri.get(_one(graph, ds, GEM.privacyClass)),  # type: ignore[call-overload]
        "personal_data": personal.toPython() if isinstance(personal, Literal) else None,
        "synthetic": synthetic.toPython() if isinstance(synthetic, Literal) else None,
        "spatial_unit": unit_by_iri.get(_one(graph, ds, GEM.spatialUnit)),  # type: ignore[call-overload]
        "column_bounds": bounds,
        "dimensions": dimensions,
        "identifiers": sorted(str(c) for c in graph.objects(ds, GEM.identifierColumn)),
        "contribution_limit": limit,
    }


def description_from_graph(graph: Graph, iri: str, dataset_id: str) -> dict[str, object]:
    """The fields of a `DatasetDescription` found in a graph, as a dict for pydantic to check.

    Returned as a dict (not a model) so the caller reports missing or malformed fields with
    pydantic's own messages, next to the SHACL results.
    """
    ds = URIRef(iri)
    if (ds, RDF.type, DCAT.Dataset) not in graph:
        found = sorted(str(s) for s in graph.subjects(RDF.type, DCAT.Dataset))
        raise DescriptionError(
            f"the graph does not describe <{iri}> as a dcat:Dataset"
            + (f" (it describes {', '.join(found[:3])})" if found else "")
        )
    contact = _one(graph, ds, DCAT.contactPoint)
    email = _one(graph, contact, VCARD.hasEmail) if contact is not None else None
    period = _one(graph, ds, DCT.temporal)
    temporal = None
    if period is not None:
        start, end = _one(graph, period, DCAT.startDate), _one(graph, period, DCAT.endDate)
        temporal = {
            "start": _as_date(start),
            "end": _as_date(end),
        }
    keywords: dict[str, list[str]] = {}
    for lit in graph.objects(ds, DCAT.keyword):
        if isinstance(lit, Literal):
            keywords.setdefault(lit.language or "en", []).append(str(lit))
    spatial = []
    for node in graph.objects(ds, DCT.spatial):
        label = _one(graph, node, SKOS.prefLabel) or _one(graph, node, RDFS.label)
        box = _one(graph, node, DCAT.bbox)
        own = str(node).startswith(f"{iri}/spatial/")
        spatial.append(
            {
                "iri": None if own or isinstance(node, BNode) else str(node),
                "label": str(label) if label is not None else str(node),
                "bbox": parse_wkt_box(str(box)) if box is not None else None,
            }
        )
    prov = _one(graph, ds, DCT.provenance)
    prov_text = _one(graph, prov, RDFS.label) if prov is not None else None
    license_ = next(
        (
            _one(graph, dist, DCT.license)
            for dist in graph.objects(ds, DCAT.distribution)
            if _one(graph, dist, DCT.license) is not None
        ),
        None,
    )
    series = _one(graph, ds, DCAT.inSeries)
    fields: dict[str, object] = {
        "id": dataset_id,
        "title": _lang_text(graph, ds, DCT.title),
        "description": _lang_text(graph, ds, DCT.description),
        "themes": [t for t in (_tail(n, THEME_NS) for n in graph.objects(ds, DCAT.theme)) if t],
        "keywords": keywords,
        "contact_point": None
        if contact is None
        else {
            "name": str(_one(graph, contact, VCARD.fn) or ""),
            "email": str(email or "").removeprefix("mailto:"),
        },
        "spatial": spatial,
        "temporal": temporal,
        "temporal_resolution": _str_or_none(_one(graph, ds, DCAT.temporalResolution)),
        "frequency": _tail(_one(graph, ds, DCT.accrualPeriodicity), FREQ_NS) or Frequency.UNKNOWN,
        "conforms_to": sorted(str(n) for n in graph.objects(ds, DCT.conformsTo)),
        "provenance": str(prov_text) if prov_text is not None else None,
        "landing_page": _str_or_none(_one(graph, ds, DCAT.landingPage)),
        "series": str(series).rsplit(":series:", 1)[-1] if series is not None else None,
        "governance": _read_governance(graph, ds),
    }
    if license_ is not None:
        fields["license"] = str(license_)
    return fields


def _str_or_none(node: Node | None) -> str | None:
    return str(node) if node is not None else None


def _as_date(node: Node | None) -> date | None:
    if not isinstance(node, Literal):
        return None
    value = node.toPython()
    return value if isinstance(value, date) else None


__all__ = [
    "DCAT",
    "DCT",
    "DescriptionError",
    "access_right",
    "add_dataset",
    "catalog_graph",
    "dataset_graph",
    "description_from_graph",
    "new_graph",
    "wkt",
]
