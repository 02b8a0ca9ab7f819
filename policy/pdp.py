"""The PolicyDecisionPoint port, its Decision record, and the in-process regopy adapter.

Decisions are data: every evaluation returns a `Decision` with an id, human-readable reasons
and the policy revision it was made under. Undefined or an error from Rego means deny.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol

from regopy import Interpreter

ENTRYPOINT = "gemello/decision/result"


@dataclass(frozen=True)
class Decision:
    """The outcome of one policy evaluation."""

    allow: bool
    decision_id: str
    reasons: tuple[str, ...]
    policy_revision: str
    obligations: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)


class PolicyDecisionPoint(Protocol):
    """Evaluates a usage request (as a JSON-able mapping) to a Decision."""

    @property
    def revision(self) -> str:
        """Identifier of the loaded policy set (changes whenever a policy changes)."""
        ...

    def ready(self) -> bool:
        """True when the engine is loaded and answers a probe request."""
        ...

    def decide(self, request: Mapping[str, Any]) -> Decision:
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


class RegoPDP:
    """In-process PDP on regopy (rego-cpp): compile a bundle once, query its entrypoint."""

    def __init__(self, modules: Mapping[str, str] | None = None) -> None:
        modules = dict(modules or base_modules())
        self._revision = hashlib.sha256(json.dumps(modules, sort_keys=True).encode()).hexdigest()[
            :16
        ]
        builder = Interpreter()
        try:
            for name, source in modules.items():
                builder.add_module(name, source)
            bundle = builder.build(None, [ENTRYPOINT])
        except Exception as exc:  # regopy raises RegoError for parse and compile errors
            raise PolicyCompileError(str(exc)) from exc
        if not bundle.ok():
            raise PolicyCompileError(str(bundle.node()))
        self._bundle = bundle
        self._rego = Interpreter()
        # One interpreter holds one input at a time; requests arrive on a thread pool.
        self._lock = threading.Lock()

    @property
    def revision(self) -> str:
        """Digest of the module sources."""
        return self._revision

    def ready(self) -> bool:
        """The probe is a real evaluation: an empty request must come back as a deny."""
        probe = self.decide({})
        return not probe.allow and bool(probe.reasons)

    def decide(self, request: Mapping[str, Any]) -> Decision:
        """Evaluate the request against the bundle; deny when Rego is undefined or fails."""
        decision_id = str(uuid.uuid4())
        try:
            with self._lock:
                self._rego.set_input(dict(request))
                out = self._rego.query_bundle_entrypoint(self._bundle, ENTRYPOINT)
            if not out.ok():
                return self._deny(decision_id, "policy engine error during evaluation")
            if not out.results or not out.results[0].expressions:
                return self._deny(decision_id, "policy result undefined")
            value = out.results[0].expressions[0]
        except Exception as exc:  # the engine must never turn an error into an allow
            return self._deny(decision_id, f"policy engine error: {exc}")
        if not isinstance(value, Mapping) or value.get("allow") is not True:
            reasons = value.get("reasons", []) if isinstance(value, Mapping) else []
            return self._deny(decision_id, *(reasons or ["policy result undefined"]))
        return Decision(True, decision_id, tuple(value.get("reasons", [])), self._revision)

    def _deny(self, decision_id: str, *reasons: str) -> Decision:
        return Decision(False, decision_id, tuple(sorted(reasons)), self._revision)


def make_pdp(backend: str) -> PolicyDecisionPoint:
    """The PDP adapter named by settings."""
    factories = {"regopy": RegoPDP}
    if backend not in factories:
        raise ValueError(f"unknown PDP backend {backend!r}; known: {sorted(factories)}")
    return factories[backend]()
