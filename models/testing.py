"""Run a model without servers: centrally on all tables, or as a mock federation of holders.

A model author checks a model with these before it is ever deployed:

    from models.testing import run_central, run_federated
    result = run_federated(MODEL, {"comune": {...}, "unibo": {...}}, {"retrofit_share": 0.3})

`run_federated` follows the gateway's rules (each stage runs at every holder of one of its
datasets, k-of-n, context passed on) but in one process, with no noise and no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from models.base import Context, Model, Partial


def holders_of(
    model: Model, stage: str, holders: Mapping[str, Mapping[str, pa.Table]]
) -> list[str]:
    """The holders that have at least one of a stage's datasets."""
    wanted = set(model.stage(stage).datasets)
    return [h for h, tables in holders.items() if wanted & set(tables)]


def run_federated(
    model: Model,
    holders: Mapping[str, Mapping[str, pa.Table]],
    params: Mapping[str, Any],
) -> Context:
    """The model's result, each stage run holder by holder and combined (mock federation)."""
    scenario = model.parse(params)
    ctx: Context = {}
    for stage in model.stages:
        names = holders_of(model, stage.name, holders)
        if len(names) < stage.min_holders:
            raise RuntimeError(
                f"stage {stage.name}: {len(names)} holder(s), the model needs {stage.min_holders}"
            )
        partials: list[Partial] = []
        for name in names:
            tables = {d: t for d, t in holders[name].items() if d in stage.datasets}
            partials.append(stage.run_local(tables, scenario, ctx))
        ctx = stage.combine(partials, scenario, ctx)
    return ctx


def run_central(model: Model, tables: Mapping[str, pa.Table], params: Mapping[str, Any]) -> Context:
    """The model run in one process on all the tables (the reference for a federated run)."""
    return run_federated(model, {"central": tables}, params)
