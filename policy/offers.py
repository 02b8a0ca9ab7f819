"""Default ODRL offers, one per privacy class, until stewards author their own (issue #5).

Compact JSON-LD in the DSP 2025-1 ODRL profile. Actions are Gemello's: `read` (rows leave),
`aggregate` (differentially private queries), `compute` (approved model runs at the holder),
`share` (released results shown to another organisation), `publish` (released results put on
the public portal). Sharing and publishing are permitted by default for data about no one, on
the same purposes as its other uses, and prohibited for personal data: a steward who wants
results derived from personal data shared or published says so in a policy.
"""

from __future__ import annotations

from typing import Any

from policy.vocabulary import PROFILE

PUBLIC_PURPOSES = ["research", "public-policy", "planning"]

_PURPOSE = {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": PUBLIC_PURPOSES}
_RULES: dict[str, dict[str, list[dict[str, Any]]]] = {
    "open": {"permission": [{"action": "read"}, {"action": "aggregate"}, {"action": "compute"}]},
    "aggregate-only": {
        "permission": [
            {"action": "aggregate", "constraint": [_PURPOSE]},
            {"action": "compute", "constraint": [_PURPOSE]},
        ],
        "prohibition": [{"action": "read"}],
    },
    "compute-only": {
        "permission": [{"action": "compute", "constraint": [_PURPOSE]}],
        "prohibition": [{"action": "read"}, {"action": "aggregate"}],
    },
}


def default_offer(
    dataset_iri: str, privacy_class: str, assigner: str | None = None, personal: bool = True
) -> dict[str, Any]:
    """The offer a dataset carries in `hasPolicy` when its steward has set none. It declares
    the Gemello ODRL profile (its actions and operands, e.g. `compute`, `epsilon`, are the
    profile's) and, given the publisher, its assigner (an ODRL Offer must name one)."""
    try:
        rules = _RULES[privacy_class]
    except KeyError:
        raise ValueError(f"unknown privacy class '{privacy_class}'") from None
    offer: dict[str, Any] = {
        "@id": f"{dataset_iri}:offer:default",
        "@type": "Offer",
        "profile": PROFILE,
    }
    if assigner is not None:
        offer["assigner"] = assigner
    for kind, items in rules.items():
        offer[kind] = [dict(rule) for rule in items]
    for action in ("share", "publish"):
        if personal:
            offer["prohibition"] = [*offer.get("prohibition", []), {"action": action}]
        else:
            constraint = [] if privacy_class == "open" else [_PURPOSE]
            rule = {"action": action, **({"constraint": constraint} if constraint else {})}
            offer["permission"] = [*offer.get("permission", []), rule]
    return offer
