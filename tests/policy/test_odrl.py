"""Authoring: policies follow the Gemello ODRL profile or are refused with every problem named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy import default_offer
from policy.compiler import compile_policy
from policy.odrl import PolicyInvalid, as_offer, parse_policy
from policy.opa import OpaServerPDP
from policy.pdp import PolicyCompileError
from tests.dsp_schemas import dsp_errors

T = "urn:gemello:bologna:fbk:dataset:trips"
CASES = Path(__file__).parent / "cases" / "policies"


def _refused(doc: object) -> list[str]:
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(doc, T)
    return info.value.errors


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"@id": "p"}, "needs at least one permission or prohibition"),
        ({"@id": "p", "permission": [{"action": "sell"}]}, "unknown action 'sell'"),
        (
            {
                "@id": "p",
                "permission": [
                    {
                        "action": "read",
                        "constraint": [
                            {"leftOperand": "weather", "operator": "eq", "rightOperand": "sunny"}
                        ],
                    }
                ],
            },
            "unknown leftOperand 'weather'",
        ),
        (
            {
                "@id": "p",
                "permission": [
                    {
                        "action": "read",
                        "constraint": [
                            {
                                "leftOperand": "purpose",
                                "operator": "near",
                                "rightOperand": "research",
                            }
                        ],
                    }
                ],
            },
            "unknown operator 'near'",
        ),
        (
            {
                "@id": "p",
                "permission": [
                    {
                        "action": "read",
                        "constraint": [
                            {"leftOperand": "purpose", "operator": "eq", "rightOperand": "fun"}
                        ],
                    }
                ],
            },
            "unknown purpose 'fun'",
        ),
        (
            {
                "@id": "p",
                "permission": [
                    {
                        "action": "read",
                        "constraint": [
                            {
                                "leftOperand": "dateTime",
                                "operator": "isAnyOf",
                                "rightOperand": ["x"],
                            }
                        ],
                    }
                ],
            },
            "dateTime cannot be tested with 'isAnyOf'",
        ),
        (
            {
                "@id": "p",
                "permission": [
                    {
                        "action": "read",
                        "constraint": [
                            {
                                "leftOperand": "dateTime",
                                "operator": "lt",
                                "rightOperand": "2026-01-01T00:00",
                            }
                        ],
                    }
                ],
            },
            "needs a time zone",
        ),
        (
            {
                "@id": "p",
                "permission": [
                    {
                        "action": "read",
                        "constraint": [
                            {"leftOperand": "count", "operator": "lteq", "rightOperand": -1}
                        ],
                    }
                ],
            },
            "whole number >= 0",
        ),
        (
            {
                "@id": "p",
                "permission": [
                    {
                        "action": "read",
                        "constraint": [
                            {
                                "leftOperand": "spatial",
                                "operator": "isPartOf",
                                "rightOperand": "101",
                            }
                        ],
                    }
                ],
            },
            "takes a non-empty list",
        ),
        (
            {
                "@id": "p",
                "permission": [
                    {
                        "action": "read",
                        "constraint": [
                            {
                                "or": [
                                    {
                                        "and": [
                                            {
                                                "leftOperand": "purpose",
                                                "operator": "eq",
                                                "rightOperand": "research",
                                            }
                                        ]
                                    }
                                ]
                            }
                        ],
                    }
                ],
            },
            "unknown term",
        ),
        (
            {"@id": "p", "permission": [{"action": "read", "duty": [{"action": "pay"}]}]},
            "unknown duty 'pay'",
        ),
        (
            {"@id": "p", "conflict": "perm", "permission": [{"action": "read"}]},
            "prohibitions always win",
        ),
        ({"@id": "p", "permission": [{"action": "read", "target": "urn:x"}]}, "unknown term"),
        (
            {"@id": "p", "permission": [{"action": "read"}], "target": "urn:other"},
            "is not this dataset",
        ),
        (
            {"@id": "p", "prohibition": [{"action": "read", "duty": [{"action": "attribute"}]}]},
            "unknown term",
        ),
    ],
)
def test_authoring_refuses_anything_unknown(doc: object, expected: str) -> None:
    errors = _refused(doc)
    assert any(expected in e for e in errors), errors


def test_every_problem_is_listed_with_where_it_is() -> None:
    errors = _refused(
        {
            "@id": "p",
            "permission": [
                {"action": "sell"},
                {
                    "action": "read",
                    "constraint": [{"leftOperand": "weather", "operator": "eq", "rightOperand": 1}],
                },
            ],
        }
    )
    assert len(errors) == 2
    assert errors[0].startswith("permission.0.action:")
    assert errors[1].startswith("permission.1.constraint.0:")


def test_the_test_policies_and_default_offers_parse_compile_and_validate() -> None:
    for path in CASES.glob("*.json"):
        if path.stem.startswith("legacy"):
            continue
        policy = parse_policy(json.loads(path.read_text()), T)
        assert compile_policy(policy, T).source
        offer = as_offer(policy)
        assert dsp_errors(offer, "negotiation/contract-schema.json#/definitions/Offer") == [], (
            path.name
        )
    for privacy in ("open", "aggregate-only", "compute-only"):
        offer = default_offer(T, privacy)
        policy = parse_policy(offer, T)
        assert policy.uid == offer["@id"]
        assert dsp_errors(offer, "negotiation/contract-schema.json#/definitions/Offer") == []


def test_round_trip_keeps_the_document() -> None:
    doc = json.loads((CASES / "trips.json").read_text())
    once = parse_policy(doc, T).to_json()
    assert parse_policy(once, T).to_json() == once
    assert once["target"] == T
    assert "duty" not in once["permission"][0]  # empty lists are left out


def test_an_unreachable_opa_server_is_refused_at_load() -> None:
    with pytest.raises(PolicyCompileError, match="OPA server unreachable"):
        OpaServerPDP("http://127.0.0.1:9", timeout=0.5)
