"""The Gemello ODRL profile: the actions, left operands, operators and duties a policy may use.

Anything not listed here is unknown, and unknown means deny (at authoring: refused; in a stored
policy: the compiled Rego denies with the reason). The same terms are described for people in
`ontology/gemello.ttl` (section "ODRL profile"); a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PROFILE = "https://w3id.org/gemello/ns/odrl-profile"

# action -> the broader actions that include it (ODRL: `use` includes every other action).
ACTIONS: dict[str, tuple[str, ...]] = {
    "use": (),
    "read": ("use",),
    "aggregate": ("use",),
    "compute": ("use",),
    "share": ("use",),
    "publish": ("use",),
}
ACTION_TEXT = {
    "use": "use in any way below",
    "read": "receive the rows (transfer)",
    "aggregate": "ask differentially private aggregate questions",
    "compute": "run approved models at the holder",
    "share": "share released results with another organisation",
    "publish": "publish released results on the public portal, for anyone",
}


def narrower(action: str) -> tuple[str, ...]:
    """The actions a rule on `action` covers: itself and every action it includes."""
    return tuple(a for a, broader in ACTIONS.items() if a == action or action in broader)


# Purposes, a controlled list; value -> broader purpose (for `isA`).
PURPOSES: dict[str, str | None] = {
    "research": None,
    "academic-research": "research",
    "public-policy": None,
    "planning": "public-policy",
    "emergency-response": "public-policy",
    "education": None,
    "commercial": None,
}
ROLES = ("researcher", "steward", "auditor", "admin")

OPERATORS = (
    "eq",
    "neq",
    "gt",
    "gteq",
    "lt",
    "lteq",
    "isA",
    "isAnyOf",
    "isAllOf",
    "isNoneOf",
    "isPartOf",
    "hasPart",
)
SET_OPERATORS = ("isAnyOf", "isAllOf", "isNoneOf", "isPartOf", "hasPart")
ORDER_OPERATORS = ("gt", "gteq", "lt", "lteq")

Kind = Literal["term", "iri", "datetime", "count", "number", "codes"]


@dataclass(frozen=True)
class Operand:
    """A left operand: what the request states about itself, and how policies may test it."""

    name: str
    kind: Kind
    operators: tuple[str, ...]
    text: str
    terms: tuple[str, ...] = ()  # the allowed values, for kind "term"


LEFT_OPERANDS: dict[str, Operand] = {
    o.name: o
    for o in (
        Operand(
            "purpose",
            "term",
            ("eq", "neq", "isA", "isAnyOf", "isNoneOf"),
            "the purpose the recipient declares",
            tuple(PURPOSES),
        ),
        Operand(
            "recipient",
            "iri",
            ("eq", "neq", "isAnyOf", "isNoneOf"),
            "the participant id of the recipient organisation",
        ),
        Operand(
            "recipientRole",
            "term",
            ("eq", "neq", "isAnyOf", "isNoneOf"),
            "the role of the person acting for the recipient",
            ROLES,
        ),
        Operand("dateTime", "datetime", ORDER_OPERATORS, "the time of the use (UTC)"),
        Operand(
            "spatial",
            "codes",
            ("isPartOf", "isAnyOf", "isNoneOf", "isAllOf", "hasPart"),
            "the statistical areas (codes) the use concerns",
        ),
        Operand("count", "count", ("lt", "lteq"), "the number of uses, this one included"),
        Operand(
            "modelHash",
            "iri",
            ("eq", "isAnyOf", "isNoneOf"),
            "the content hash of the model to run (sha256:...)",
        ),
        Operand("epsilon", "number", ("lt", "lteq"), "the privacy budget this query spends"),
        Operand(
            "epsilonTotal",
            "number",
            ("lt", "lteq"),
            "the privacy budget spent by the recipient on this dataset, this query included",
        ),
    )
}

# Duties a permission may carry; each becomes an obligation on the decision.
DUTIES: dict[str, str] = {
    "obtainApproval": "a data steward of the provider approves the agreement first",
    "attribute": "credit the source as its licence asks",
}
CONFLICT_STRATEGIES = ("invalid", "prohibit")
