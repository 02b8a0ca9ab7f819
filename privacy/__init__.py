"""Differential privacy: DP aggregate queries, disclosure control, pseudonymisation and noise for
model outputs (issue #6). The epsilon ledger lives in the connector's database
(connector/privacy); this package never touches storage.
"""

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
