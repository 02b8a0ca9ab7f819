"""Differential privacy: DP aggregate queries, disclosure control, pseudonymisation and noise for
model outputs (issue #6). The epsilon ledger lives in the connector's database
(connector/privacy); this package never touches storage.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from privacy.engine import Cell, Expected, QueryRefused, Release, expected_error, run_query
    from privacy.mechanisms import Component, PrivacyLeak
    from privacy.outputs import privatise_output, suppress_small_groups
    from privacy.pseudonym import pseudonym_key, pseudonymise, pseudonymise_columns
    from privacy.query import (
        EPSILON_UNIT,
        Aggregate,
        AggregateQuery,
        DatasetProfile,
        Dimension,
        DisclosureRules,
        Filter,
        TimePart,
        at_least_one_unit,
        published_profile,
    )

# Names load on first use (PEP 562): `privacy.pseudonym` alone must not pull in diffprivlib and
# scikit-learn (two seconds of imports for every CLI command that only reads the catalogue).
_HOME = {
    "Cell": "privacy.engine",
    "Expected": "privacy.engine",
    "QueryRefused": "privacy.engine",
    "Release": "privacy.engine",
    "expected_error": "privacy.engine",
    "run_query": "privacy.engine",
    "Component": "privacy.mechanisms",
    "PrivacyLeak": "privacy.mechanisms",
    "privatise_output": "privacy.outputs",
    "suppress_small_groups": "privacy.outputs",
    "pseudonym_key": "privacy.pseudonym",
    "pseudonymise": "privacy.pseudonym",
    "pseudonymise_columns": "privacy.pseudonym",
    "EPSILON_UNIT": "privacy.query",
    "Aggregate": "privacy.query",
    "AggregateQuery": "privacy.query",
    "DatasetProfile": "privacy.query",
    "Dimension": "privacy.query",
    "DisclosureRules": "privacy.query",
    "Filter": "privacy.query",
    "TimePart": "privacy.query",
    "at_least_one_unit": "privacy.query",
    "published_profile": "privacy.query",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'privacy' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "EPSILON_UNIT",
    "Aggregate",
    "AggregateQuery",
    "Cell",
    "Component",
    "DatasetProfile",
    "Dimension",
    "Expected",
    "DisclosureRules",
    "Filter",
    "PrivacyLeak",
    "QueryRefused",
    "Release",
    "TimePart",
    "at_least_one_unit",
    "expected_error",
    "published_profile",
    "privatise_output",
    "suppress_small_groups",
    "pseudonym_key",
    "pseudonymise",
    "pseudonymise_columns",
    "run_query",
]
