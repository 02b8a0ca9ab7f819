"""A usage request as the PDP sees it, and its translation into a Rego input."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def _ns(moment: datetime) -> int:
    t = moment.astimezone(UTC)
    return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000


@dataclass(frozen=True)
class UsageRequest:
    """Who wants to do what with which dataset, and what they state about it.

    `use_count` is the number of earlier uses under the agreement (the database keeps it);
    `epsilon_spent` the budget already spent by the recipient on the dataset. `None` means not
    stated: a constraint on an unstated value does not hold (and cannot lift a prohibition).
    """

    target: str
    action: str
    at: datetime
    purpose: str | None = None
    recipient: str | None = None
    recipient_role: str | None = None
    spatial: tuple[str, ...] | None = None
    use_count: int | None = None
    model_hash: str | None = None
    epsilon: float | None = None
    epsilon_spent: float | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("UsageRequest.at needs a time zone")

    def _values(self) -> dict[str, Any]:
        # Rounded to the ledger's micro-epsilon, so 0.9 + 0.1 is 1.0 and not 1.0000000000000002.
        total = (
            None if self.epsilon is None else round((self.epsilon_spent or 0.0) + self.epsilon, 6)
        )
        return {
            "purpose": self.purpose,
            "recipient": self.recipient,
            "recipientRole": self.recipient_role,
            "dateTime": _ns(self.at),
            "spatial": list(self.spatial) if self.spatial is not None else None,
            "count": None if self.use_count is None else self.use_count + 1,
            "modelHash": self.model_hash,
            "epsilon": self.epsilon,
            "epsilonTotal": total,
        }

    def to_input(self, operands: Iterable[str]) -> dict[str, Any]:
        """The Rego input: the action and the stated values the policy tests (by operand)."""
        values = self._values()
        stated = {k: values[k] for k in operands if values.get(k) not in (None, [])}
        return {"action": self.action, **stated}  # flat: regopy converts nesting slowly

    def shown(self, operand: str) -> str:
        """The request's value for an operand, as a person reads it."""
        if operand == "dateTime":
            return self.at.astimezone(UTC).isoformat(timespec="seconds")
        value = self._values().get(operand)
        if isinstance(value, list):
            return ", ".join(value)
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    def log_input(self) -> dict[str, Any]:
        """Everything stated, for the decision record (times as text)."""
        values = self._values()
        values["dateTime"] = self.shown("dateTime")
        return {
            "target": self.target,
            "action": self.action,
            "values": {k: v for k, v in values.items() if v not in (None, [])},
        }
