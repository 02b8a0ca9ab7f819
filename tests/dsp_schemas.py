"""The official DSP 2025-1 JSON schemas from ../shared, loaded offline for message checks.

Every `$id` starts with https://w3id.org/dspace/2025/1/; the rest is the path under
`standards/dsp/2025-1/`. Three transfer schemas write `#definitions/` without the slash
(upstream issue #265); the loader rewrites it so `referencing` can resolve them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

from connector.settings import source_root

DSP_DIR = source_root().parent / "shared" / "standards" / "dsp" / "2025-1"
PREFIX = "https://w3id.org/dspace/2025/1/"


@cache
def _registry() -> Registry:
    resources = []
    for path in DSP_DIR.rglob("*-schema.json"):
        text = path.read_text().replace("#definitions/", "#/definitions/")
        doc = json.loads(text)
        resources.append(
            (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT201909))
        )
    return Registry().with_resources(resources)


def dsp_errors(message: Any, schema: str) -> list[str]:
    """Every schema error of a message; `schema` is e.g. 'catalog/catalog-schema.json'."""
    if not DSP_DIR.is_dir():
        pytest.skip(f"official DSP 2025-1 schemas not found at {DSP_DIR} (shared/ is absent)")
    validator = Draft201909Validator({"$ref": PREFIX + schema}, registry=_registry())
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(message)
    ]


def schema_path(name: str) -> Path:
    """A schema file, for tests that check the loader itself."""
    return DSP_DIR / name


CONTEXTS = {
    "https://w3id.org/dspace/2025/1/context.jsonld": "context/dspace.jsonld",
    "https://w3id.org/dspace/2025/1/odrl-profile.jsonld": "context/odrl.jsonld",
}


def expand(document: Any) -> list[dict[str, Any]]:
    """A DSP JSON-LD document expanded by a JSON-LD 1.1 processor (pyld), with the official
    contexts read from ../shared: never fetched from the network."""
    from pyld import jsonld

    if not DSP_DIR.is_dir():
        pytest.skip(f"official DSP 2025-1 contexts not found at {DSP_DIR} (shared/ is absent)")

    def loader(url: str, _options: Any = None) -> dict[str, Any]:
        if url not in CONTEXTS:
            raise ValueError(f"no local copy of {url}: JSON-LD never goes to the network here")
        body = json.loads((DSP_DIR / CONTEXTS[url]).read_text())
        return {"contentType": "application/ld+json", "contextUrl": None,
                "documentUrl": url, "document": body}  # fmt: skip

    result: list[dict[str, Any]] = jsonld.expand(document, {"documentLoader": loader})
    return result
