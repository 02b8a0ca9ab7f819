"""The PolicyDecisionPoint port, its Decision record, the compiled policy set, and the
in-process regopy adapter (the OPA-server adapter is in policy/opa.py).

Decisions are data: every evaluation returns a `Decision` with an id, human-readable reasons,
obligations and the policy revision it was made under. Anything but an explicit allow from Rego
— undefined, an evaluation error, a malformed result — is a deny.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from regopy import Input, Interpreter

from policy.compiler import Combined, CompiledPolicy, compile_policy, refusing
from policy.odrl import PolicyInvalid, parse_policy
from policy.request import UsageRequest
from policy.vocabulary import DUTIES, narrower

BASE_ENTRYPOINT = "gemello/decision/result"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Decision:
    """The outcome of one policy evaluation."""

    allow: bool
    decision_id: str
    reasons: tuple[str, ...]
    policy_revision: str
    obligations: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    path: str = BASE_ENTRYPOINT
    policy_uid: str | None = None


class PolicyDecisionPoint(Protocol):
    """Evaluates a usage request against the loaded policy set."""

    @property
    def revision(self) -> str:
        """Identifier of the loaded policy set (changes whenever a policy changes)."""
        ...

    @property
    def policies(self) -> PolicySet:
        """The policy set in force."""
        ...

    def load(self, policies: PolicySet) -> None:
        """Put a new policy set in force (built once per revision)."""
        ...

    def ready(self) -> bool:
        """True when the engine is loaded and answers a probe request."""
        ...

    def decide(self, request: UsageRequest) -> Decision:
        """Evaluate a request; never raises, denies on any engine failure."""
        ...


def base_modules() -> dict[str, str]:
    """The Rego modules shipped with Gemello (the fail-closed baseline)."""
    pkg = resources.files("policy") / "rego"
    return {
        p.name: p.read_text() for p in sorted(pkg.iterdir(), key=str) if p.name.endswith(".rego")
    }


class PolicyCompileError(Exception):
    """A Rego module set that does not compile."""


class PolicySet:
    """The compiled policies of one connector, by dataset IRI, and their revision."""

    def __init__(self, compiled: Mapping[str, CompiledPolicy] | None = None) -> None:
        self.compiled = dict(compiled or {})
        modules = self.modules()
        digest = hashlib.sha256(json.dumps(modules, sort_keys=True).encode()).hexdigest()
        self.revision = digest[:16]

    @classmethod
    def from_documents(cls, documents: Mapping[str, Any]) -> PolicySet:
        """Compile stored ODRL documents (target -> document). One that no longer passes the
        profile still becomes a module: one that denies and says why."""
        compiled = {}
        for target, document in documents.items():
            uid = str(document.get("@id", "?")) if isinstance(document, dict) else "?"
            try:
                compiled[target] = compile_policy(parse_policy(document, target), target)
            except PolicyInvalid as exc:
                compiled[target] = refusing(target, uid, exc.errors, document)
        return cls(compiled)

    def modules(self) -> dict[str, str]:
        """Rego sources by file name: the baseline plus one module per policy."""
        out = base_modules()
        for c in self.compiled.values():
            out[c.package.replace(".", "/") + ".rego"] = c.source
        return out

    def entrypoints(self) -> list[str]:
        """Every rule the adapters query."""
        paths = [BASE_ENTRYPOINT]
        for c in self.compiled.values():
            paths += [c.entrypoint, c.explain_entrypoint]
        return paths

    def write_bundle(self, directory: Path) -> Path:
        """The bundle layout OPA loads (`opa run -s -b DIR`): modules and a .manifest."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, source in self.modules().items():
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source)
        manifest = {"revision": self.revision, "roots": ["gemello"]}
        (directory / ".manifest").write_text(json.dumps(manifest))
        return directory


@functools.lru_cache(maxsize=4096)
def _obligations(c: CompiledPolicy, permitted: tuple[int, ...]) -> tuple[Mapping[str, Any], ...]:
    out: list[Mapping[str, Any]] = []
    for number in permitted:
        rule = c.rule("permission", number)
        out += [{"type": "duty", "action": d, "text": DUTIES[d]} for d in rule.duties]
        atoms = [m for p in rule.parts for m in (p.members if isinstance(p, Combined) else (p,))]
        for a in atoms:
            if a.left == "count":
                limit = a.right if a.operator == "lteq" else a.right - 1
                out.append({"type": "use-count", "limit": limit, "text": a.text})
            if a.left == "epsilonTotal":
                out.append(
                    {"type": "epsilon-budget", "total": a.right, "strict": a.operator == "lt"}
                )
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _grant_reasons(c: CompiledPolicy, permitted: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"permitted by {c.rule('permission', n).text}" for n in permitted)


def explain_denial(c: CompiledPolicy, request: UsageRequest, why: Mapping[str, Any]) -> list[str]:
    """Sentences for a denial, from the rules that applied and the constraints that failed."""
    reasons = [str(p) for p in why.get("problems", [])]
    if reasons:
        return reasons
    failed = set(why.get("failed", []))
    prohibited = list(why.get("prohibited", []))
    permitted = list(why.get("permitted", []))
    for number in prohibited:
        reasons.append(
            f"action '{request.action}' is prohibited by {c.rule('prohibition', number).text}"
        )
    if permitted and prohibited:
        strategy = c.document.get("conflict", "invalid")
        reasons.append(
            f"a permission and a prohibition both apply; conflict strategy '{strategy}' denies"
        )
    covering = [
        r for r in c.rules if r.kind == "permission" and request.action in narrower(r.action)
    ]
    if not covering:
        reasons.append(f"no permission grants action '{request.action}' on {c.target}")
    for rule in covering if not permitted else []:
        for part in rule.parts:
            if part.id not in failed:
                continue
            atoms = part.members if isinstance(part, Combined) else (part,)
            missing = [a for a in atoms if a.left not in request.to_input([a.left])]
            if missing:
                reasons += [
                    f"{a.left} not stated in the request ({rule.name} needs {a.text})"
                    for a in missing
                ]
            elif isinstance(part, Combined):
                shown = ", ".join(f"{a.left} '{request.shown(a.left)}'" for a in atoms)
                reasons.append(f"{part.text} does not hold for {shown} ({rule.name})")
            else:
                reasons.append(
                    f"{part.left} '{request.shown(part.left)}' {part.fail} ({rule.name})"
                )
    return reasons or ["policy result undefined"]


def canonical_time(inp: dict[str, Any], points: tuple[int, ...]) -> dict[str, Any]:
    """The input with `dateTime` replaced by one fixed instant of its class: the policy only
    compares the time with `points`, so every instant strictly between two points (or equal to
    one) decides alike. Equal inputs can then share one engine input (RegoPDP caches them),
    and the decision is exactly the one the real instant would get."""
    t = inp.get("dateTime")
    if t is None:
        return inp
    i = bisect.bisect_left(points, t)
    if i < len(points) and points[i] == t:
        same = t
    elif i == 0:
        same = points[0] - 1 if points else 0
    else:
        same = points[i - 1] + 1
    return {**inp, "dateTime": same}


class EngineError(Exception):
    """The engine failed or had no answer; the decision is a deny with this as its reason."""


class CompiledPDP:
    """What both adapters share: pick the policy's entrypoint, query, explain a deny.

    Subclasses install a policy set in their engine and answer one query.
    """

    def __init__(self) -> None:
        self._policies = PolicySet()

    @property
    def revision(self) -> str:
        """The policy set's revision."""
        return self._policies.revision

    @property
    def policies(self) -> PolicySet:
        """The policy set in force."""
        return self._policies

    def load(self, policies: PolicySet) -> None:
        """Install the set in the engine, then put it in force (the old one stays on failure)."""
        self._install(policies)
        self._policies = policies

    def ready(self) -> bool:
        """The probe is a real evaluation: a request on no dataset must come back as a deny."""
        probe = self.decide(UsageRequest("urn:gemello:probe", "use", _EPOCH))
        return not probe.allow and bool(probe.reasons) and "engine" not in probe.reasons[0]

    def _install(self, policies: PolicySet) -> None:
        raise NotImplementedError

    def _query(self, entrypoint: str, value: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def _exclusive(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def decide(self, request: UsageRequest) -> Decision:
        """Evaluate the request; deny when the engine is undefined, fails or says anything but
        an allow."""
        decision_id = str(uuid.uuid4())
        policies = self._policies
        revision = policies.revision
        compiled = policies.compiled.get(request.target)
        path = compiled.entrypoint if compiled is not None else BASE_ENTRYPOINT
        try:
            with self._exclusive():
                if compiled is None:
                    value = self._query(BASE_ENTRYPOINT, {"target": request.target})
                    reasons = value.get("reasons", []) if isinstance(value, Mapping) else []
                    return Decision(
                        False, decision_id, tuple(reasons) or ("policy result undefined",), revision
                    )
                inp = canonical_time(request.to_input(compiled.operands), compiled.time_points)
                result = self._query(compiled.entrypoint, inp)
                why = None if _granted(result) else self._query(compiled.explain_entrypoint, inp)
        except EngineError as exc:
            return Decision(False, decision_id, (str(exc),), revision, path=path)
        except Exception as exc:  # the engine must never turn an error into an allow
            return Decision(
                False, decision_id, (f"policy engine error: {exc}",), revision, path=path
            )
        return decision_from(compiled, request, result, why, decision_id, revision)


class RegoPDP(CompiledPDP):
    """In-process PDP on regopy (rego-cpp): one bundle per policy revision, one entry per policy."""

    INPUT_CACHE = 2048

    def __init__(self, policies: PolicySet | None = None) -> None:
        super().__init__()
        self._bundle: Any = None
        self._rego = Interpreter()
        # Converting a dict to a rego input costs about as much as evaluating the policy; equal
        # inputs (times made canonical) share one converted input.
        self._inputs: dict[tuple[Any, ...], Input] = {}
        # One interpreter holds one input at a time; requests arrive on a thread pool.
        self._lock = threading.Lock()
        self.load(policies or PolicySet())

    def _install(self, policies: PolicySet) -> None:
        builder = Interpreter()
        try:
            for name, source in policies.modules().items():
                builder.add_module(name, source)
            bundle = builder.build(None, policies.entrypoints())
        except Exception as exc:  # regopy raises RegoError for parse and compile errors
            raise PolicyCompileError(str(exc)) from exc
        if not bundle.ok():
            raise PolicyCompileError(str(bundle.node()))
        with self._lock:
            self._bundle = bundle
            self._inputs.clear()

    def _exclusive(self) -> contextlib.AbstractContextManager[Any]:
        return self._lock

    def _input(self, value: Mapping[str, Any]) -> Input:
        key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in value.items())
        cached = self._inputs.get(key)
        if cached is None:
            if len(self._inputs) >= self.INPUT_CACHE:
                self._inputs.clear()
            cached = self._inputs[key] = Input(dict(value))
        return cached

    def _query(self, entrypoint: str, value: Mapping[str, Any]) -> Any:
        self._rego.set_input(self._input(value))
        out = self._rego.query_bundle_entrypoint(self._bundle, entrypoint)
        if not out.ok():
            raise EngineError("policy engine error during evaluation")
        if not out.results or not out.results[0].expressions:
            raise EngineError("policy result undefined")
        return out.results[0].expressions[0]


def _granted(result: Any) -> bool:
    return (
        isinstance(result, list)
        and bool(result)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in result)
    )


def decision_from(
    compiled: CompiledPolicy,
    request: UsageRequest,
    result: Any,
    why: Any,
    decision_id: str,
    revision: str,
) -> Decision:
    """Turn the engine's answer into a Decision (shared by the adapters).

    `result` is the list of permissions that grant the request (an allow) or anything else (a
    deny); `why` is the explain document, fetched only for a deny.
    """
    path, uid = compiled.entrypoint, compiled.uid
    if _granted(result):
        permitted = tuple(sorted(result))
        reasons = _grant_reasons(compiled, permitted)
        obligations = _obligations(compiled, permitted)
        return Decision(True, decision_id, reasons, revision, obligations, path, uid)
    if not isinstance(why, Mapping):
        reasons = ("policy result undefined",)
    else:
        reasons = tuple(explain_denial(compiled, request, why))
    return Decision(False, decision_id, reasons, revision, path=path, policy_uid=uid)


def make_pdp(backend: str, **options: Any) -> PolicyDecisionPoint:
    """The PDP adapter named by settings."""
    if backend == "regopy":
        return RegoPDP()
    if backend == "opa":
        from policy.opa import OpaServerPDP

        return OpaServerPDP(**options)
    if backend == "opa-engine":
        from policy.opa_engine import OpaEnginePDP

        return OpaEnginePDP()
    raise ValueError(f"unknown PDP backend {backend!r}; known: ['opa', 'opa-engine', 'regopy']")
