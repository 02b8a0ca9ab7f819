"""The OPA-server adapter of the PolicyDecisionPoint port (opa-python-client).

The same compiled modules as the in-process adapter are pushed to OPA's policy API, one per
module file, and queried at the same rule paths, so the two adapters cannot disagree on what a
policy means. An unreachable or failing OPA is a deny, never an allow. For a sidecar that loads
the policies as a bundle instead, see deploy/opa/ and `gemello policy bundle`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient

from policy.pdp import CompiledPDP, EngineError, PolicyCompileError, PolicySet

MODULE_PREFIX = "gemello-"


class OpaServerPDP(CompiledPDP):
    """Decisions from an OPA server over its REST API."""

    def __init__(
        self, url: str = "http://127.0.0.1:8181", timeout: float = 2.0, token: str | None = None
    ) -> None:
        super().__init__()
        parts = urlsplit(url)
        self._client = OpaClient(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 8181,
            ssl=parts.scheme == "https",
            timeout=timeout,
            token=token,
            retries=0,
        )
        self._installed: set[str] = set()
        self.load(PolicySet())

    def _install(self, policies: PolicySet) -> None:
        modules = {
            MODULE_PREFIX + name.replace("/", "-"): src for name, src in policies.modules().items()
        }
        try:
            for name, source in modules.items():
                self._client.update_policy_from_string(source, name, rego_compat=False)
            for stale in self._installed - modules.keys():
                self._client.delete_policy(stale)
        except requests.RequestException as exc:
            raise PolicyCompileError(f"OPA server unreachable: {exc}") from exc
        except Exception as exc:  # opa_client raises its own errors for refused modules
            raise PolicyCompileError(f"OPA refused the policy set: {exc}") from exc
        self._installed = set(modules)

    def _query(self, entrypoint: str, value: Mapping[str, Any]) -> Any:
        package, _, rule = entrypoint.rpartition("/")
        try:
            answer = self._client.query_rule(dict(value), package, rule)
        except requests.RequestException as exc:
            raise EngineError(f"policy engine unreachable: {exc}") from exc
        if not isinstance(answer, dict) or "result" not in answer:
            raise EngineError("policy result undefined")
        return answer["result"]

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close_connection()
