"""`POST /compute/runs` on fbk's connector (the compute layer's holder side, here with the
privacy fixtures it shares): another member's gateway runs a model stage on the
synthetic trips. The run is decided by the policy with the model hash, charged to the caller's
privacy budget, noised, signed; refusals are problem+json that say why."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest

from connector.compute import wire
from connector.identity.keys import KeyFileSigner, verify_detached
from connector.settings import Settings
from models import get
from tests.conftest import peer_headers

pytestmark = pytest.mark.anyio
GRAVITY = get("mobility-gravity")


def _centroids() -> dict[str, Any]:
    lat = 44.45 + np.arange(90) / 900
    lon = 11.28 + (np.arange(90) % 9) / 60
    return wire.encode_value({"lat": lat, "lon": lon})


def _body(agreement: str, **over: Any) -> dict[str, Any]:
    return {
        "run_id": f"job-test:{uuid.uuid4()}:flows:fbk",
        "job_id": "job-test-0001",
        "model": GRAVITY.name,
        "model_hash": GRAVITY.hash,
        "stage": "flows",
        "params": {},
        "context": _centroids(),
        "agreements": {"trips": agreement},
        "epsilon": 1.0,
    } | over


def _exact_origins(s: Settings) -> np.ndarray:
    """Trips per origin area as the holder counts them: at most 10 trips a person."""
    import pyarrow.parquet as pq

    from connector.compute.executor import limit_contributions

    trips = pq.read_table(s.resolved_data_dir / "tables" / "trips.parquet")
    kept = limit_contributions(trips, "person_id", 10)
    codes = kept.column("origin_area").to_numpy()
    return np.bincount(codes - 1, minlength=90)[:90].astype(float)


async def _start(fbk: httpx.AsyncClient, s: Settings, body: dict[str, Any]) -> httpx.Response:
    return await fbk.post("/compute/runs", json=body, headers=peer_headers(s.home, "unibo", "fbk"))


async def _wait(fbk: httpx.AsyncClient, s: Settings, run_id: str) -> dict[str, Any]:
    for _ in range(200):
        resp = await fbk.get(
            f"/compute/runs/{run_id}", headers=peer_headers(s.home, "unibo", "fbk")
        )
        assert resp.status_code == 200, resp.text
        if resp.json()["state"] != "running":
            return dict(resp.json())
        await asyncio.sleep(0.05)
    raise AssertionError("the run never finished")


async def test_a_member_gets_a_noisy_signed_partial(
    fbk: httpx.AsyncClient, fbk_settings: Settings, grant: Callable[..., str]
) -> None:
    body = _body(grant())
    started = await _start(fbk, fbk_settings, body)
    assert started.status_code == 202, started.text
    run = await _wait(fbk, fbk_settings, body["run_id"])
    assert run["state"] == "succeeded", run["error"]
    envelope = run["result"]
    # signed by fbk's key over the digest of the body
    _kid, key = KeyFileSigner(fbk_settings.resolved_data_dir).active_key()
    verify_detached(
        envelope["signature"], wire.digest(envelope["body"]).encode(), key, "gemello-partial+jws"
    )
    partial = wire.decode_partial(envelope["body"]["partial"])
    # the origins got noise: not the exact counts, but within a few noise scales of them
    exact = _exact_origins(fbk_settings)
    origins = partial.arrays["origins:trips"]
    assert origins.shape == (90,)
    assert not np.array_equal(origins, exact)
    scale = 10 / (1.0 / 3)  # L1 10 (a person's trips) over a third of epsilon 1
    assert np.abs(origins - exact).max() < 20 * scale
    [privacy] = envelope["body"]["privacy"]
    assert privacy["dataset"] == "trips"
    assert privacy["epsilon"] == 1.0
    assert {m["output"] for m in privacy["mechanisms"]} == {
        "origins:trips",
        "destinations:trips",
        "distance:trips",
    }
    # the sensitivity is scaled by the contribution limit (10 trips a person)
    assert {m["sensitivity"] for m in privacy["mechanisms"]} >= {10.0}
    # no pseudonym or trip id anywhere in what left the connector
    text = str(run)
    assert "person_id" not in text
    assert "T000" not in text


async def test_the_ledger_holds_the_charge_and_repeats_are_idempotent(
    fbk: httpx.AsyncClient,
    fbk_settings: Settings,
    grant: Callable[..., str],
    fbk_tokens: dict[Any, str],
) -> None:
    body = _body(grant())
    first = await _start(fbk, fbk_settings, body)
    assert first.status_code == 202
    await _wait(fbk, fbk_settings, body["run_id"])
    again = await _start(fbk, fbk_settings, body)
    assert again.status_code == 200  # the same run, not a second one
    assert again.json()["state"] == "succeeded"
    from connector.identity.schemas import Role

    steward = {"Authorization": f"Bearer {fbk_tokens[Role.steward]}"}
    budgets = (await fbk.get("/privacy/budgets", headers=steward)).json()
    [trips] = [b for b in budgets if b["dataset_id"] == "trips"]
    assert trips["spent"] == 1.0
    assert trips["reserved"] == 0.0
    runs = (await fbk.get("/compute/runs", headers=steward)).json()
    assert [r["run_id"] for r in runs].count(body["run_id"]) == 1


async def test_a_budget_runs_out(
    fbk: httpx.AsyncClient, fbk_settings: Settings, grant: Callable[..., str]
) -> None:
    agreement = grant()
    for _ in range(2):
        body = _body(agreement, epsilon=2.5)
        assert (await _start(fbk, fbk_settings, body)).status_code == 202
        assert (await _wait(fbk, fbk_settings, body["run_id"]))["state"] == "succeeded"
    refused = await _start(fbk, fbk_settings, _body(agreement, epsilon=0.5))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "has 0 epsilon left" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"model_hash": "sha256:" + "0" * 64}, 403, "is not installed here"),
        ({"stage": "nope"}, 422, "has no stage 'nope'"),
        ({"model": "nope"}, 422, "no model 'nope'"),
        ({"params": {"beta_max": -1}}, 422, "invalid scenario"),
        ({"agreements": {}}, 403, "names no agreement for dataset 'trips'"),
        ({"agreements": {"trips": "urn:gemello:agreement:none"}}, 403, "no agreement"),
        ({"stage": "zones"}, 404, "holds none of statistical-areas"),
    ],
)
async def test_refusals_say_why(
    fbk: httpx.AsyncClient,
    fbk_settings: Settings,
    grant: Callable[..., str],
    change: dict[str, Any],
    status: int,
    says: str,
) -> None:
    resp = await _start(fbk, fbk_settings, _body(grant()) | change)
    assert resp.status_code == status, resp.text
    assert says in resp.json()["detail"]


async def test_a_purpose_the_policy_does_not_allow_is_refused_and_recorded(
    fbk: httpx.AsyncClient,
    fbk_settings: Settings,
    grant: Callable[..., str],
    fbk_tokens: dict[Any, str],
) -> None:
    from connector.identity.schemas import Role

    resp = await _start(fbk, fbk_settings, _body(grant(purpose="commercial")))
    assert resp.status_code == 403
    assert "purpose" in resp.json()["detail"]
    auditor = {"Authorization": f"Bearer {fbk_tokens[Role.auditor]}"}
    decisions = (await fbk.get("/decisions", headers=auditor)).json()
    assert any(d["input"]["action"] == "compute" and not d["result"]["allow"] for d in decisions)


async def test_local_users_cannot_start_runs(
    fbk: httpx.AsyncClient, fbk_tokens: dict[Any, str], grant: Callable[..., str]
) -> None:
    from connector.identity.schemas import Role

    resp = await fbk.post(
        "/compute/runs",
        json=_body(grant()),
        headers={"Authorization": f"Bearer {fbk_tokens[Role.steward]}"},
    )
    assert resp.status_code == 403
    assert "POST /jobs" in resp.json()["detail"]


async def test_a_long_poll_answers_as_the_run_ends(
    fbk: httpx.AsyncClient, fbk_settings: Settings, grant: Callable[..., str]
) -> None:
    """`?wait=` on the start and on GET: one request each, answered with the ended run."""
    body = _body(grant())
    started = await fbk.post(
        "/compute/runs",
        json=body,
        params={"wait": 20},
        headers=peer_headers(fbk_settings.home, "unibo", "fbk"),
    )
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "succeeded"
    assert started.json()["result"]["signature"]
    again = await fbk.get(
        f"/compute/runs/{body['run_id']}",
        params={"wait": 20},
        headers=peer_headers(fbk_settings.home, "unibo", "fbk"),
    )
    assert again.json()["state"] == "succeeded"


async def test_the_runtime_wakes_the_long_polls_of_an_ended_run(tmp_path: Any) -> None:
    """What the long poll waits on: set from the run's thread, only for that run, once."""
    import threading

    from connector.compute.executor import InlineExecutor
    from connector.compute.service import ComputeRuntime

    signer = KeyFileSigner(tmp_path)
    rt = ComputeRuntime(
        tmp_path, InlineExecutor(), InlineExecutor(), 1.0, True, 5, 1.0, signer, "h"
    )
    mine, other = rt.watch("run-a"), rt.watch("run-b")
    threading.Thread(target=rt.ended, args=("run-a",)).start()
    await asyncio.wait_for(mine.wait(), 5)
    assert not other.is_set()
    rt.unwatch("run-b", other)
    rt.ended("run-b")  # nobody watches any more: nothing to wake, no error
    await asyncio.sleep(0.01)
    assert not other.is_set()
    assert rt.watch("run-a") is not mine  # a new watcher after the end starts unset
