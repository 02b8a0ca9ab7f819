"""The four roles of a local user (their own module: the command line names them without
importing pydantic)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a local user may do; each endpoint lists the roles it accepts."""

    admin = "admin"  # users, tokens, keys
    steward = "steward"  # datasets, policies, approvals
    researcher = "researcher"  # catalogue, queries, federated runs
    auditor = "auditor"  # logs and reports, read only
