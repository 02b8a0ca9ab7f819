"""The PDP port: fail closed, reasons as data, compile errors refused, revisions tracked.

Every test runs on both in-process adapters: rego-cpp (regopy) and OPA's own Go engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from policy import PolicyCompileError, RegoPDP, make_pdp
from policy.pdp import CompiledPDP, PolicySet
from policy.request import UsageRequest

Adapter = Callable[..., CompiledPDP]


@pytest.fixture(params=["regopy", "opa-engine"])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    """An in-process PDP class."""
    if request.param == "regopy":
        return RegoPDP
    from policy import opa_engine

    if not opa_engine.available():
        pytest.skip("OPA's engine (opa-golib-python-bindings) is not installed: `make` does")
    return opa_engine.OpaEnginePDP


T = "urn:gemello:test:dataset:x"
NOW = datetime(2026, 5, 1, tzinfo=UTC)
OPEN = {"@id": "urn:p:open", "permission": [{"action": "read"}]}


def test_baseline_denies_a_dataset_without_policy_with_a_reason(adapter: Adapter) -> None:
    pdp = adapter()
    d = pdp.decide(UsageRequest(T, "read", NOW, purpose="research"))
    assert d.allow is False
    assert d.reasons == (f"no usage policy covers {T}",)
    assert d.policy_revision == pdp.revision
    assert len(d.decision_id) == 36
    assert pdp.ready()


def test_loading_a_policy_allows_only_what_it_says_and_changes_the_revision(
    adapter: Adapter,
) -> None:
    pdp = adapter()
    before = pdp.revision
    pdp.load(PolicySet.from_documents({T: OPEN}))
    assert pdp.revision != before
    assert pdp.decide(UsageRequest(T, "read", NOW)).allow is True
    assert pdp.decide(UsageRequest(T, "aggregate", NOW)).allow is False
    assert pdp.decide(UsageRequest("urn:other", "read", NOW)).allow is False


def _with_source(source: str) -> PolicySet:
    compiled = PolicySet.from_documents({T: OPEN}).compiled[T]
    head = f"package {compiled.package}\nimport rego.v1\n"
    return PolicySet({T: replace(compiled, source=head + source)})


def test_an_evaluation_error_denies(adapter: Adapter) -> None:
    # Two values for one complete rule is an evaluation error in Rego.
    pdp = adapter(_with_source("result := [1] if input.action\nresult := [2] if input.action\n"))
    d = pdp.decide(UsageRequest(T, "read", NOW))
    assert d.allow is False
    assert len(d.reasons) == 1
    assert d.reasons[0].startswith("policy engine error during evaluation")


def test_an_undefined_or_malformed_result_denies(adapter: Adapter) -> None:
    pdp = adapter(_with_source("result := [1] if input.never\n"))
    assert pdp.decide(UsageRequest(T, "read", NOW)).reasons == ("policy result undefined",)
    for odd in ("result := true\n", 'result := "yes"\n', "result := [true]\n", "result := []\n"):
        pdp = adapter(_with_source(odd + "explain := {}\n"))
        d = pdp.decide(UsageRequest(T, "read", NOW))
        assert d.allow is False, odd


def test_invalid_rego_is_refused_and_the_old_set_stays_in_force(adapter: Adapter) -> None:
    pdp = adapter(PolicySet.from_documents({T: OPEN}))
    revision = pdp.revision
    with pytest.raises(PolicyCompileError):
        pdp.load(_with_source("this is not rego"))
    assert pdp.revision == revision
    assert pdp.decide(UsageRequest(T, "read", NOW)).allow is True


def test_obligations_carry_duties_and_limits(adapter: Adapter) -> None:
    doc = {
        "@id": "urn:p:limited",
        "permission": [
            {
                "action": "compute",
                "duty": [{"action": "obtainApproval"}],
                "constraint": [
                    {"leftOperand": "count", "operator": "lt", "rightOperand": 5},
                    {"leftOperand": "epsilonTotal", "operator": "lteq", "rightOperand": 3},
                ],
            }
        ],
    }
    pdp = adapter(PolicySet.from_documents({T: doc}))
    d = pdp.decide(UsageRequest(T, "compute", NOW, use_count=0, epsilon=1, epsilon_spent=0))
    assert d.allow
    kinds = {o["type"]: o for o in d.obligations}
    assert kinds["duty"]["action"] == "obtainApproval"
    assert kinds["use-count"]["limit"] == 4
    assert kinds["epsilon-budget"]["total"] == 3


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown PDP backend 'cedar'"):
        make_pdp("cedar")


def test_canonical_time_keeps_every_comparison_the_policy_makes() -> None:
    from policy.pdp import canonical_time

    points = (1_000, 2_000, 2_001, 5_000)
    times = [0, 999, 1_000, 1_001, 1_500, 1_999, 2_000, 2_001, 2_002, 4_999, 5_000, 9_999]
    for t in times:
        same = canonical_time({"dateTime": t, "purpose": "x"}, points)["dateTime"]
        for p in points:
            assert (same < p, same == p, same > p) == (t < p, t == p, t > p), (t, p, same)
    # Every instant strictly between two points maps to one value, so engine inputs are shared.
    assert len({canonical_time({"dateTime": t}, points)["dateTime"] for t in (2_100, 4_000)}) == 1
    assert canonical_time({"purpose": "x"}, points) == {"purpose": "x"}
    assert canonical_time({"dateTime": 7}, ())["dateTime"] == 0


@pytest.mark.parametrize(
    ("privacy", "personal", "purpose", "allowed"),
    [
        ("open", False, None, True),
        ("aggregate-only", False, "planning", True),
        ("aggregate-only", False, "commercial", False),  # the same purposes as its other uses
        ("compute-only", False, "research", True),
        ("aggregate-only", True, "research", False),  # personal data: shared only if a policy says
        ("compute-only", True, "research", False),
    ],
)
def test_default_offers_allow_sharing_results_only_of_data_about_no_one(
    adapter: Adapter, privacy: str, personal: bool, purpose: str | None, allowed: bool
) -> None:
    from policy.offers import default_offer

    pdp = adapter(PolicySet.from_documents({T: default_offer(T, privacy, personal=personal)}))
    decision = pdp.decide(
        UsageRequest(T, "share", NOW, purpose=purpose, recipient="urn:gemello:bologna:comune")
    )
    assert decision.allow is allowed, decision.reasons
    if not allowed and personal:
        assert any("prohibition" in r and "share" in r for r in decision.reasons), decision.reasons


@pytest.mark.parametrize(
    ("privacy", "personal", "purpose", "allowed"),
    [
        ("open", False, None, True),
        ("aggregate-only", False, "research", True),
        ("aggregate-only", False, "commercial", False),
        ("aggregate-only", True, "research", False),  # personal data: published only if a
        ("compute-only", True, "public-policy", False),  # steward's policy says so
    ],
)
def test_default_offers_allow_publishing_results_only_of_data_about_no_one(
    adapter: Adapter, privacy: str, personal: bool, purpose: str | None, allowed: bool
) -> None:
    from policy.offers import default_offer

    pdp = adapter(PolicySet.from_documents({T: default_offer(T, privacy, personal=personal)}))
    decision = pdp.decide(UsageRequest(T, "publish", NOW, purpose=purpose))
    assert decision.allow is allowed, decision.reasons
    if personal:
        assert any("prohibition" in r and "publish" in r for r in decision.reasons)
