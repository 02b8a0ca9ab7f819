"""PDP figures for `gemello bench`: our decisions against a bare regopy bundle query, side by side.

The policy is realistic: an aggregate permission with five constraints (purpose, recipient,
time window end, epsilon per query, spatial scope) and a read prohibition. The bare baseline
is the same test hand-written as one Rego rule, queried the same way (set input, query the
bundle entrypoint) with none of our layer: no compiled policy lookup, no explanation, no
Decision. Rounds interleave the variants so machine noise hits them alike.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from regopy import Interpreter

from policy.pdp import PolicySet, RegoPDP
from policy.request import UsageRequest

TARGET = "urn:gemello:bologna:fbk:dataset:trips"
AREAS = ["101", "102", "103", "201", "202", "203"]
POLICY = {
    "@id": "urn:gemello:bench:policy",
    "permission": [
        {
            "action": "aggregate",
            "constraint": [
                {
                    "leftOperand": "purpose",
                    "operator": "isAnyOf",
                    "rightOperand": ["research", "public-policy"],
                },
                {
                    "leftOperand": "recipient",
                    "operator": "isAnyOf",
                    "rightOperand": ["urn:gemello:bologna:unibo", "urn:gemello:bologna:comune"],
                },
                {
                    "leftOperand": "dateTime",
                    "operator": "lt",
                    "rightOperand": "2030-01-01T00:00:00Z",
                },
                {"leftOperand": "epsilon", "operator": "lteq", "rightOperand": 1.0},
                {"leftOperand": "spatial", "operator": "isPartOf", "rightOperand": AREAS},
            ],
        }
    ],
    "prohibition": [{"action": "read"}],
}
BARE = """package bare
import rego.v1
default allow := false
allow if {
	input.action == "aggregate"
	input.purpose in {"research", "public-policy"}
	input.recipient in {"urn:gemello:bologna:unibo", "urn:gemello:bologna:comune"}
	input.dateTime < 1893456000000000000
	input.epsilon <= 1.0
	every x in input.spatial { x in {"101", "102", "103", "201", "202", "203"} }
}
"""


def _request(purpose: str) -> UsageRequest:
    return UsageRequest(
        TARGET,
        "aggregate",
        datetime.now(UTC),
        purpose=purpose,
        recipient="urn:gemello:bologna:unibo",
        spatial=("101", "202"),
        epsilon=0.5,
    )


def pdp_figures(rounds: int = 40, per_round: int = 100) -> dict[str, dict[str, float]]:
    """Median and p99 (µs) per variant, decisions per second on one core, and build time."""
    policies = PolicySet.from_documents({TARGET: POLICY})
    pdp = RegoPDP(policies)
    allow, deny = _request("research"), _request("commercial")
    if not pdp.decide(allow).allow or pdp.decide(deny).allow:
        raise RuntimeError("the benchmark policy does not decide as designed")
    builder = Interpreter()
    builder.add_module("bare.rego", BARE)
    bundle = builder.build(None, ["bare/allow"])
    bare_rego = Interpreter()
    bare_input = allow.to_input(policies.compiled[TARGET].operands)

    def bare() -> object:
        bare_rego.set_input(bare_input)
        return bare_rego.query_bundle_entrypoint(bundle, "bare/allow").results[0].expressions[0]

    if bare() is not True:
        raise RuntimeError("the bare baseline does not allow the request")
    # Each of these states another epsilon, so its converted input is never reused.
    fresh = (replace(allow, epsilon=0.5 - i * 1e-9) for i in itertools.count())
    variants: dict[str, Callable[[], object]] = {
        "bare regopy bundle query (same test, no Gemello layer)": bare,
        "Gemello decision, allowed": lambda: pdp.decide(allow),
        "Gemello decision, allowed, input never seen before": lambda: pdp.decide(next(fresh)),
        "Gemello decision, denied (with reasons)": lambda: pdp.decide(deny),
    }
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
    out: dict[str, dict[str, float]] = {}
    for name, values in samples.items():
        values.sort()
        out[name] = {
            "median_us": statistics.median(values) * 1e6,
            "p99_us": values[int(len(values) * 0.99)] * 1e6,
            "per_second": len(values) / sum(values),
        }
    builds = []
    for _ in range(7):
        t0 = time.perf_counter()
        RegoPDP(PolicySet.from_documents({TARGET: POLICY}))
        builds.append(time.perf_counter() - t0)
    out["compile policy + build bundle"] = {"median_us": statistics.median(builds) * 1e6}
    return out
