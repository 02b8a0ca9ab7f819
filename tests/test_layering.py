"""Dependencies point downward only (DESIGN.md): checked by parsing every import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from connector.settings import source_root

ROOT = source_root()
PACKAGES = ("connector", "catalog", "policy", "privacy", "models", "ontology")
# package -> project packages it may import
ALLOWED = {
    "connector": set(PACKAGES),
    "catalog": {"catalog", "ontology", "policy", "privacy", "models"},
    "policy": {"policy", "ontology", "catalog", "privacy", "models"},
    "privacy": {"privacy", "ontology", "catalog", "policy", "models"},
    "models": {"models", "ontology", "catalog", "policy", "privacy"},
    "ontology": {"ontology"},
}
# third-party module -> the only package allowed to import it
CONFINED = {"diffprivlib": "privacy", "numba": "models", "regopy": "policy", "opa_client": "policy"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


FILES = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_imports_respect_the_layers(path: Path) -> None:
    pkg = path.relative_to(ROOT).parts[0]
    for name in _imports(path):
        top = name.split(".")[0]
        if top in PACKAGES and top != pkg:
            assert top in ALLOWED[pkg], f"{pkg} must not import {top}"
            if pkg != "connector":
                assert name == top, f"{pkg} imports {name}: go through {top}'s public __init__"
        if top in CONFINED:
            assert pkg == CONFINED[top], f"{top} may be imported only in {CONFINED[top]}/"
        if top == "sqlmodel":
            assert (
                "storage" in path.parts
                or path.name.endswith("repository.py")
                or path.name in {"deps.py", "service.py"}
            ), f"sqlmodel used in {path}"
