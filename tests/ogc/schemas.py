"""The official OGC API – Processes 1.0 schemas, read from ../shared at test time and resolved
locally (no network): `validate(document, "process.yaml")` raises on any violation."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from connector.settings import source_root

SCHEMAS = source_root().parent / "shared" / "standards" / "ogcapi-processes" / "1.0" / "openapi"


def available() -> bool:
    """Whether the official schemas are here."""
    return (SCHEMAS / "schemas" / "process.yaml").is_file()


@cache
def _load(uri: str) -> Resource[Any]:
    path = Path(uri.removeprefix("file://"))
    return Resource.from_contents(yaml.safe_load(path.read_text()), default_specification=DRAFT4)


def _retrieve(uri: str) -> Resource[Any]:
    return _load(uri)


def validator(name: str) -> Draft4Validator:
    """A validator for one of the standard's schema files (e.g. `process.yaml`), whose
    relative references are read from the files beside it."""
    uri = (SCHEMAS / "schemas" / name).as_uri()
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    return Draft4Validator({"$ref": uri}, registry=registry)


def validate(document: Any, name: str) -> None:
    """Raise the first violation of `document` against the schema file `name`."""
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path)
        raise AssertionError(f"{name}: at '{where}': {e.message} ({len(errors)} errors)")
