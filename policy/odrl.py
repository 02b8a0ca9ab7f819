"""ODRL 2.2 usage policies in the DSP 2025-1 profile (compact JSON-LD), checked against the
Gemello profile at authoring time: anything unknown or malformed is refused with every problem
listed, never skipped.

Supported: policy-level `target`; permission / prohibition; duties on permissions; atomic
constraints and one level of logical constraint (`and`, `andSequence`, `or`, `xone` over atomic
constraints) — Rego forbids recursion, so deeper nesting would need a different evaluator, and
no Gemello policy has needed it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from policy.vocabulary import (
    ACTIONS,
    CONFLICT_STRATEGIES,
    DUTIES,
    LEFT_OPERANDS,
    OPERATORS,
    PROFILE,
    SET_OPERATORS,
)


class PolicyInvalid(ValueError):
    """A policy that does not follow the Gemello ODRL profile; `errors` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def parse_time(value: str) -> datetime:
    """An ISO 8601 date-time with a zone (`Z` accepted), in UTC."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"date-time '{value}' needs a time zone (e.g. Z or +01:00)")
    return moment.astimezone(UTC)


def number_of(right: Any) -> Any:
    """The number in a numeric right operand: the DSP schema allows a string, object or array
    there, so policies carry numbers as typed literals (`{"@value": 3, "@type": "xsd:integer"}`);
    a bare number or numeric string is accepted when authoring and stored in that form."""
    value = right.get("@value") if isinstance(right, dict) else right
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def _typed_number(right: Any) -> Any:
    value = number_of(right)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return right  # left for _check_right to refuse with a message
    kind = "integer" if isinstance(value, int) else "decimal"
    return {"@value": value, "@type": f"xsd:{kind}"}


def _check_right(left: str, operator: str, right: Any) -> Any:
    operand = LEFT_OPERANDS[left]
    many = operator in SET_OPERATORS
    if many:
        if not isinstance(right, list) or not right:
            raise ValueError(f"'{operator}' takes a non-empty list as rightOperand")
        values = right
    elif operand.kind in ("count", "number"):
        values = [number_of(right)]
    else:
        if isinstance(right, list | dict):
            raise ValueError(f"'{operator}' takes a single value as rightOperand")
        values = [right]
    for v in values:
        if operand.kind in ("term", "iri", "codes", "datetime") and not (isinstance(v, str) and v):
            raise ValueError(f"{left} values are non-empty strings, not {v!r}")
        if operand.kind == "term" and v not in operand.terms:
            raise ValueError(f"unknown {left} '{v}'; known: {', '.join(operand.terms)}")
        if operand.kind == "datetime":
            parse_time(v)
        if operand.kind == "count" and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ValueError(f"{left} takes a whole number >= 0, not {v!r}")
        if operand.kind == "number" and (
            isinstance(v, bool) or not isinstance(v, int | float) or v <= 0
        ):
            raise ValueError(f"{left} takes a number > 0, not {v!r}")
    return right


class AtomicConstraint(BaseModel):
    """`leftOperand operator rightOperand`, all from the Gemello profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    left_operand: str = Field(alias="leftOperand")
    operator: str
    right_operand: Any = Field(alias="rightOperand")

    @model_validator(mode="before")
    @classmethod
    def _numbers_typed(cls, data: Any) -> Any:
        if isinstance(data, dict):
            operand = LEFT_OPERANDS.get(str(data.get("leftOperand")))
            if (
                operand is not None
                and operand.kind in ("count", "number")
                and "rightOperand" in data
            ):
                return {**data, "rightOperand": _typed_number(data["rightOperand"])}
        return data

    @model_validator(mode="after")
    def _known(self) -> AtomicConstraint:
        left, op = self.left_operand, self.operator
        if left not in LEFT_OPERANDS:
            raise ValueError(f"unknown leftOperand '{left}'; known: {', '.join(LEFT_OPERANDS)}")
        if op not in OPERATORS:
            raise ValueError(f"unknown operator '{op}'; known: {', '.join(OPERATORS)}")
        allowed = LEFT_OPERANDS[left].operators
        if op not in allowed:
            raise ValueError(
                f"{left} cannot be tested with '{op}'; use one of {', '.join(allowed)}"
            )
        _check_right(left, op, self.right_operand)
        return self


class LogicalConstraint(BaseModel):
    """One of and / andSequence / or / xone over atomic constraints."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    and_: list[AtomicConstraint] | None = Field(default=None, alias="and", min_length=1)
    and_sequence: list[AtomicConstraint] | None = Field(
        default=None, alias="andSequence", min_length=1
    )
    or_: list[AtomicConstraint] | None = Field(default=None, alias="or", min_length=1)
    xone: list[AtomicConstraint] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> LogicalConstraint:
        given = [k for k, v in self.parts() if v is not None]
        if len(given) != 1:
            raise ValueError("a logical constraint has exactly one of and, andSequence, or, xone")
        return self

    def parts(self) -> list[tuple[str, list[AtomicConstraint] | None]]:
        """(operator, members) pairs as ODRL names them."""
        return [
            ("and", self.and_),
            ("andSequence", self.and_sequence),
            ("or", self.or_),
            ("xone", self.xone),
        ]

    @property
    def kind(self) -> str:
        """and, andSequence, or or xone."""
        return next(k for k, v in self.parts() if v is not None)

    @property
    def members(self) -> list[AtomicConstraint]:
        """The atomic constraints combined."""
        return next(v for _, v in self.parts() if v is not None)


def _constraint_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "logical" if {"and", "andSequence", "or", "xone"} & value.keys() else "atomic"
    return "logical" if isinstance(value, LogicalConstraint) else "atomic"


Constraint = Annotated[
    Annotated[AtomicConstraint, Tag("atomic")] | Annotated[LogicalConstraint, Tag("logical")],
    Discriminator(_constraint_tag),
]


class Duty(BaseModel):
    """A duty attached to a permission (Gemello: obtainApproval, attribute)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str

    @field_validator("action")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in DUTIES:
            raise ValueError(f"unknown duty '{value}'; known: {', '.join(DUTIES)}")
        return value


def _known_action(value: str) -> str:
    if value not in ACTIONS:
        raise ValueError(f"unknown action '{value}'; known: {', '.join(ACTIONS)}")
    return value


class Prohibition(BaseModel):
    """What the recipient must not do (under its constraints)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str
    constraint: list[Constraint] = Field(default_factory=list)

    _action = field_validator("action")(_known_action)


class Permission(Prohibition):
    """What the recipient may do (under its constraints), with duties."""

    duty: list[Duty] = Field(default_factory=list)


class UsagePolicy(BaseModel):
    """An ODRL Offer, Set or Agreement on one dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    context: Any = Field(default=None, alias="@context")
    uid: str = Field(alias="@id", min_length=1)
    type: Literal["Offer", "Set", "Agreement"] = Field(default="Offer", alias="@type")
    target: str | None = None
    profile: str | list[str] | None = None
    assigner: str | None = None
    assignee: str | None = None
    timestamp: str | None = None
    conflict: str = "invalid"
    permission: list[Permission] = Field(default_factory=list)
    prohibition: list[Prohibition] = Field(default_factory=list)

    @field_validator("conflict")
    @classmethod
    def _strategy(cls, value: str) -> str:
        if value not in CONFLICT_STRATEGIES:
            raise ValueError(
                f"conflict strategy '{value}' is not accepted (prohibitions always win); "
                f"use one of {', '.join(CONFLICT_STRATEGIES)}"
            )
        return value

    @model_validator(mode="after")
    def _some_rule(self) -> UsagePolicy:
        if not self.permission and not self.prohibition:
            raise ValueError("a policy needs at least one permission or prohibition")
        return self

    def to_json(self, with_target: bool = True) -> dict[str, Any]:
        """Compact JSON-LD (without `@context`); catalogue offers carry no `target`."""
        out = self.model_dump(by_alias=True, exclude_none=True, exclude={"context"})
        out.setdefault("profile", PROFILE)
        for kind in ("permission", "prohibition"):
            rules = [{k: v for k, v in r.items() if v != []} for r in out.pop(kind)]
            if rules:
                out[kind] = rules
        if self.conflict == "invalid":
            out.pop("conflict")
        if not with_target:
            out.pop("target", None)
        return out


def as_offer(policy: UsagePolicy, assigner: str | None = None) -> dict[str, Any]:
    """The policy as a catalogue `Offer` (DSP: no `target`; the dataset is the context), naming
    its assigner (the publisher) when the policy does not."""
    offer = policy.to_json(with_target=False) | {"@type": "Offer"}
    if assigner is not None:
        offer.setdefault("assigner", assigner)
    return offer


def _where(loc: tuple[int | str, ...]) -> str:
    # pydantic's union tags and model names are noise to a steward
    parts = [str(p) for p in loc if p not in ("atomic", "logical", "function-after")]
    return ".".join(p for p in parts if not p.startswith("function-")) or "policy"


def parse_policy(document: Any, target: str | None = None) -> UsagePolicy:
    """Check a policy document against the profile; `target` (if given) must match or is set."""
    if not isinstance(document, dict):
        raise PolicyInvalid(["a policy is a JSON object"])
    if target is not None:
        given = document.get("target")
        if given not in (None, target):
            raise PolicyInvalid([f"target '{given}' is not this dataset ({target})"])
        document = {**document, "target": target}
    try:
        return UsagePolicy.model_validate(document)
    except ValidationError as exc:
        errors = []
        for e in exc.errors():
            msg = str(e["msg"]).removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown term (not in the Gemello ODRL profile)"
            errors.append(f"{_where(e['loc'])}: {msg}")
        raise PolicyInvalid(errors) from None
