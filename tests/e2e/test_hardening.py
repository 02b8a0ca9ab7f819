"""Issue 24 on the running federation: the holes found by attacking it stay closed.

1. model outputs on protected data carry noise charged per run, and differencing two runs
   does not single out the buildings (energy) or the people (gravity) that differ;
2. a resumed transfer is decided again (`read`), counted and recorded;
3. a revocation reaches the consumer and blocks a new agreement until a steward lifts it;
4. an epsilon below the ledger's unit is refused, and every charge is rounded up;
5. jobs and negotiations are their owner's;
12. the audit log says what a DP query asked, for which purpose, and who acted.

Every test here failed on the code before the fix (the closing note of issue 24 shows the run).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import models
from connector.compute import wire
from models import energy
from tests.e2e.conftest import Federation

pytestmark = pytest.mark.e2e


def negotiate(fed: Federation, token: str, provider: str, dataset: str, purpose: str) -> Any:
    """unibo asks `provider` for an agreement; the negotiation once it has settled."""
    body = {"partner": provider, "dataset": dataset, "purpose": purpose}
    started = fed.call("POST", "unibo", "/contracts/negotiations", token, json=body)
    assert started.status_code == 201, started.text
    pid = started.json()["id"]
    return fed.until(
        lambda: fed.call("GET", "unibo", f"/contracts/negotiations/{pid}", token).json(),
        lambda n: n["state"] in ("FINALIZED", "TERMINATED"),
        f"negotiation {pid} settled",
    )


def run_job(fed: Federation, token: str, model: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"model": model, "params": params, "purpose": "research"}
    made = fed.call("POST", "unibo", "/jobs", token, json=body)
    assert made.status_code == 202, made.text
    job_id = made.json()["id"]
    job = fed.until(
        lambda: fed.call("GET", "unibo", f"/jobs/{job_id}", token, params={"wait": 20}).json(),
        lambda j: j["state"] != "running",
        f"job {job_id}",
        timeout=300,
    )
    assert job["state"] == "succeeded", job
    return dict(job)


def released(fed: Federation, holder: str, job_id: str, stage: str) -> Any:
    """The signed partial a holder released for one stage of a job, as it left the holder."""
    steward = fed.user(holder, "steward")
    runs = fed.call("GET", holder, "/compute/runs", steward).json()
    [run] = [r for r in runs if r["job_id"] == job_id and r["stage"] == stage]
    return run["result"]["body"], wire.decode_partial(run["result"]["body"]["partial"])


def ledger(fed: Federation, holder: str, dataset: str) -> dict[str, Any]:
    steward = fed.user(holder, "steward")
    budgets = fed.call("GET", holder, "/privacy/budgets", steward).json()
    return next(
        (b for b in budgets if b["dataset_id"] == dataset and b["organisation"].endswith("unibo")),
        {"spent": 0.0},
    )


# --- 1. model outputs on protected data ------------------------------------------------------


def _exact_energy_partial(fed: Federation, params: dict[str, Any]) -> Any:
    """What comune's buildings stage computes before release (no noise): the truth."""
    stock = pq.read_table(fed.home / "var" / "comune" / "tables" / "building-stock.parquet")
    daily = pq.read_table(fed.home / "var" / "cineca" / "tables" / "temperature-daily.parquet")
    scenario = energy.EnergyScenario.model_validate(params)
    weather, buildings = energy.MODEL.stages
    ctx = weather.combine([weather.run_local({"temperature-daily": daily}, scenario, {})],
                          scenario, {})  # fmt: skip
    return buildings.run_local({"building-stock": stock}, scenario, ctx)


def test_a_share_that_picks_a_handful_of_buildings_is_refused(
    shared_federation: Federation,
) -> None:
    """The attack: retrofit_share=0.0002 retrofits ~8 of 40,000 buildings, and in 6 areas the
    released savings were one building's own."""
    fed = shared_federation
    token = fed.user("unibo", "researcher")
    body = {"model": "energy-5r1c", "params": {"retrofit_share": 0.0002}, "purpose": "research"}
    refused = fed.call("POST", "unibo", "/jobs", token, json=body)
    assert refused.status_code == 422, refused.text
    assert "retrofit_share is 0 or a multiple of 0.05" in refused.json()["detail"]
    high = {"model": "energy-5r1c", "params": {"u_wall": 2.9}, "purpose": "research"}
    assert fed.call("POST", "unibo", "/jobs", token, json=high).status_code == 422


def test_energy_outputs_are_noised_charged_and_differencing_isolates_no_building(
    shared_federation: Federation,
) -> None:
    """Two runs whose scenarios differ by the buildings between a 5 % and a 10 % retrofit: the
    difference of what comune released is noise far above any building's own saving, each run
    spends its epsilon on building-stock, and the partial, the ledger and the audit log agree on
    it to the micro-epsilon."""
    fed = shared_federation
    token = fed.user("unibo", "researcher")
    before = ledger(fed, "comune", "building-stock")["spent"]
    scenarios = ({"retrofit_share": 0.05}, {"retrofit_share": 0.1})
    jobs = [run_job(fed, token, "energy-5r1c", s) for s in scenarios]
    parts = [released(fed, "comune", j["id"], "buildings") for j in jobs]
    truths = [_exact_energy_partial(fed, s) for s in scenarios]
    for (body, partial), truth in zip(parts, truths, strict=True):
        [charge] = body["privacy"]
        assert charge["dataset"] == "building-stock"
        assert charge["epsilon"] == 1.0
        assert {m["mechanism"] for m in charge["mechanisms"]} == {"snapping (Laplace)"}
        for name in ("area_base", "area_saving", "profile"):
            assert not np.allclose(partial.arrays[name], truth.arrays[name]), name
        # small noise next to an area's year (~40 GWh), large next to one building (~80 MWh)
        base = np.nansum(truth.arrays["area_base"])
        assert abs(np.nansum(partial.arrays["area_base"]) - base) < 0.02 * base
    # The differencing attack: what the extra buildings saved, per area, from the two releases.
    seen = parts[1][1].arrays["area_saving"].sum(axis=1) - parts[0][1].arrays["area_saving"].sum(1)
    true = truths[1].arrays["area_saving"].sum(axis=1) - truths[0].arrays["area_saving"].sum(1)
    residual = seen - true
    scale = energy.SAVING_CLIP_KWH / (1.0 / 3)  # each output gets a third of epsilon 1
    expected_sd = np.sqrt(2 * 2) * np.sqrt(2) * scale  # two runs, heat+cool, Laplace sd
    assert 0.5 * expected_sd < np.sqrt(np.mean(residual**2)) < 2 * expected_sd
    one_building = np.median(np.abs(true[true != 0]) / np.maximum(1, 0.05 * 444))
    assert np.sqrt(np.mean(residual**2)) > 10 * one_building
    # each run spent its epsilon at comune; ledger, partial and audit log agree
    assert ledger(fed, "comune", "building-stock")["spent"] == pytest.approx(before + 2.0, abs=1e-6)
    steward = fed.user("comune", "steward")
    entries = fed.call(
        "GET", "comune", "/audit/entries", steward,
        params={"action": "privacy.charge", "dataset": "building-stock", "limit": 500},
    ).json()  # fmt: skip
    spent = [e for e in entries if e["outcome"] == "committed" and e["correlation"] in
             {j["id"] for j in jobs}]  # fmt: skip
    assert len(spent) == 2
    assert all(e["details"]["epsilon"] == 1.0 and e["purpose"] == "research" for e in spent)


def test_a_retrofit_sweep_spends_one_epsilon_and_releases_disjoint_steps(
    shared_federation: Federation,
) -> None:
    """Decision 0033: four retrofit shares in one job cost comune's budget one epsilon, not
    four. The sweep's savings leave as the steps between the shares (disjoint sets of
    buildings) with one building's clipped saving as their sensitivity, noised like any
    output."""
    fed = shared_federation
    token = fed.user("unibo", "researcher")
    before = ledger(fed, "comune", "building-stock")["spent"]
    params = {"retrofit_share": 0.1, "sweep": {"parameter": "retrofit_share",
                                               "values": [0.05, 0.1, 0.15, 0.2]}}  # fmt: skip
    job = run_job(fed, token, "energy-5r1c", params)
    assert [r["retrofit_share"] for r in job["summary"]["sweep_curve"]] == [0.05, 0.1, 0.15, 0.2]
    body, partial = released(fed, "comune", job["id"], "buildings")
    [charge] = body["privacy"]
    assert charge["epsilon"] == 1.0
    sweep = next(m for m in charge["mechanisms"] if m["output"] == "sweep_saving")
    assert sweep["sensitivity"] == energy.SAVING_CLIP_KWH
    assert sweep["epsilon"] == pytest.approx(0.25)  # four outputs share the job's epsilon
    truth = _exact_energy_partial(fed, params).arrays["sweep_saving"]
    assert partial.arrays["sweep_saving"].shape == truth.shape == (4, 90, 2)
    residual = partial.arrays["sweep_saving"] - truth
    expected_sd = np.sqrt(2) * energy.SAVING_CLIP_KWH / 0.25
    assert 0.5 * expected_sd < np.sqrt(np.mean(residual**2)) < 2 * expected_sd
    assert ledger(fed, "comune", "building-stock")["spent"] == pytest.approx(before + 1.0, abs=1e-6)
    # (a sweep whose points are not nested is charged their sum: tests/models/test_sweeps.py)


def test_gravity_releases_noised_sums_from_both_od_datasets_and_each_run_is_charged(
    shared_federation: Federation,
) -> None:
    """The second model: fbk's trips (personal) and unibo's own WiFi flows (aggregate-only, which
    left exact before). Two identical runs release different sums (fresh noise each time, so
    averaging costs a run's epsilon per sample), none equal to the exact ones."""
    fed = shared_federation
    token = fed.user("unibo", "researcher", "gravity")
    before = ledger(fed, "fbk", "trips")["spent"]
    jobs = [run_job(fed, token, "mobility-gravity", {}) for _ in range(2)]
    trips = [released(fed, "fbk", j["id"], "flows")[1] for j in jobs]
    wifi = [released(fed, "unibo", j["id"], "flows") for j in jobs]
    exact_trips = (
        models.get("mobility-gravity")
        .stages[1]
        .run_local(
            {"trips": _limited_trips(fed)}, models.get("mobility-gravity").parse({}), _zones(fed)
        )
    )
    names = ("origins:trips", "destinations:trips", "distance:trips")
    for name in names:  # every output is noised in every run
        for run in trips:
            assert not np.allclose(run.arrays[name], exact_trips.arrays[name]), name
    # ... with fresh noise each run. Compared as one release: the snapping mechanism rounds
    # to a grid about as coarse as the noise, so a single value (the total distance) can land
    # on the same grid point twice by chance; the release as a whole cannot.
    released_0, released_1 = (np.concatenate([r.arrays[n].ravel() for n in names]) for r in trips)
    assert not np.allclose(released_0, released_1)
    for body, partial in wifi:
        assert [p["dataset"] for p in body["privacy"]] == ["wifi-od-flows"]
        assert "flows" not in partial.meta["wifi-od-flows"]  # an exact sum of visitors stays home
    assert not np.allclose(wifi[0][1].arrays["origins:wifi-od-flows"],
                           wifi[1][1].arrays["origins:wifi-od-flows"])  # fmt: skip
    assert ledger(fed, "fbk", "trips")["spent"] == pytest.approx(before + 2.0, abs=1e-6)


def _limited_trips(fed: Federation) -> Any:
    from connector.compute.executor import limit_contributions

    trips = pq.read_table(fed.home / "var" / "fbk" / "tables" / "trips.parquet")
    return limit_contributions(trips, "person_id", 10)


def _zones(fed: Federation) -> dict[str, Any]:
    gravity = models.get("mobility-gravity")
    areas = pq.read_table(fed.home / "var" / "comune" / "tables" / "statistical-areas.parquet")
    zones = gravity.stages[0]
    scenario = gravity.parse({})
    return zones.combine([zones.run_local({"statistical-areas": areas}, scenario, {})],
                         scenario, {})  # fmt: skip


# --- 2. a resumed transfer is decided again ----------------------------------------------------


def test_a_resumed_transfer_is_decided_counted_and_recorded(shared_federation: Federation) -> None:
    """Reproduced on cineca's air-quality-2024: start, pull, suspend; the steward narrows `read`
    to purpose `planning`; the resumed transfer pulled the whole table again, unrecorded."""
    fed = shared_federation
    token = fed.user("unibo", "researcher", "transfers")
    final = negotiate(fed, token, "cineca", "air-quality-2024", "research")
    assert final["state"] == "FINALIZED", final
    agreement = final["agreement_id"]
    made = fed.call(
        "POST", "unibo", "/contracts/transfers", token, json={"agreement_id": agreement}
    )
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    started = fed.until(
        lambda: fed.call("GET", "unibo", f"/contracts/transfers/{pid}", token).json(),
        lambda t: t["state"] == "STARTED" and t["data_address"], "started",
    )  # fmt: skip
    props = {p["name"]: p["value"] for p in started["data_address"]["endpointProperties"]}
    pulled = fed.client.get(started["data_address"]["endpoint"],
                            headers={"Authorization": props["authorization"]})  # fmt: skip
    assert pulled.status_code == 200
    assert len(pulled.content) > 10_000
    assert fed.call("POST", "unibo", f"/contracts/transfers/{pid}/suspend", token).is_success
    steward = fed.user("cineca", "steward")
    fed.until(
        lambda: fed.call("GET", "cineca", f"/contracts/transfers/{started['peer_pid']}",
                         steward).json(),
        lambda t: t["state"] == "SUSPENDED", "suspended at cineca",
    )  # fmt: skip
    narrowed = {
        "@id": "urn:gemello:cineca:policy:air-planning-only",
        "permission": [{"action": "read", "constraint": [
            {"leftOperand": "purpose", "operator": "eq", "rightOperand": "planning"}]}],
    }  # fmt: skip
    assert fed.call(
        "PUT", "cineca", "/policies/air-quality-2024", steward, json=narrowed
    ).is_success
    try:
        resumed = fed.call("POST", "unibo", f"/contracts/transfers/{pid}/resume", token)
        assert resumed.status_code == 200, resumed.text
        ended = fed.until(
            lambda: fed.call("GET", "unibo", f"/contracts/transfers/{pid}", token).json(),
            lambda t: t["state"] in ("TERMINATED", "STARTED") and t["state"] != "SUSPENDED",
            "resume answered",
        )
        assert ended["state"] == "TERMINATED", ended
        assert "purpose 'research'" in ended["reason"]
        decisions = fed.call(
            "GET", "cineca", "/decisions", steward,
            params={"dataset": "air-quality-2024", "allowed": False},
        ).json()  # fmt: skip
        assert any(d["labels"]["context"] == "transfer" and d["input"]["action"] == "read"
                   for d in decisions)  # fmt: skip
    finally:
        fed.call("DELETE", "cineca", "/policies/air-quality-2024", steward)


# --- 3. revocation reaches the consumer and blocks a new agreement -----------------------------


def test_a_revocation_reaches_the_consumer_and_blocks_asking_again(
    shared_federation: Federation,
) -> None:
    fed = shared_federation
    token = fed.user("unibo", "researcher", "revoked")
    steward = fed.user("cineca", "steward")
    first = negotiate(fed, token, "cineca", "rainfall-daily", "education")
    assert first["state"] == "FINALIZED", first
    agreement = first["agreement_id"]
    revoked = fed.call("POST", "cineca", f"/contracts/agreements/{agreement}/revoke", steward,
                       json={"reason": "project ended"})  # fmt: skip
    assert revoked.status_code == 200, revoked.text
    # the consumer's copy says revoked, with the provider's reason
    copy = fed.until(
        lambda: fed.call("GET", "unibo", f"/contracts/agreements/{agreement}", token).json(),
        lambda a: a["revoked_at"] is not None, "revocation delivered to unibo",
    )  # fmt: skip
    assert copy["revoke_reason"] == "project ended"
    # asking again at once is refused, naming the block; the decision is on record
    again = negotiate(fed, token, "cineca", "rainfall-daily", "education")
    assert again["state"] == "TERMINATED", again
    assert "blocked" in again["reason"]
    assert "project ended" in again["reason"]
    [block] = [b for b in fed.call("GET", "cineca", "/contracts/blocks", steward).json()
               if b["agreement_id"] == agreement]  # fmt: skip
    assert block["organisation"] == "urn:gemello:bologna:unibo"
    # a steward lifts the block: the organisation may ask again
    lifted = fed.call("POST", "cineca", f"/contracts/blocks/{block['id']}/lift", steward,
                      json={"reason": "new project approved"})  # fmt: skip
    assert lifted.status_code == 200, lifted.text
    assert negotiate(fed, token, "cineca", "rainfall-daily", "education")["state"] == "FINALIZED"


# --- 4. epsilon below the ledger's unit; charges rounded up ------------------------------------


def test_sub_micro_epsilon_is_refused_and_charges_round_up(shared_federation: Federation) -> None:
    fed = shared_federation
    token = fed.user("unibo", "researcher", "ledger")
    final = negotiate(fed, token, "fbk", "trips", "research")
    assert final["state"] == "FINALIZED", final
    query = {"dataset": "trips", "aggregate": "count", "group_by": ["mode"]}

    def ask(epsilon: float) -> Any:
        body = {"agreement_id": final["agreement_id"], "query": query | {"epsilon": epsilon}}
        return fed.call("POST", "unibo", "/privacy/queries", token, json=body)

    free = ask(4e-7)
    assert free.status_code == 422, free.text
    assert "below 1e-06, the ledger's unit" in free.json()["detail"]
    before = ledger(fed, "fbk", "trips")["spent"]
    answered = ask(1.4e-6)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    charged = round((body["budget"]["spent"] - before) * 1e6)
    assert charged == 2  # 1.4 micro-epsilon rounded up, never down to 1
    assert charged * 1e-6 >= 1.4e-6
    steward = fed.user("fbk", "steward")
    entries = fed.call(
        "GET",
        "fbk",
        "/audit/entries",
        steward,
        params={"action": "privacy.charge", "target": body["query_id"]},
    ).json()
    assert [e["details"]["epsilon"] for e in entries if e["outcome"] == "committed"] == [2e-6]


# --- 5. jobs and negotiations belong to their owner ---------------------------------------------


def test_another_researcher_sees_neither_my_jobs_nor_my_negotiations(
    shared_federation: Federation,
) -> None:
    fed = shared_federation
    mine, theirs = fed.user("unibo", "researcher", "ada"), fed.user("unibo", "researcher", "bo")
    job = run_job(fed, mine, "flood-scs-nash", {"end": "2023-05-03"})
    for suffix in ("", "/result", "/report", "/provenance"):
        assert fed.call("GET", "unibo", f"/jobs/{job['id']}{suffix}", mine).status_code == 200
        other = fed.call("GET", "unibo", f"/jobs/{job['id']}{suffix}", theirs)
        assert other.status_code == 404, (suffix, other.text)
    assert job["id"] not in {j["id"] for j in fed.call("GET", "unibo", "/jobs", theirs).json()}
    assert job["id"] in {j["id"] for j in fed.call("GET", "unibo", "/jobs", mine).json()}
    neg = negotiate(fed, mine, "cineca", "temperature-daily", "research")
    assert (
        fed.call("GET", "unibo", f"/contracts/negotiations/{neg['id']}", theirs).status_code == 404
    )
    listed = fed.call("GET", "unibo", "/contracts/negotiations", theirs).json()
    assert neg["id"] not in {n["id"] for n in listed}
    ended = fed.call("POST", "unibo", f"/contracts/negotiations/{neg['id']}/terminate", theirs,
                     json={"reason": "not mine"})  # fmt: skip
    assert ended.status_code == 404


# --- 12. the audit trail says what was asked, and who acted -------------------------------------


def test_the_audit_log_keeps_the_query_shape_the_purpose_and_the_real_actor(
    shared_federation: Federation,
) -> None:
    fed = shared_federation
    token = fed.user("unibo", "researcher", "audited")
    final = negotiate(fed, token, "fbk", "trips", "public-policy")
    assert final["state"] == "FINALIZED", final
    query = {"dataset": "trips", "aggregate": "mean", "column": "distance_km",
             "group_by": ["mode"], "filters": [{"dimension": "purpose", "values": ["work"]}],
             "epsilon": 0.1}  # fmt: skip
    answer = fed.call("POST", "unibo", "/privacy/queries", token,
                      json={"agreement_id": final["agreement_id"], "query": query})  # fmt: skip
    assert answer.status_code == 200, answer.text
    steward = fed.user("fbk", "steward")
    [entry] = [e for e in fed.call("GET", "fbk", "/audit/entries", steward, params={
        "action": "privacy.charge", "target": answer.json()["query_id"]}).json()
        if e["outcome"] == "committed"]  # fmt: skip
    assert entry["purpose"] == "public-policy"
    assert entry["details"]["aggregate"] == "mean"
    assert entry["details"]["column"] == "distance_km"
    assert entry["details"]["group_by"] == ["mode"]
    assert entry["details"]["filters"] == [{"dimension": "purpose", "values": ["work"]}]
    # fbk's connector agreed by itself (its worker): the entry names the connector
    agreed = [e for e in fed.call("GET", "fbk", "/audit/entries", steward, params={
        "action": "contract.negotiation", "correlation": final["agreement_id"]}).json()
        if e["outcome"] == "agreed"]  # fmt: skip
    assert agreed
    assert all(e["actor"] == "connector:fbk" for e in agreed), agreed
