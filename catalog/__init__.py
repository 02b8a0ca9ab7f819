"""DCAT-AP 3 dataset descriptions, SHACL validation, catalogue store and search (issue #4)."""

from catalog.validation import (
    CatalogValidator,
    MetadataUnreadable,
    ShapeResult,
    ValidationOutcome,
    official_shapes_path,
    parse_description,
    read_description,
)

__all__ = [
    "CatalogValidator",
    "MetadataUnreadable",
    "ShapeResult",
    "ValidationOutcome",
    "official_shapes_path",
    "parse_description",
    "read_description",
]
