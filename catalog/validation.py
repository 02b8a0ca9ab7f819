"""SHACL validation of dataset descriptions: Gemello's shapes, plus the official DCAT-AP 3.0.1 ones.

The shapes are parsed once per validator and merged into one shapes graph, so validating a
description is a single pyshacl run (tens of milliseconds; see docs/benchmarks.md). Results come
back as plain records a person can read: severity, focus node, path, message.

The official file is `3.0.1/shacl/dcat-ap-SHACL.ttl`, loaded on its own: its companion
`ranges.ttl` makes pyshacl fail ("not a well-formed PropertyShape"). Validation is closed-world,
so a publisher given only as an IRI must be typed in the graph being validated.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pyshacl
from rdflib import RDF, BNode, Graph, Namespace
from rdflib.term import Node

import ontology

SH = Namespace("http://www.w3.org/ns/shacl#")
DCAT_AP_SHAPES = Path("standards") / "dcat-ap" / "3.0.1" / "shacl" / "dcat-ap-SHACL.ttl"

RDF_FORMATS = {
    ".ttl": "turtle",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".rdf": "xml",
    ".xml": "xml",
    ".nt": "nt",
}


class MetadataUnreadable(ValueError):
    """The description is not parseable RDF in the format it claims."""


@dataclass(frozen=True)
class ShapeResult:
    """One SHACL result, in words."""

    severity: str  # Violation, Warning or Info
    focus: str
    path: str | None
    message: str
    shape: str | None = None


@dataclass(frozen=True)
class ValidationOutcome:
    """All results; the description conforms when none of them is a violation."""

    results: list[ShapeResult] = field(default_factory=list)
    shapes_used: tuple[str, ...] = ()

    @property
    def violations(self) -> list[ShapeResult]:
        """Results that make the description invalid."""
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def conforms(self) -> bool:
        """No violations (warnings and infos are allowed)."""
        return not self.violations


def official_shapes_path(shared_dir: Path | None) -> Path | None:
    """The official DCAT-AP 3.0.1 shapes under a shared folder, if they are there."""
    if shared_dir is None:
        return None
    path = shared_dir / DCAT_AP_SHAPES
    return path if path.is_file() else None


def parse_description(data: bytes | str, fmt: str) -> Graph:
    """Parse RDF, turning any parser failure into MetadataUnreadable with the parser's words."""
    try:
        with warnings.catch_warnings():
            # rdflib's own JSON-LD parser uses its deprecated ConjunctiveGraph internally.
            warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
            return Graph().parse(data=data, format=fmt)
    except Exception as exc:  # rdflib raises many unrelated types for bad input
        raise MetadataUnreadable(f"not valid {fmt}: {exc}") from exc


def read_description(path: Path, fmt: str | None = None) -> Graph:
    """Read an RDF file; the format comes from the suffix unless given."""
    fmt = fmt or RDF_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(RDF_FORMATS))
        raise MetadataUnreadable(f"{path.name}: unknown RDF format (suffixes: {known})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MetadataUnreadable(f"{path}: {exc.strerror}") from exc
    return parse_description(data, fmt)


def _short(graph: Graph, node: Node | None) -> str | None:
    if node is None or isinstance(node, BNode):  # anonymous shapes have no useful name
        return None
    try:
        return graph.namespace_manager.normalizeUri(node)  # type: ignore[arg-type]
    except Exception:
        return str(node)


def without_dangling_properties(shapes: Graph) -> Graph:
    """Drop `sh:property` links to nodes that define nothing (no `sh:path`).

    The generated DCAT-AP 3.0.1 file has two such links on its DataService shape; pyshacl stops
    with "not a well-formed PropertyShape" as soon as a DataService is validated. The links
    constrain nothing, so removing them (in memory, never in the file) changes no result.
    """
    for shape, prop in list(shapes.subject_objects(SH.property)):
        if shapes.value(prop, SH.path) is None and not any(shapes.predicate_objects(prop)):
            shapes.remove((shape, SH.property, prop))
    return shapes


class CatalogValidator:
    """Validates descriptions against Gemello's shapes and, when given, the official DCAT-AP."""

    def __init__(self, official: Path | None = None) -> None:
        self.shapes = ontology.shapes()
        used = ["gemello"]
        if official is not None:
            self.shapes += without_dangling_properties(Graph().parse(official, format="turtle"))
            used.append(f"DCAT-AP 3.0.1 ({official.name})")
        self.shapes_used = tuple(used)

    def validate(self, data: Graph) -> ValidationOutcome:
        """Run SHACL once; return every result in words."""
        _conforms, report, _text = pyshacl.validate(
            data, shacl_graph=self.shapes, inference="none", advanced=True, allow_warnings=True
        )
        assert isinstance(report, Graph)
        report.namespace_manager = data.namespace_manager
        for prefix, ns in [("sh", SH), ("gem", ontology.GEM), ("gsh", ontology.GSH)]:
            report.bind(prefix, ns)
        results = []
        for res in report.subjects(RDF.type, SH.ValidationResult):
            severity = report.value(res, SH.resultSeverity)
            messages = [str(m) for m in report.objects(res, SH.resultMessage)]
            results.append(
                ShapeResult(
                    severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                    focus=_short(report, report.value(res, SH.focusNode)) or "?",
                    path=_short(report, report.value(res, SH.resultPath)),
                    message="; ".join(sorted(messages)) or "constraint not met",
                    shape=_short(report, report.value(res, SH.sourceShape)),
                )
            )
        unique = set(results)  # a node reached by two shapes reports the same thing twice
        ordered = sorted(
            unique, key=lambda r: (r.severity != "Violation", r.focus, r.path or "", r.message)
        )
        return ValidationOutcome(ordered, self.shapes_used)
