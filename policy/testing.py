"""Steward policy tests: a table of cases (request -> expected decision), run like code.

A test directory holds `policies/<dataset>.json` (ODRL documents) and `cases.toml`:

    [[case]]
    name = "research on trips is allowed"
    dataset = "trips"
    action = "aggregate"
    purpose = "research"
    organisation = "urn:gemello:bologna:unibo"
    role = "researcher"
    at = "2026-05-01T10:00:00Z"
    areas = ["101", "102"]      # statistical areas the use concerns
    uses = 3                     # earlier uses under the agreement
    model = "sha256:..."         # model hash, for compute
    epsilon = 0.5                # this query's budget
    spent = 1.0                  # budget already spent
    expect = "allow"             # or "deny"
    reason = "purpose 'commercial'"   # optional: a reason must contain this

`gemello policy test DIR` runs it on each adapter; tests/policy runs Gemello's own table.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policy.odrl import PolicyInvalid, parse_time
from policy.pdp import Decision, PolicyDecisionPoint, PolicySet
from policy.request import UsageRequest

CASE_KEYS = {
    "name",
    "dataset",
    "action",
    "purpose",
    "organisation",
    "role",
    "at",
    "areas",
    "uses",
    "model",
    "epsilon",
    "spent",
    "expect",
    "reason",
}


@dataclass(frozen=True)
class CaseResult:
    """One case: what was expected, what the PDP said, and whether they agree."""

    name: str
    expected: str
    decision: Decision
    reason_expected: str | None

    @property
    def passed(self) -> bool:
        """Decision matches, and the expected reason (if any) is among the reasons."""
        got = "allow" if self.decision.allow else "deny"
        if got != self.expected:
            return False
        return self.reason_expected is None or any(
            self.reason_expected in r for r in self.decision.reasons
        )


def load_policies(directory: Path, target_for: Callable[[str], str]) -> PolicySet:
    """`policies/*.json` in the directory, by dataset id (the file name)."""
    documents: dict[str, Any] = {}
    for path in sorted((directory / "policies").glob("*.json")):
        try:
            documents[target_for(path.stem)] = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise PolicyInvalid([f"{path.name}: not JSON ({exc})"]) from None
    return PolicySet.from_documents(documents)


def load_cases(directory: Path) -> list[dict[str, Any]]:
    """The case table; unknown keys are refused so a typo cannot silently pass."""
    path = directory / "cases.toml"
    try:
        cases = tomllib.loads(path.read_text()).get("case", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyInvalid([f"{path}: {exc}"]) from None
    return checked_cases(cases)


def parse_cases(text: str, dataset: str) -> list[dict[str, Any]]:
    """Cases written for one dataset (a steward's, in the console): the same table format,
    where `dataset` may be left out and, if given, must be that dataset."""
    try:
        cases = tomllib.loads(text).get("case", [])
    except tomllib.TOMLDecodeError as exc:
        raise PolicyInvalid([f"the cases are not in the table format: {exc}"]) from None
    if not isinstance(cases, list):
        raise PolicyInvalid(["the cases are [[case]] tables"])
    others = sorted({str(c.get("dataset")) for c in cases if c.get("dataset", dataset) != dataset})
    if others:
        raise PolicyInvalid([f"these cases are for '{dataset}', not {', '.join(others)}"])
    return checked_cases([{**c, "dataset": dataset} for c in cases])


def run_on(
    cases: list[dict[str, Any]],
    pdp: PolicyDecisionPoint,
    target: str,
    now: datetime | None = None,
) -> list[CaseResult]:
    """Decide every case on one target with the PDP as loaded."""
    moment = now or datetime.now(UTC)
    return [
        CaseResult(
            case["name"],
            case["expect"],
            pdp.decide(request_for(case, target, moment)),
            case.get("reason"),
        )
        for case in cases
    ]


def checked_cases(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cases with their keys checked (unknown and missing ones refused, every problem named)."""
    errors = []
    for i, case in enumerate(cases, start=1):
        unknown = set(case) - CASE_KEYS
        missing = {"name", "dataset", "action", "expect"} - set(case)
        if unknown:
            errors.append(f"case {i}: unknown keys {sorted(unknown)}")
        if missing:
            errors.append(f"case {i}: missing {sorted(missing)}")
        if case.get("expect") not in ("allow", "deny"):
            errors.append(f"case {i}: expect is 'allow' or 'deny'")
    if errors:
        raise PolicyInvalid(errors)
    return cases


def request_for(case: dict[str, Any], target: str, now: datetime) -> UsageRequest:
    """The usage request a case describes."""
    at = parse_time(case["at"]) if "at" in case else now
    areas = case.get("areas")
    return UsageRequest(
        target=target,
        action=case["action"],
        at=at,
        purpose=case.get("purpose"),
        recipient=case.get("organisation"),
        recipient_role=case.get("role"),
        spatial=tuple(str(a) for a in areas) if areas is not None else None,
        use_count=case.get("uses"),
        model_hash=case.get("model"),
        epsilon=case.get("epsilon"),
        epsilon_spent=case.get("spent"),
    )


def run_cases(
    directory: Path,
    pdp: PolicyDecisionPoint,
    target_for: Callable[[str], str],
    now: datetime | None = None,
) -> list[CaseResult]:
    """Load the directory's policies into the PDP and run every case."""
    pdp.load(load_policies(directory, target_for))
    moment = now or datetime.now(UTC)
    return [
        CaseResult(
            case["name"],
            case["expect"],
            pdp.decide(request_for(case, target_for(case["dataset"]), moment)),
            case.get("reason"),
        )
        for case in load_cases(directory)
    ]
