"""The Model interface: what a simulation model declares and how a federation runs it.

A model is a sequence of *stages*. Each stage names the datasets it runs on; every holder of one
of them runs the stage's `run_local` next to its data and returns a `Partial` (aggregates only),
and the gateway folds the partials with the stage's `combine`. What a stage combines becomes the
*context* of the next stage (e.g. the hourly weather the building stage needs); the last
stage's combination is the model's result. A model author tests the whole chain against
synthetic tables with `models.testing.run_central` / `run_federated`, without any server.

A model's identity is a content hash of its code (its modules' source) with its name and
version: a policy allows a model by that hash, and a holder runs only the installed model whose
hash the request names.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

Tables = Mapping[str, pa.Table]
Context = dict[str, Any]


@dataclass(frozen=True)
class Noise:
    """How one output array may be released under differential privacy.

    `l1` is the L1 sensitivity of the whole array to one contributor (a person, or a record when
    the dataset has no contribution limit); `bound` a public bound on each |value|.
    """

    l1: float
    bound: float


@dataclass
class Partial:
    """What one holder returns for one stage: named aggregate arrays, never records.

    `support[name]` counts the records behind each cell of `arrays[name]` along its first axis
    (e.g. buildings per area): the holder suppresses cells below the minimum group size before
    release. `meta` carries small public facts (row counts, units).
    """

    arrays: dict[str, np.ndarray]
    support: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """One step of a model: where it runs, what it computes there, how partials fold."""

    name: str
    datasets: tuple[str, ...]
    run_local: Callable[[Tables, BaseModel, Context], Partial]
    combine: Callable[[Sequence[Partial], BaseModel, Context], Context]
    min_holders: int = 1  # k of the k-of-n rule: fewer answering holders fail the job
    # Per output: its sensitivity to one contributor, which the stage guarantees by clipping.
    # Keyed by the output's name, or by `name:dataset` where one output name comes from
    # several datasets of different sensitivity (the full name wins).
    noise: Mapping[str, Noise] = field(default_factory=dict)
    # Outputs that do not depend on the data (e.g. a distance matrix from public centroids):
    # released without noise even from a protected dataset. Anything neither noised nor public
    # is refused by a holder whose dataset is protected (decision 0018).
    public: tuple[str, ...] = ()
    # Keys of `Partial.meta` that are public facts (labels, the published row count): the only
    # ones a holder releases from a protected dataset; nested dicts are filtered the same way.
    public_meta: tuple[str, ...] = ()
    heavy: bool = False  # run in a worker process (the executor's default for heavy runs)
    # Sensitivities that depend on the scenario (a sweep's outputs, decision 0033): the model's
    # own code declares them from the validated scenario, as the holder runs it.
    scenario_noise: Callable[[BaseModel], Mapping[str, Noise]] | None = None

    def noise_for(self, name: str, params: BaseModel | None = None) -> Noise | None:
        """The declared sensitivity of output `name` (`base` or `base:dataset`), if any; with
        `params`, a sensitivity the scenario sets comes first."""
        if params is not None and self.scenario_noise is not None:
            own = self.scenario_noise(params)
            found = own.get(name) or own.get(name.partition(":")[0])
            if found is not None:
                return found
        return self.noise.get(name) or self.noise.get(name.partition(":")[0])

    def is_public(self, name: str) -> bool:
        """Whether output `name` does not depend on the data."""
        return name in self.public or name.partition(":")[0] in self.public


@dataclass(frozen=True)
class Model:
    """A simulation model: name, version, scenario schema, stages, and its code identity."""

    name: str
    version: str
    title: str
    params: type[BaseModel]
    stages: tuple[Stage, ...]
    modules: tuple[str, ...]  # the modules whose source is the model's code
    summary: Callable[[Context], dict[str, Any]] = field(default=lambda _r: {})

    @property
    def hash(self) -> str:
        """`sha256:` of the model's name, version and the source of its modules."""
        return _code_hash(self.name, self.version, self.modules)

    def stage(self, name: str) -> Stage:
        """A stage by name (KeyError when there is none)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"model {self.name} has no stage '{name}'")

    def parse(self, params: Mapping[str, Any]) -> BaseModel:
        """The scenario, validated by the model's schema (pydantic ValidationError otherwise)."""
        return self.params.model_validate(dict(params))

    @property
    def datasets(self) -> tuple[str, ...]:
        """Every dataset the model reads, in stage order."""
        return tuple(d for s in self.stages for d in s.datasets)


@dataclass(frozen=True)
class Example:
    """A scenario worth showing: what the demo runs and the benchmark times for a model. Not the
    model's code (it lives in the registry, so it does not change the model's hash)."""

    what: str  # the scenario in a few words, for people
    params: Mapping[str, Any] = field(default_factory=dict)
    # The variant to run when the tables are synthetic (e.g. no real street names to close).
    synthetic: Example | None = None

    def for_data(self, real: bool) -> Example:
        """This example, or its synthetic variant when the data is not the real one."""
        return self if real or self.synthetic is None else self.synthetic


_HASHES: dict[tuple[str, str, tuple[str, ...]], str] = {}


def _code_hash(name: str, version: str, modules: tuple[str, ...]) -> str:
    key = (name, version, modules)
    if key not in _HASHES:
        digest = hashlib.sha256(f"{name}\n{version}\n".encode())
        for module in sorted(modules):
            digest.update(module.encode() + b"\n")
            digest.update(inspect.getsource(sys.modules[module]).encode())
        _HASHES[key] = "sha256:" + digest.hexdigest()
    return _HASHES[key]
