"""The in-process PDP: fail closed, reasons as data, compile errors refused."""

from __future__ import annotations

import pytest

from policy import PolicyCompileError, RegoPDP, make_pdp
from policy.pdp import base_modules

ALLOW_READ = """package gemello.decision
import rego.v1
allow if input.action == "read"
"""


def test_baseline_denies_everything_with_a_reason() -> None:
    pdp = RegoPDP()
    d = pdp.decide({"action": "read", "purpose": "research"})
    assert d.allow is False
    assert d.reasons == ("no usage policy grants this request (the baseline denies everything)",)
    assert d.policy_revision == pdp.revision
    assert len(d.decision_id) == 36
    assert pdp.ready()


def test_an_added_rule_allows_only_what_it_says() -> None:
    pdp = RegoPDP(base_modules() | {"allow.rego": ALLOW_READ})
    assert pdp.decide({"action": "read"}).allow is True
    assert pdp.decide({"action": "write"}).allow is False
    assert pdp.revision != RegoPDP().revision


def test_runtime_error_or_undefined_result_denies() -> None:
    # A result that is not an object with allow == true must never count as an allow.
    odd = """package gemello.decision
import rego.v1
result := "yes" if input.weird
"""
    pdp = RegoPDP(base_modules() | {"odd.rego": odd})
    # Two values for one complete rule is an evaluation error in Rego: it must deny.
    conflict = pdp.decide({"weird": True})
    assert conflict.allow is False
    assert conflict.reasons == ("policy engine error during evaluation",)
    assert pdp.decide({}).reasons[0].startswith("no usage policy grants")
    undefined = """package gemello.decision
import rego.v1
result := {"allow": true} if input.never_set
"""
    pdp = RegoPDP({"u.rego": undefined})
    d = pdp.decide({"action": "read"})
    assert d.allow is False
    assert d.reasons == ("policy result undefined",)
    assert pdp.decide({"never_set": True}).allow is True


def test_invalid_rego_is_refused_at_load() -> None:
    with pytest.raises(PolicyCompileError):
        RegoPDP({"bad.rego": "package x\nthis is not rego"})


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown PDP backend 'cedar'"):
        make_pdp("cedar")
