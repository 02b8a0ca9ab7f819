"""The OPA-engine adapter of the PolicyDecisionPoint port: OPA's own Go Rego engine, in process.

`opa-golib-python-bindings` wraps OPA's Go `rego` package as a C shared library (ctypes). It gives
the same semantics as an OPA server without a binary or a sidecar, so the policy table and the
fail-closed tests run on OPA itself, not only on rego-cpp (decision 0019). The same compiled
modules are installed and queried at the same rule paths as in the other adapters. An error or an
undefined result is a deny, never an allow.

The package declares Python >= 3.14 only because its authors build with it; the wheel is
pure ctypes (py3-none) and runs on 3.11, so `make` installs it with --ignore-requires-python.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from policy.pdp import CompiledPDP, EngineError, PolicyCompileError, PolicySet


def available() -> bool:
    """Whether OPA's engine can be loaded here (the package and its shared library)."""
    try:
        from opa_bindings import OpaEngine

        OpaEngine().close()
    except (ImportError, OSError):
        return False
    return True


class OpaEnginePDP(CompiledPDP):
    """Decisions from OPA's Go engine in this process; one engine per policy revision."""

    def __init__(self, policies: PolicySet | None = None) -> None:
        super().__init__()
        self._engine: Any = None
        self._lock = threading.Lock()
        self.load(policies or PolicySet())

    def _install(self, policies: PolicySet) -> None:
        from opa_bindings import OpaEngine, OpaError

        engine = OpaEngine()
        try:
            for name, source in policies.modules().items():
                engine.add_policy(name, source)
            for entrypoint in policies.entrypoints():  # compile now, not at the first request
                try:
                    engine.eval_document(entrypoint.replace("/", "."), {})
                except OpaError as exc:
                    if exc.code not in ("undefined", "eval_error"):
                        raise
        except OpaError as exc:
            engine.close()
            raise PolicyCompileError(str(exc)) from exc
        with self._lock:
            old, self._engine = self._engine, engine
        if old is not None:
            old.close()

    def _exclusive(self) -> Any:
        return self._lock

    def _query(self, entrypoint: str, value: Mapping[str, Any]) -> Any:
        from opa_bindings import OpaError, OpaUndefinedError

        try:
            return self._engine.eval_document(entrypoint.replace("/", "."), dict(value))
        except OpaUndefinedError as exc:
            raise EngineError("policy result undefined") from exc
        except OpaError as exc:
            raise EngineError(f"policy engine error during evaluation: {exc.message}") from exc
