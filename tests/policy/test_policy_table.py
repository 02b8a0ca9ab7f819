"""The policy test table (tests/policy/cases) on every PDP adapter, so they cannot drift apart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from policy import RegoPDP
from policy.pdp import PolicyDecisionPoint
from policy.testing import load_cases, run_cases

CASES = Path(__file__).parent / "cases"


def target(dataset: str) -> str:
    return f"urn:gemello:test:dataset:{dataset}"


@pytest.fixture(params=["regopy", "opa-engine", "opa"])
def pdp(request: pytest.FixtureRequest) -> Iterator[PolicyDecisionPoint]:
    if request.param == "regopy":
        yield RegoPDP()
        return
    if request.param == "opa-engine":
        from policy import opa_engine

        if not opa_engine.available():
            pytest.skip("OPA's engine (opa-golib-python-bindings) is not installed: `make` does")
        yield opa_engine.OpaEnginePDP()
        return
    binary = shutil.which("opa")
    if binary is None:
        pytest.skip("no `opa` binary on PATH: the OPA-server adapter runs the table where one is")
    from tests.policy.opa_server import opa_pdp

    with opa_pdp(binary) as served:
        yield served


def test_the_table_has_enough_cases() -> None:
    assert len(load_cases(CASES)) >= 30


def test_every_case_passes(pdp: PolicyDecisionPoint) -> None:
    results = run_cases(CASES, pdp, target)
    failures = [
        f"{r.name}: expected {r.expected}"
        + (f" with '{r.reason_expected}'" if r.reason_expected else "")
        + f", got {'allow' if r.decision.allow else 'deny'}: {list(r.decision.reasons)}"
        for r in results
        if not r.passed
    ]
    assert not failures, "\n".join(failures)
