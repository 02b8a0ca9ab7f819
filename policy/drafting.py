"""A usage policy as a steward composes it in a form, with no JSON: rules made of constraints
picked from the Gemello profile, turned into the ODRL document `gemello policy set` takes.

A draft holds what the form holds (strings, as picked or typed); `to_document` checks each
field and says where a problem is (`r0` a rule, `r0.c1` one of its constraints), then builds
the document. The connector stores it with the same service the CLI and the API use, so the
stored policy is the same, byte for byte, whichever way the steward wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from policy.odrl import PolicyInvalid, number_of, parse_policy, parse_time
from policy.vocabulary import ACTIONS, DUTIES, LEFT_OPERANDS, SET_OPERATORS

KINDS = ("permission", "prohibition")


@dataclass
class ConstraintDraft:
    """`left operator values`: the values as strings (several for a set operator)."""

    left: str
    operator: str = ""
    values: list[str] = field(default_factory=list)


@dataclass
class RuleDraft:
    """A permission or a prohibition on an action, with its constraints (and duties)."""

    kind: str = "permission"
    action: str = "use"
    constraints: list[ConstraintDraft] = field(default_factory=list)
    duties: list[str] = field(default_factory=list)


@dataclass
class PolicyDraft:
    """The policy's identifier and its rules, in the order the steward wrote them."""

    uid: str
    rules: list[RuleDraft] = field(default_factory=list)


Problems = dict[str, list[str]]


def _shown(left: str, right: Any) -> list[str]:
    kind = LEFT_OPERANDS[left].kind if left in LEFT_OPERANDS else "term"
    values = right if isinstance(right, list) else [right]
    if kind in ("count", "number"):
        return [str(number_of(v)) for v in values]
    if kind == "datetime":
        return [str(v)[:10] if str(v).endswith("T00:00:00Z") else str(v) for v in values]
    return [str(v) for v in values]


def from_document(document: Mapping[str, Any]) -> PolicyDraft | None:
    """A stored policy as a draft to edit; None if it combines constraints (and/or), which
    the form does not compose (the CLI and the API still take such policies)."""
    draft = PolicyDraft(str(document.get("@id") or ""))
    for kind in KINDS:
        for rule in document.get(kind) or []:
            constraints = []
            for c in rule.get("constraint") or []:
                if not isinstance(c, dict) or "leftOperand" not in c:
                    return None
                left = str(c["leftOperand"])
                constraints.append(
                    ConstraintDraft(
                        left, str(c.get("operator", "")), _shown(left, c.get("rightOperand"))
                    )  # fmt: skip
                )
            duties = [str(d.get("action")) for d in rule.get("duty") or [] if isinstance(d, dict)]
            draft.rules.append(RuleDraft(kind, str(rule.get("action")), constraints, duties))
    return draft


def _number(text: str, whole: bool) -> int | float:
    value = number_of(text.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a number is needed")
    if whole and not isinstance(value, int):
        raise ValueError("a whole number is needed")
    return value


def _moment(text: str) -> str:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        date.fromisoformat(text)  # a real day
        return f"{text}T00:00:00Z"
    parse_time(text)
    return text


def _right(c: ConstraintDraft, choices: Mapping[str, Sequence[str]]) -> Any:
    """The right operand a constraint's values make, or ValueError saying what is wrong."""
    operand = LEFT_OPERANDS[c.left]
    values = [v.strip() for v in c.values if v.strip()]
    if not values:
        raise ValueError("choose or type a value")
    known = choices.get(c.left)
    if known is not None:
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ValueError(f"not a value this field offers: {', '.join(unknown)}")
    if c.operator in SET_OPERATORS:
        return values
    if len(values) > 1:
        raise ValueError(f"'{c.operator}' takes one value; choose one, or the operator 'isAnyOf'")
    if operand.kind in ("count", "number"):
        return _number(values[0], whole=operand.kind == "count")
    if operand.kind == "datetime":
        return _moment(values[0])
    return values[0]


def to_document(
    draft: PolicyDraft, choices: Mapping[str, Sequence[str]] | None = None
) -> tuple[dict[str, Any] | None, Problems]:
    """The ODRL document for a draft and every problem, keyed by where it is (`policy`, `r0`,
    `r0.c1`). `choices` lists, per left operand, the values a field may hold (e.g. the members
    of the dataspace); the profile checks the rest. No document while there is a problem."""
    problems: Problems = {}
    choices = choices or {}

    def say(where: str, message: str) -> None:
        problems.setdefault(where, []).append(message)

    if not draft.uid.strip():
        say("policy", "the policy needs an identifier")
    if not draft.rules:
        say("policy", "a policy needs at least one permission or prohibition")
    document: dict[str, Any] = {"@id": draft.uid.strip(), "@type": "Offer"}
    where_of: dict[tuple[str, int], int] = {}
    for i, rule in enumerate(draft.rules):
        if rule.kind not in KINDS:
            say(f"r{i}", f"a rule is a permission or a prohibition, not '{rule.kind}'")
            continue
        if rule.action not in ACTIONS:
            say(f"r{i}", f"unknown action '{rule.action}'")
        out: dict[str, Any] = {"action": rule.action}
        atoms = []
        for j, c in enumerate(rule.constraints):
            if c.left not in LEFT_OPERANDS:
                say(f"r{i}.c{j}", f"unknown condition '{c.left}'")
                continue
            if c.operator not in LEFT_OPERANDS[c.left].operators:
                say(f"r{i}.c{j}", f"choose how to compare ('{c.operator or '—'}' does not apply)")
                continue
            try:
                right = _right(c, choices)
            except ValueError as exc:
                say(f"r{i}.c{j}", str(exc))
                continue
            atoms.append({"leftOperand": c.left, "operator": c.operator, "rightOperand": right})
        if atoms:
            out["constraint"] = atoms
        if rule.duties:
            if rule.kind == "prohibition":
                say(f"r{i}", "a prohibition carries no duties")
            unknown = [d for d in rule.duties if d not in DUTIES]
            if unknown:
                say(f"r{i}", f"unknown duty {', '.join(unknown)}")
            out["duty"] = [{"action": d} for d in rule.duties]
        rules = document.setdefault(rule.kind, [])
        where_of[(rule.kind, len(rules))] = i
        rules.append(out)
    if problems:
        return None, problems
    try:
        parse_policy(document)
    except PolicyInvalid as exc:  # what the form cannot see alone: placed where the profile says
        for error in exc.errors:
            say(_place(error, where_of), error)
        return None, problems
    return document, problems


def _place(error: str, where_of: Mapping[tuple[str, int], int]) -> str:
    found = re.match(r"(permission|prohibition)\.(\d+)(?:\.constraint\.(\d+))?", error)
    if not found:
        return "policy"
    rule = where_of.get((found.group(1), int(found.group(2))))
    if rule is None:
        return "policy"
    return f"r{rule}" + (f".c{found.group(3)}" if found.group(3) is not None else "")
