"""Dependencies point downward only (DESIGN.md, decision 0020): checked by parsing every import.

Between the top-level packages, and inside `connector/` between its rooms: a room is a top-level
module (`app`, `settings`) or a subpackage (`contracts`); a subpackage's `*endpoints.py` modules
form its own face (`contracts.endpoints`), a floor above the room. A room may import rooms on
lower floors, and on its own floor only those the rule table names; the room graph has no cycle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
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

# The floor plan of `connector/`, top floor first: room -> the rooms of its own floor it may
# import (any room of a lower floor is allowed). "*.endpoints" stands for every face module.
FLOORS: dict[str, dict[str, set[str]]] = {
    "tools": {
        "cli": {"bench", "demo", "terminal", "sandbox", "federation", "dataspace", "validation"},
        "validation": set(),  # the models beside the field's reference tools (issue 29)
        "bench": {"demo", "terminal", "sandbox", "federation", "dataspace"},
        "demo": {"terminal", "federation", "dataspace"},
        "terminal": set(),  # the tables and progress the CLI and the demo print
        "sandbox": set(),
        "federation": {"dataspace"},
        "dataspace": set(),
    },
    "faces": {
        "app": {"*.endpoints", "web", "runtime"},
        "*.endpoints": {"runtime"},
        "web": {"runtime"},  # the web console: pages on the same services as the API
        "runtime": set(),  # the composition root: one Connector built from settings
    },
    "consumer": {"gateway": set()},
    "provider": {
        "compute": {"privacy", "contracts", "policies", "publishing", "datasets", "partnerdata"},
        "privacy": {"contracts", "policies", "publishing", "datasets", "partnerdata"},
        "contracts": {"policies", "datasets", "partnerdata"},
        "policies": set(),
        "publishing": {"datasets", "partnerdata"},
        "harvest": {"partnerdata"},
        "datasets": {"partnerdata"},
        "partnerdata": set(),
    },
    "ground": {
        "system": {"identity", "storage", "settings", "errors", "timestamps", "connector"},
        "deps": {"storage", "settings", "connector"},
        "audit": {"identity", "storage", "settings", "errors", "timestamps", "connector"},
        "identity": {"storage", "settings", "errors", "timestamps", "connector"},
        "storage": {"settings", "errors", "connector"},
        "settings": {"connector"},
        "errors": {"connector"},
        "timestamps": {"connector"},
        "connector": set(),  # the package's own __init__: the version, the partners
    },
}
FLOOR_OF = {room: i for i, rooms in enumerate(FLOORS.values()) for room in rooms}
FACE_FILES = (
    "endpoints.py",
    "dsp_endpoints.py",
    "catalog_endpoints.py",
    "jobs_endpoints.py",
    "ogc_endpoints.py",
)


def _imports(path: Path, members: bool = False) -> list[str]:
    """The modules a file imports; with `members`, also `module.name` for each name taken from
    one (`from connector.contracts import consumer` imports the room of `consumer`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if members:
                names += [f"{node.module}.{a.name}" for a in node.names]
    return names


FILES = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
CONNECTOR = ROOT / "connector"


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
                or path.name in {"deps.py"}
            ), f"sqlmodel used in {path}"


def room_of_path(path: Path) -> str:
    """The room a file of connector/ belongs to."""
    parts = path.relative_to(CONNECTOR).parts
    if parts == ("__init__.py",):
        return "connector"
    if len(parts) == 1:
        return parts[0].removesuffix(".py")
    return f"{parts[0]}.endpoints" if parts[-1] in FACE_FILES else parts[0]


def room_of_module(module: str) -> str | None:
    """The room an imported name lives in (None outside connector/)."""
    parts = module.split(".")
    if parts[0] != "connector":
        return None
    for n in range(len(parts), 0, -1):
        base = CONNECTOR.joinpath(*parts[1:n])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if n > 1 and candidate.is_file():
                return room_of_path(candidate)
    return "connector"


@cache
def room_graph() -> dict[str, dict[str, set[str]]]:
    """room -> room it imports -> the files that do."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(CONNECTOR.rglob("*.py")):
        src = room_of_path(path)
        for name in _imports(path, members=True):
            dst = room_of_module(name)
            if dst is not None and dst != src:
                graph[src][dst].add(str(path.relative_to(ROOT)))
    return graph


def _rule_key(room: str) -> str:
    return "*.endpoints" if room.endswith(".endpoints") else room


def test_every_room_is_on_a_floor() -> None:
    rooms = {room_of_path(p) for p in CONNECTOR.rglob("*.py")}
    unplaced = sorted(r for r in rooms if _rule_key(r) not in FLOOR_OF)
    assert not unplaced, f"rooms missing from the floor plan: {unplaced}"


def violations(graph: dict[str, dict[str, set[str]]]) -> list[str]:
    """Every import the rule table forbids, with the files that make it."""
    out = []
    for src, targets in sorted(graph.items()):
        rule_src = _rule_key(src)
        for dst, files in sorted(targets.items()):
            rule_dst = _rule_key(dst)
            lower = FLOOR_OF[rule_dst] > FLOOR_OF[rule_src]
            floor = next(f for f in FLOORS.values() if rule_src in f)
            same_floor_ok = FLOOR_OF[rule_dst] == FLOOR_OF[rule_src] and rule_dst in floor[rule_src]
            if not (lower or same_floor_ok):
                out.append(f"{src} -> {dst} ({', '.join(sorted(files))})")
    return out


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected components of more than one room (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_rooms_import_only_what_the_floor_plan_allows() -> None:
    bad = violations(room_graph())
    assert not bad, "imports the floor plan forbids:\n" + "\n".join(bad)


def test_the_rooms_have_no_import_cycle() -> None:
    graph = room_graph()
    found = [
        ", ".join(c) + ": " + "; ".join(
            f"{a} -> {b} ({', '.join(sorted(graph[a][b]))})"
            for a in c for b in c if b in graph.get(a, {})
        )
        for c in cycles(graph)
    ]  # fmt: skip
    assert not found, "rooms that import each other in a cycle:\n" + "\n".join(found)


def test_the_checks_catch_a_gateway_importing_contract_endpoints() -> None:
    """The mistake the floor plan was made against: the gateway once imported
    `open_negotiation` from `contracts/endpoints.py` (a consumer room reaching into a face)."""
    graph = {k: dict(v) for k, v in room_graph().items()}
    graph.setdefault("gateway", {})["contracts.endpoints"] = {"connector/gateway/jobs.py"}
    assert violations(graph) == ["gateway -> contracts.endpoints (connector/gateway/jobs.py)"]
    graph["contracts"] = {**graph.get("contracts", {}), "gateway": {"connector/contracts/x.py"}}
    assert any({"contracts", "gateway"} <= set(c) for c in cycles(graph))  # and the cycle


def test_no_production_room_imports_a_tool() -> None:
    tools = set(FLOORS["tools"])
    graph = room_graph()
    offenders = [
        f"{src} -> {dst}"
        for src, targets in graph.items()
        if _rule_key(src) not in tools
        for dst in targets
        if dst in tools
    ]
    assert offenders == []
