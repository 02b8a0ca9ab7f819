"""ODRL policy -> one Rego v1 module per dataset (see docs/decisions/0009-odrl-to-rego.md).

Each atomic constraint becomes a boolean rule (`a1`, `a2`, ...), each logical constraint a rule
over those (`l1`, ...), each permission `perm<i>` and each prohibition `proh<i>`. `result` says
allow (some permission applies, no prohibition does, no problem) and which rules applied;
`explain` names the constraints that failed, which Python turns into sentences.

Only values we generate reach the Rego text: literals are JSON-encoded (Rego strings are JSON
strings), names are our own counters, the package is a digest of the target. Times are turned
into integers (ns since the epoch) here and in the request, so Rego never parses a date.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from policy.odrl import AtomicConstraint, LogicalConstraint, UsagePolicy, number_of, parse_time
from policy.vocabulary import ACTIONS, LEFT_OPERANDS, PURPOSES, narrower

BASE_PACKAGE = "gemello.policy"

OPERATOR_TEXT = {
    "eq": ("is", "is not"),
    "neq": ("is not", "is"),
    "gt": ("is after", "is not after"),
    "gteq": ("is at or after", "is before"),
    "lt": ("is before", "is not before"),
    "lteq": ("is at most", "is above"),
    "isA": ("is a kind of", "is not a kind of"),
    "isAnyOf": ("is one of", "not in"),
    "isAllOf": ("includes all of", "does not include all of"),
    "isNoneOf": ("is none of", "is one of"),
    "isPartOf": ("lies within", "is not within"),
    "hasPart": ("includes", "does not include"),
}
NUMERIC_TEXT = {
    "gt": ("is above", "is not above"),
    "gteq": ("is at least", "is below"),
    "lt": ("is below", "is not below"),
    "lteq": ("is at most", "is above"),
}


def ns(moment: str) -> int:
    """A zoned ISO 8601 date-time as integer nanoseconds since the epoch (UTC)."""
    t = parse_time(moment)
    return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000


def show(value: Any) -> str:
    """A right operand as a person reads it."""
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Atom:
    """One compiled atomic constraint."""

    id: str
    left: str
    operator: str
    right: Any

    @property
    def words(self) -> tuple[str, str]:
        """(holds, fails) phrases for the operator on this operand."""
        kind = LEFT_OPERANDS[self.left].kind
        table = NUMERIC_TEXT if kind in ("count", "number") else OPERATOR_TEXT
        return table.get(self.operator, OPERATOR_TEXT[self.operator])

    @property
    def text(self) -> str:
        """e.g. "purpose is one of [research, public-policy]"."""
        return f"{self.left} {self.words[0]} {show(self.right)}"

    @property
    def fail(self) -> str:
        """e.g. "not in [research, public-policy]"."""
        return f"{self.words[1]} {show(self.right)}"


@dataclass(frozen=True)
class Combined:
    """One compiled logical constraint."""

    id: str
    kind: str
    members: tuple[Atom, ...]

    @property
    def text(self) -> str:
        """e.g. "(purpose is research or recipient is ...)"."""
        joiner = {"and": " and ", "andSequence": " and then ", "or": " or ", "xone": " xor "}
        return "(" + joiner[self.kind].join(m.text for m in self.members) + ")"


Part = Atom | Combined


@dataclass(frozen=True)
class CompiledRule:
    """A permission or prohibition, numbered from 1 as a steward counts."""

    kind: str  # permission | prohibition
    number: int
    action: str
    parts: tuple[Part, ...]
    duties: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """e.g. "permission 2 (aggregate)"."""
        return f"{self.kind} {self.number} ({self.action})"

    @cached_property
    def text(self) -> str:
        """The rule in one line."""
        verb = "may" if self.kind == "permission" else "must not"
        when = " if " + " and ".join(p.text for p in self.parts) if self.parts else ""
        duty = "; duties: " + ", ".join(self.duties) if self.duties else ""
        return f"{self.name}: the recipient {verb} {self.action}{when}{duty}"


@dataclass(frozen=True, eq=False)  # identity: caches key on it
class CompiledPolicy:
    """A policy as a Rego module, plus what is needed to build inputs and read results."""

    target: str
    uid: str
    package: str
    source: str
    rules: tuple[CompiledRule, ...]
    operands: frozenset[str]
    atoms: dict[str, Atom] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def entrypoint(self) -> str:
        """The decision rule, as a bundle entrypoint path."""
        return self.package.replace(".", "/") + "/result"

    @property
    def explain_entrypoint(self) -> str:
        """The rule naming failed constraints."""
        return self.package.replace(".", "/") + "/explain"

    @cached_property
    def time_points(self) -> tuple[int, ...]:
        """Every instant (epoch ns) the policy compares `dateTime` with, sorted."""
        return tuple(sorted({ns(a.right) for a in self.atoms.values() if a.left == "dateTime"}))

    def rule(self, kind: str, number: int) -> CompiledRule:
        """A rule by kind and number."""
        return next(r for r in self.rules if r.kind == kind and r.number == number)


def package_for(target: str) -> str:
    """The Rego package of a dataset's policy: a digest, never the IRI itself."""
    return f"{BASE_PACKAGE}.p_{hashlib.sha256(target.encode()).hexdigest()[:20]}"


def _lit(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _set(values: list[Any]) -> str:
    return "{" + ", ".join(_lit(v) for v in values) + "}"


def _right(atom: AtomicConstraint) -> Any:
    kind = LEFT_OPERANDS[atom.left_operand].kind
    if kind == "datetime":
        return ns(atom.right_operand)
    if kind in ("count", "number"):
        return number_of(atom.right_operand)
    return atom.right_operand


def _expr(atom: Atom, right: Any) -> list[str]:
    """The body of the boolean rule for one atomic constraint."""
    ref = f"input[{_lit(atom.left)}]"
    many = LEFT_OPERANDS[atom.left].kind == "codes"
    op = atom.operator
    if op in ("eq", "neq", "gt", "gteq", "lt", "lteq"):
        sym = {"eq": "==", "neq": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<="}[op]
        return [f"{ref} {sym} {_lit(right)}"]
    if op == "isA":  # the purpose taxonomy, expanded here: the value or anything narrower
        kinds = [p for p in PURPOSES if p == right or PURPOSES[p] == right]
        return [f"{ref} in {_set(kinds)}"]
    values = right if isinstance(right, list) else [right]
    x, r = f"x_{atom.id}", f"r_{atom.id}"  # unique: bodies are inlined side by side
    if not many:
        if op == "isAnyOf":
            return [f"{ref} in {_set(values)}"]
        if op == "isNoneOf":
            return [f"is_string({ref})", f"not {ref} in {_set(values)}"]
        raise AssertionError(op)  # the profile allows no other set operator on one value
    if op == "isAnyOf":
        return [f"some {x} in {ref}", f"{x} in {_set(values)}"]
    if op == "isNoneOf":
        return [f"is_array({ref})", f"every {x} in {ref} {{ not {x} in {_set(values)} }}"]
    if op in ("isAllOf", "hasPart"):
        return [f"is_array({ref})", f"every {r} in {_set(values)} {{ {r} in {ref} }}"]
    # isPartOf. An empty list never arrives: UsageRequest leaves it out as "not stated".
    return [f"is_array({ref})", f"every {x} in {ref} {{ {x} in {_set(values)} }}"]


def _rule(name: str, body: list[str]) -> str:
    if len(body) == 1:
        return f"{name} if {body[0]}\n"
    return f"{name} if {{\n" + "".join(f"\t{line}\n" for line in body) + "}\n"


class _Builder:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.atoms: dict[str, Atom] = {}
        self.bodies: dict[str, list[str]] = {}
        self.n_atoms = 0
        self.n_logical = 0

    def atom(self, c: AtomicConstraint) -> Atom:
        self.n_atoms += 1
        shown = c.right_operand
        if LEFT_OPERANDS[c.left_operand].kind in ("count", "number"):
            shown = number_of(shown)
        a = Atom(f"a{self.n_atoms}", c.left_operand, c.operator, shown)
        self.atoms[a.id] = a
        self.lines.append(f"\n# {a.text}\ndefault {a.id} := false\n")
        self.bodies[a.id] = _expr(a, _right(c))
        self.lines.append(_rule(a.id, self.bodies[a.id]))
        return a

    def part(self, c: AtomicConstraint | LogicalConstraint) -> Part:
        if isinstance(c, AtomicConstraint):
            return self.atom(c)
        members = tuple(self.atom(m) for m in c.members)
        self.n_logical += 1
        part = Combined(f"l{self.n_logical}", c.kind, members)
        ids = [m.id for m in members]
        self.lines.append(f"\n# {part.text}\ndefault {part.id} := false\n")
        if c.kind in ("and", "andSequence"):
            self.lines.append(_rule(part.id, ids))
        elif c.kind == "or":
            self.lines.extend(_rule(part.id, [i]) for i in ids)
        else:
            self.lines.append(
                _rule(part.id, [f"count([x | some x in [{', '.join(ids)}]; x]) == 1"])
            )
        return part


def _stated(part: Part) -> list[str]:
    atoms = part.members if isinstance(part, Combined) else (part,)
    return [f"input[{_lit(left)}]" for left in sorted({a.left for a in atoms})]


def compile_policy(policy: UsagePolicy, target: str) -> CompiledPolicy:
    """Translate one checked policy into a Rego module."""
    package = package_for(target)
    b = _Builder()
    rules: list[CompiledRule] = []
    tail: list[str] = []
    grants: dict[int, tuple[str, list[str]]] = {}  # permission -> (action, inlined body)
    prohibitions: list[tuple[int, str]] = []
    for kind, items in (("permission", policy.permission), ("prohibition", policy.prohibition)):
        for number, item in enumerate(items, start=1):
            parts = tuple(b.part(c) for c in item.constraint)
            duties = tuple(d.action for d in getattr(item, "duty", []))
            rule = CompiledRule(kind, number, item.action, parts, duties)
            rules.append(rule)
            covers = f"input.action in {_set(list(narrower(item.action)))}"
            if kind == "permission":
                tail.append(f"\n# {rule.text}\n")
                # Atomic constraints inlined: one rule lookup each costs more than the test.
                body = [covers]
                for p in parts:
                    body += b.bodies[p.id] if isinstance(p, Atom) else [p.id]
                tail.append(_rule(f"perm{number}", body))
                grants[number] = (item.action, body)
                tail.append(f"permitted contains {number} if perm{number}\n")
            else:
                # Fail closed: a prohibition applies unless stated values refute a constraint.
                tail.append(f"\n# {rule.text}\n")
                tail.append(f"default lift{number} := false\n")
                tail.append(_rule(f"proh{number}", [covers, f"not lift{number}"]))
                for p in parts:
                    tail.append(_rule(f"lift{number}", [*_stated(p), f"not {p.id}"]))
                tail.append(f"prohibited contains {number} if proh{number}\n")
                prohibitions.append((number, item.action))
    perms = [r for r in rules if r.kind == "permission"]
    # The decision inlines each permission's tests and each prohibition's rule: a rule lookup
    # and a set count cost more than the tests themselves (docs/benchmarks.md).
    # A prohibition whose actions cannot overlap the permission's is left out of its branch.

    def unless(action: str) -> list[str]:
        mine = set(narrower(action))
        return [f"not proh{n}" for n, a in prohibitions if mine & set(narrower(a))]

    # `failed` must exist even when no rule has a constraint (`explain` reads it): an empty
    # declaration, as for `permitted` and `prohibited`.
    failed = 'failed contains "" if false\n'
    failed += "".join(f"failed contains {_lit(i)} if not {i}\n" for i in b.atoms)
    failed += "".join(
        f"failed contains {_lit(p.id)} if not {p.id}\n"
        for r in rules
        for p in r.parts
        if isinstance(p, Combined)
    )
    source = (
        f"# Usage policy {policy.uid} on {target}\n"
        "# Generated by policy/compiler.py from the ODRL document; do not edit.\n"
        f"package {package}\n\nimport rego.v1\n"
        + "".join(b.lines)
        + "".join(tail)
        + "\npermitted contains 0 if false\nprohibited contains 0 if false\n"
        + f"\nknown_action if input.action in {_set(list(ACTIONS))}\n"
        + "\ndefault allow := false\n\nallow if {\n\tknown_action\n"
        + "\tcount(permitted) > 0\n\tcount(prohibited) == 0\n}\n"
        + "\n# The decision: the first permission that grants the request, unless a prohibition\n"
        + "# applies; else false. (An unknown action matches no rule, so it cannot be granted;\n"
        + "# `explain` names it.)\n"
        + "default result := false\n\n"
        + (
            "result := "
            + " else := ".join(
                f"[{n}] if {{\n\t" + "\n\t".join(body + unless(action)) + "\n}"
                for n, (action, body) in grants.items()
            )
            + "\n\n"
            if perms
            else ""
        )
        + "problems contains sprintf(\"unknown action '%v' requested\", [input.action]) if {\n"
        + "\tnot known_action\n}\n\n"
        + failed
        + '\nexplain := {\n\t"allow": allow,\n\t"permitted": permitted,\n'
        + '\t"prohibited": prohibited,\n\t"failed": failed,\n\t"problems": problems,\n}\n'
    )
    return CompiledPolicy(
        target=target,
        uid=policy.uid,
        package=package,
        source=source,
        rules=tuple(rules),
        operands=frozenset(b_.left for b_ in b.atoms.values()),
        atoms=b.atoms,
        document=policy.to_json(),
    )


def refusing(target: str, uid: str, problems: list[str], document: Any) -> CompiledPolicy:
    """A stored policy that no longer passes the profile: a module that denies, saying why."""
    package = package_for(target)
    body = "".join(f"problems contains {_lit(p)}\n" for p in problems)
    source = (
        f"# Usage policy {uid} on {target}: refused by the profile, so it denies everything.\n"
        f"package {package}\n\nimport rego.v1\n\n{body}\n"
        'result := {"allow": false, "permitted": set(), "prohibited": set()}\n'
        'explain := {"failed": set(), "problems": problems}\n'
    )
    doc = document if isinstance(document, dict) else {"document": document}
    return CompiledPolicy(target, uid, package, source, (), frozenset(), {}, tuple(problems), doc)


__all__ = ["CompiledPolicy", "compile_policy", "refusing", "package_for", "ns"]


def describe(policy: UsagePolicy, target: str | None = None) -> list[str]:
    """A policy in plain language, one sentence per line (for stewards and auditors)."""
    where = policy.target or target or "(the dataset it is attached to)"
    compiled = compile_policy(policy, where)
    lines = [f"{policy.uid} on {where}"]
    lines += [f"• {rule.text}" for rule in compiled.rules]
    if any(r.kind == "prohibition" for r in compiled.rules):
        lines.append("Prohibitions always win over permissions.")
    lines.append("Anything not permitted is denied.")
    return lines
