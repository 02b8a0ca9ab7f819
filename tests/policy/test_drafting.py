"""The policy editor's drafts: the document a form's choices make, and where each problem is."""

from __future__ import annotations

import pytest

from policy.drafting import ConstraintDraft, PolicyDraft, RuleDraft, from_document, to_document
from policy.odrl import parse_policy
from policy.testing import parse_cases

UNIBO = "urn:gemello:bologna:unibo"
CHOICES = {"recipient": [UNIBO, "urn:gemello:bologna:cineca"]}


def _draft(*constraints: ConstraintDraft, duties: list[str] | None = None) -> PolicyDraft:
    rule = RuleDraft("permission", "aggregate", list(constraints), duties or [])
    return PolicyDraft("urn:gemello:policy:fbk:trips:1", [rule, RuleDraft("prohibition", "share")])


def test_choices_make_the_document_a_steward_would_write_and_read_back() -> None:
    draft = _draft(
        ConstraintDraft("purpose", "isAnyOf", ["research", "planning"]),
        ConstraintDraft("recipient", "eq", [UNIBO]),
        ConstraintDraft("count", "lteq", ["3"]),
        ConstraintDraft("epsilonTotal", "lteq", ["2"]),
        ConstraintDraft("epsilon", "lt", ["0.5"]),
        ConstraintDraft("dateTime", "lt", ["2027-06-30"]),
        duties=["obtainApproval"],
    )
    document, problems = to_document(draft, CHOICES)
    assert problems == {}
    assert document is not None
    assert document["permission"][0]["constraint"] == [
        {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["research", "planning"]},
        {"leftOperand": "recipient", "operator": "eq", "rightOperand": UNIBO},
        {"leftOperand": "count", "operator": "lteq", "rightOperand": 3},
        {"leftOperand": "epsilonTotal", "operator": "lteq", "rightOperand": 2},
        {"leftOperand": "epsilon", "operator": "lt", "rightOperand": 0.5},
        {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2027-06-30T00:00:00Z"},
    ]
    assert document["permission"][0]["duty"] == [{"action": "obtainApproval"}]
    assert document["prohibition"] == [{"action": "share"}]
    parse_policy(document)  # the profile takes it
    # What is stored reads back into the same draft.
    stored = parse_policy(document, "urn:x:trips").to_json()
    assert from_document(stored) == draft


def test_each_problem_is_named_where_it_is() -> None:
    draft = _draft(
        ConstraintDraft("count", "lteq", ["three"]),
        ConstraintDraft("purpose", "eq", ["research", "planning"]),
        ConstraintDraft("recipient", "isAnyOf", ["unibo"]),
        ConstraintDraft("epsilonTotal", "isAnyOf", ["2"]),
        ConstraintDraft("dateTime", "lt", ["2027-02-30"]),
        ConstraintDraft("epsilon", "lt", []),
    )
    document, problems = to_document(draft, CHOICES)
    assert document is None
    assert problems["r0.c0"] == ["a number is needed"]
    assert "takes one value" in problems["r0.c1"][0]
    assert problems["r0.c2"] == ["not a value this field offers: unibo"]
    assert "does not apply" in problems["r0.c3"][0]
    assert "day is out of range" in problems["r0.c4"][0]
    assert problems["r0.c5"] == ["choose or type a value"]
    assert set(problems) == {f"r0.c{j}" for j in range(6)}


def test_what_only_the_profile_sees_is_placed_on_its_rule() -> None:
    draft = PolicyDraft("urn:p", [RuleDraft("prohibition", "share", [], ["obtainApproval"])])
    _, problems = to_document(draft)
    assert problems["r0"] == ["a prohibition carries no duties"]
    empty = PolicyDraft("", [])
    _, problems = to_document(empty)
    assert len(problems["policy"]) == 2


def test_a_combined_constraint_is_not_composed_by_the_form() -> None:
    atoms = [
        {"leftOperand": "purpose", "operator": "eq", "rightOperand": p}
        for p in ("research", "education")
    ]
    either = {"or": atoms}
    assert (
        from_document({"@id": "p", "permission": [{"action": "use", "constraint": [either]}]})
        is None
    )


def test_cases_for_one_dataset_need_no_dataset_key_and_refuse_another() -> None:
    cases = parse_cases('[[case]]\nname = "a"\naction = "aggregate"\nexpect = "allow"\n', "trips")
    assert cases[0]["dataset"] == "trips"
    other = '[[case]]\nname = "a"\ndataset = "od"\naction = "use"\nexpect = "deny"\n'
    with pytest.raises(ValueError, match="not od"):
        parse_cases(other, "trips")
