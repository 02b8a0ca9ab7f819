"""The public data-use register: for each dataset this connector holds, which organisations
used it, for which purposes, how often, how much epsilon, and when. It is aggregated from the
audit log: policy decisions on uses (not those on negotiations), committed privacy charges,
and the stewards' budget raises and resets with their reasons. Organisations are named by
their handle; no person is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from connector.audit import repository as store
from connector.storage import Session


@dataclass
class Use:
    """One organisation's use of one dataset for one purpose."""

    organisation: str
    purpose: str
    allowed: int = 0
    denied: int = 0
    epsilon: float = 0.0
    first: str = ""
    last: str = ""
    seqs: list[int] = field(default_factory=list)  # the audit entries it was counted from

    def seen(self, day: str, seq: int) -> None:
        self.first = min(self.first or day, day)
        self.last = max(self.last, day)
        self.seqs.append(seq)


@dataclass
class DatasetUse:
    """A dataset's uses, by organisation and purpose, and the acts on its budgets."""

    dataset: str
    uses: dict[tuple[str, str], Use] = field(default_factory=dict)
    acts: list[dict[str, str | float | int]] = field(default_factory=list)

    def use(self, organisation: str, purpose: str) -> Use:
        key = (organisation, purpose)
        if key not in self.uses:
            self.uses[key] = Use(organisation, purpose)
        return self.uses[key]


def data_use(session: Session, names: Mapping[str, str]) -> list[DatasetUse]:
    """Every dataset with recorded use, by name; `names` maps participant ids to handles."""
    found: dict[str, DatasetUse] = {}
    columns = ("action", "outcome", "organisation", "purpose", "dataset", "reason", "target",
               "details")  # fmt: skip
    for batch in store.batches(session, columns):
        for (
            seq,
            at,
            _leaf,
            action,
            outcome,
            org,
            purpose,
            dataset,
            reason,
            target,
            details,
        ) in batch:
            if not dataset or "," in dataset:  # a run over several datasets is counted per stage
                continue
            who, day = names.get(org, org), str(at)[:10]
            ds = found.setdefault(dataset, DatasetUse(dataset))
            if action.startswith("policy.") and _text(details, "context") != "negotiation":
                use = ds.use(who, purpose or "—")
                use.allowed += outcome == "allowed"
                use.denied += outcome == "denied"
                use.seen(day, seq)
            elif action == "privacy.charge" and outcome == "committed":
                use = ds.use(who, purpose or "—")
                use.epsilon += _number(details, "epsilon")
                use.seen(day, seq)
            elif action == "privacy.budget":
                micro = _number(details, "epsilon_micro")
                whom = names.get(target, target)
                ds.acts.append({"day": day, "act": outcome, "organisation": whom,
                                "epsilon": micro / 1_000_000, "reason": reason,
                                "seq": seq})  # fmt: skip
    return [found[d] for d in sorted(found) if found[d].uses or found[d].acts]


def _text(details: str, key: str) -> str:
    try:
        return str(json.loads(details).get(key) or "")
    except (ValueError, AttributeError):
        return ""


def _number(details: str, key: str) -> float:
    try:
        value = json.loads(details).get(key)
    except (ValueError, AttributeError):
        return 0.0
    return float(value) if isinstance(value, int | float) else 0.0
