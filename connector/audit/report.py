"""The audit report: what the log holds over a period, as tables (accesses per dataset and
organisation, purposes, denied attempts, epsilon spent, model runs and jobs, budget acts).
`gemello audit report` writes them as CSV with an HTML page; the console shows them as pages
with charts and CSV downloads."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

Table = tuple[list[str], list[list[Any]]]
NAMES = ("accesses", "purposes", "denied", "epsilon", "runs", "budget_acts")


def summarise(rows: list[Any]) -> dict[str, Table]:
    """The report's tables, from entries."""
    access: Counter[tuple[str, str, str]] = Counter()
    purposes: Counter[str] = Counter()
    denied: list[list[Any]] = []
    epsilon: defaultdict[tuple[str, str], float] = defaultdict(float)
    runs: list[list[Any]] = []
    acts: list[list[Any]] = []
    for r in rows:
        if r.action.startswith("policy."):
            access[(r.dataset, r.organisation, r.outcome)] += 1
            if r.purpose:
                purposes[r.purpose] += 1
        if r.outcome == "denied":
            denied.append([r.seq, r.at.isoformat(), r.action, r.organisation, r.dataset, r.reason])
        if r.action == "privacy.charge" and r.outcome == "committed":
            epsilon[(r.dataset, r.organisation)] += float(r.detail_map.get("epsilon") or 0)
        if r.action == "privacy.budget":
            micro = int(r.detail_map.get("epsilon_micro") or 0)
            acts.append([r.seq, r.at.isoformat(), r.outcome, r.dataset, r.target,
                         micro / 1_000_000, r.reason])  # fmt: skip
        if r.action in ("compute.run", "compute.job") and r.outcome in (
            "succeeded", "failed", "partial", "cancelled"
        ):  # fmt: skip
            runs.append([r.seq, r.at.isoformat(), r.action, r.outcome, r.correlation,
                         r.detail_map.get("model"), r.organisation])  # fmt: skip
    return {
        "accesses": (["dataset", "organisation", "outcome", "decisions"],
                     [[*k, v] for k, v in sorted(access.items())]),
        "purposes": (["purpose", "decisions"], [[p, c] for p, c in sorted(purposes.items())]),
        "denied": (["seq", "time", "action", "organisation", "dataset", "reason"], denied),
        "epsilon": (["dataset", "organisation", "epsilon spent"],
                    [[d, o, round(e, 6)] for (d, o), e in sorted(epsilon.items())]),
        "runs": (["seq", "time", "kind", "outcome", "job", "model", "organisation"], runs),
        "budget_acts": (["seq", "time", "act", "dataset", "organisation", "epsilon", "reason"],
                        acts),
    }  # fmt: skip
