"""The mobility CTM beside SUMO's mesoscopic model (docs/models.md, validation): the same network
and fitted demand, real SUMO from the eclipse-sumo wheel. The night hours run in free flow, where
the two must carry the same flows on the counted arcs; the check fails when SUMO is given twice
the demand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from connector.validation import ctm_sumo
from tests.models.conftest import shared_dir

HOURS = 2  # midnight to 02:00: free flow, a few seconds of SUMO


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[ctm_sumo.Baseline, Path]:
    tables, _synthetic = ctm_sumo.inputs(shared_dir())
    b = ctm_sumo.baseline(tables, {"hours": HOURS})
    folder = tmp_path_factory.mktemp("sumo")
    return b, ctm_sumo.write_network(b, tables["road-graph"], folder)


def test_sumo_carries_the_ctms_flows_on_the_counted_arcs_in_free_flow(
    night: tuple[ctm_sumo.Baseline, Path],
) -> None:
    b, net_file = night
    sumo = ctm_sumo.run_sumo(b, net_file, net_file.parent, HOURS)
    assert sumo.vehicles > 1000
    assert sumo.teleports == 0  # nobody jams at night
    ctm_flow = ctm_sumo.counted(b.flow[:HOURS], b.loops)
    sumo_flow = ctm_sumo.counted(sumo.flow, b.loops)
    # the same expected flows: city-wide within a few per cent, arc by arc GEH < 5 mostly
    assert abs(sumo_flow.sum() / ctm_flow.sum() - 1) < 0.1
    assert (ctm_sumo.geh(sumo_flow, ctm_flow) < ctm_sumo.GEH_PASS).mean() > 0.85
    assert abs(sumo.vkm.sum() / b.vkm[:HOURS].sum() - 1) < 0.1
    # and the comparison with the counts is computed as the field does
    observed = b.loops.mean[:, :HOURS]
    assert 0 < ctm_sumo.pass_rate(sumo_flow, observed) <= 1
    np.testing.assert_allclose(ctm_sumo.geh(np.array([110.0]), np.array([100.0])),
                               np.sqrt(2 * 100 / 210))  # fmt: skip


def test_the_comparison_sees_a_doubled_demand(night: tuple[ctm_sumo.Baseline, Path]) -> None:
    b, net_file = night
    doubled = ctm_sumo.Baseline(**{**b.__dict__, "entering": 2 * b.entering})
    sumo = ctm_sumo.run_sumo(doubled, net_file, net_file.parent, HOURS)
    ctm_flow = ctm_sumo.counted(b.flow[:HOURS], b.loops)
    sumo_flow = ctm_sumo.counted(sumo.flow, b.loops)
    assert sumo_flow.sum() / ctm_flow.sum() > 1.3  # (less than twice: queues at the entries)
    assert (ctm_sumo.geh(sumo_flow, ctm_flow) < ctm_sumo.GEH_PASS).mean() < 0.85


def test_the_comparison_runs_both_junction_models_beside_sumo(
    night: tuple[ctm_sumo.Baseline, Path],
) -> None:
    """`gemello validate mobility-ctm`'s comparison, night hours: the CTM's two junction models
    (decision 0036) carry the same flows in free flow, where no turn is held back, and the
    table shows both beside SUMO."""
    b, _ = night
    tables, _synthetic = ctm_sumo.inputs(shared_dir())
    r = ctm_sumo.compare(tables, HOURS, one_core=True)  # the kernel variant test_kernels uses
    assert r["vkm"]["ctm"] == pytest.approx(b.vkm[:HOURS].sum(), rel=1e-9)  # the model's run
    for h in r["hourly"]:
        assert h["ctm_turns"] == pytest.approx(h["ctm"], rel=1e-6)
        assert h["speed_ctm_turns"] == pytest.approx(h["speed_ctm"], rel=1e-6)
        assert h["sumo"] == pytest.approx(h["ctm"], rel=0.1)
    r["synthetic_inputs"] = []
    table = "\n".join(ctm_sumo.markdown(r))
    assert "| | CTM, shares | CTM, turns | SUMO meso |" in table
    assert "km/h | — | — | — |" in table  # no peak hour in two night hours
    assert len([ln for ln in table.splitlines() if ln.startswith("| 0")]) == HOURS
