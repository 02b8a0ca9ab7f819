"""Federated model runs through four real connectors on loopback.

unibo's researcher asks unibo's connector (the gateway) to run each model; the stages go to
comune, cineca, unibo itself and fbk over signed HTTP. Noise is off in this federation
(`compute_noise = false`) so each result can be compared with the same model run centrally
on the union of the tables; the privacy tests cover the noise. Then the failure paths: a
model hash the policy does not allow, a holder killed mid-job (k of n), a gateway killed and
restarted mid-job (it resumes, and the holder's run is not started twice).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest
from rdflib import URIRef

import models
from connector.compute import wire
from connector.compute.executor import limit_contributions
from connector.federation import RunningConnector, federation, start_connector, wait_ready
from connector.gateway import provenance
from connector.settings import load_settings
from models import common, flood, mobility
from tests.clirun import gemello
from tests.e2e.conftest import add_user
from tests.slurm_cluster import slurm_cluster

pytestmark = pytest.mark.e2e
PARTNERS = ("comune", "cineca", "unibo", "fbk")
SCENARIOS: dict[str, dict[str, Any]] = {
    # with a one-point sweep: a CTM sweep's points come back through the holders as centrally
    "mobility-ctm": {
        "speed_limits": {"street": 30, "minor": 30},
        "hours": 6,
        "sweep": {"parameter": "speed_limits.street", "values": [40]},
    },
    "mobility-gravity": {},
    "energy-5r1c": {"retrofit_share": 0.3, "heating_setpoint": 19},
    "flood-scs-nash": {"rain_multiplier": 1.2, "permeable_share": 0.3},
}


@dataclass
class Fed:
    home: Any
    conns: list[RunningConnector]
    researcher: str
    stewards: dict[str, str]
    client: httpx.Client

    def url(self, partner: str) -> str:
        return next(c.url for c in self.conns if c.settings.partner == partner)

    def conn(self, partner: str) -> RunningConnector:
        return next(c for c in self.conns if c.settings.partner == partner)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.researcher}"}

    def submit(self, model: str, params: dict[str, Any], purpose: str = "research") -> str:
        resp = self.client.post(
            f"{self.url('unibo')}/jobs",
            json={"model": model, "params": params, "purpose": purpose},
            headers=self.auth,
        )
        assert resp.status_code == 202, resp.text
        return str(resp.json()["id"])

    def job(self, job_id: str, wait: float = 0) -> dict[str, Any]:
        resp = self.client.get(
            f"{self.url('unibo')}/jobs/{job_id}",
            headers=self.auth,
            params={"wait": wait},
            timeout=wait + 30,
        )
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def wait(self, job_id: str, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                job = self.job(job_id)
            except httpx.TransportError:  # the gateway is restarting
                time.sleep(0.3)
                continue
            if job["state"] != "running":
                return job
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} still running: {self.job(job_id)}")

    def runs_at(self, partner: str) -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.stewards[partner]}"}
        resp = self.client.get(f"{self.url(partner)}/compute/runs", headers=headers)
        assert resp.status_code == 200, resp.text
        return list(resp.json())

    def kill(self, partner: str) -> None:
        """SIGKILL, as a crash would; the zombie is left for `restart` to reap, which also
        checks that the holder does not mistake a zombie for a live owner of its runs."""
        self.conn(partner).process.send_signal(signal.SIGKILL)

    def restart(self, partner: str, env: dict[str, str] | None = None) -> None:
        old = self.conn(partner)
        new = start_connector(old.settings, self.home, self.home / "var" / "logs", old.url, env)
        self.conns[self.conns.index(old)] = new
        wait_ready(new, self.client, 60)
        old.process.wait(10)
        old.log_file.close()


def _user(home: Any, partner: str, role: str, name: str) -> str:
    made = gemello(home, "user", "add", "--partner", partner, "--role", role, "--name", name,
                   "--token-only")  # fmt: skip
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@pytest.fixture(scope="module")
def fed(fresh_home_module: Callable[..., Path]) -> Iterator[Fed]:
    home = fresh_home_module(
        "compute",
        "compute_noise = false\ncatalog_refresh_seconds = 0\n"
        "audit_checkpoint_seconds = 1\naudit_witness_seconds = 1",
    )
    settings = [load_settings(p, home) for p in PARTNERS]
    researcher = _user(home, "unibo", "researcher", "ada")
    stewards = {p: _user(home, p, "steward", f"steward-{p}") for p in PARTNERS}
    with federation(home, settings) as conns, httpx.Client(timeout=60) as client:
        yield Fed(home, conns, researcher, stewards, client)


def _tables(fed: Fed, model: models.Model) -> tuple[dict[str, Any], dict[str, int]]:
    """Every table the model reads, from the partners' data dirs; their row counts."""
    tables: dict[str, Any] = {}
    for partner in PARTNERS:
        tables_dir = fed.home / "var" / partner / "tables"
        for dataset in model.datasets:
            path = tables_dir / f"{dataset}.parquet"
            if path.exists():
                tables[dataset] = pq.read_table(path)
    if "trips" in tables:  # the holder keeps at most 10 trips a person (contribution bound)
        tables["trips"] = limit_contributions(tables["trips"], "person_id", 10)
    return tables, {d: t.num_rows for d, t in tables.items()}


def _close(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and a and isinstance(a[0], dict):
        for x, y in zip(a, b, strict=True):
            _close(x, y, path)
    elif isinstance(a, list) and a and isinstance(a[0], str):
        assert a == b, path
    elif isinstance(a, int | float | np.ndarray | list):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-9,
                                   atol=1e-9, err_msg=path)  # fmt: skip
    else:
        assert a == b, path


@pytest.mark.parametrize("model_name", list(SCENARIOS))
def test_each_model_equals_its_central_run(fed: Fed, model_name: str) -> None:
    model = models.get(model_name)
    job = fed.wait(fed.submit(model_name, SCENARIOS[model_name]))
    assert job["state"] == "succeeded", job
    result = fed.client.get(f"{fed.url('unibo')}/jobs/{job['id']}/result", headers=fed.auth)
    assert result.status_code == 200
    outputs = wire.decode_value(result.json()["outputs"])
    tables, rows = _tables(fed, model)
    central = models.run_central(model, tables, SCENARIOS[model_name])
    _close(outputs, wire.decode_value(wire.encode_value(central)))
    if model_name == "mobility-ctm":  # the fit to the loop counts comes with every result
        fit = central["calibration"][0]
        assert {k: job["summary"].get(k) for k in mobility.FIT_FIGURES} == {
            k: fit.get(k) for k in mobility.FIT_FIGURES
        }
        assert fit["loops_matched"] >= mobility.MIN_LOOPS  # so the demand was fitted
        assert fit["trips_fitted"] > 0
        assert fit["route_choice_load"] > 0  # and the turning shares came from routes
        assert outputs["sweep_vkm"].shape == (common.N_AREAS, 1)
        assert [r["speed_limits.street"] for r in job["summary"]["sweep_curve"]] == [40]
    # every holder that answered: signed partials of aggregates only, nothing row-level
    partners = {h["partner"] for h in job["holders"]}
    assert (
        partners
        == {
            "mobility-ctm": {"comune"},
            "mobility-gravity": {"comune", "unibo", "fbk"},
            "energy-5r1c": {"cineca", "comune"},
            "flood-scs-nash": {"cineca", "unibo"},
        }[model_name]
    )
    for partner in partners:
        for run in fed.runs_at(partner):
            if run["job_id"] != job["id"]:
                continue
            text = json.dumps(run)
            assert "person_id" not in text
            assert '"B0' not in text  # building ids
            partial = wire.decode_partial(run["result"]["body"]["partial"])
            for name, values in partial.arrays.items():
                assert values.shape[0] not in rows.values() or values.shape[0] <= 90, name
    # provenance: PROV-O that names the model hash, every dataset version and the researcher
    graph = provenance.as_graph(result.json()["provenance"])
    prov = "http://www.w3.org/ns/prov#"
    used = {str(o) for o in graph.objects(None, URIRef(prov + "used"))}
    assert f"urn:gemello:model:{model.hash}" in used
    specialised = {
        str(o) for o in graph.objects(None, URIRef(prov + "specializationOf"))
    }  # the catalogue IRIs of the dataset versions the runs used
    assert {next(d for d in model.datasets if i.endswith(d)) for i in specialised} == set(
        model.datasets
    )
    digests = {str(o) for o in graph.objects(None, URIRef(provenance.GEM + "tableDigest"))}
    assert len(digests) == len(model.datasets)
    assert "unknown" not in digests


def test_a_sweep_is_one_job_with_one_run_per_holder_equal_to_central(fed: Fed) -> None:
    """Decision 0033: a flood sweep over the rain and a Monte Carlo sample of the soils each go
    out as one run per holder and stage, and come back equal to the central run."""
    model = models.get("flood-scs-nash")
    for params in (
        {"end": "2023-05-15", "sweep": {"parameter": "rain_multiplier", "values": [1, 1.3, 1.6]}},
        {"end": "2023-05-15", "rain_multiplier": 1.3,
         "sweep": {"samples": 6, "vary": {"curve_number_shift": [-5, 5]}}},
    ):  # fmt: skip
        job = fed.wait(fed.submit(model.name, params))
        assert job["state"] == "succeeded", job
        result = fed.client.get(f"{fed.url('unibo')}/jobs/{job['id']}/result", headers=fed.auth)
        outputs = wire.decode_value(result.json()["outputs"])
        central = models.run_central(model, _tables(fed, model)[0], params)
        _close(outputs, wire.decode_value(wire.encode_value(central)))
        summary = job["summary"]
        if "sweep_curve" in summary:
            assert [r["rain_multiplier"] for r in summary["sweep_curve"]] == [1, 1.3, 1.6]
        else:
            assert len(summary["uncertainty_bands"]) == 2 + len(flood.OUTLETS)
        for partner in ("cineca", "unibo"):
            runs = [r for r in fed.runs_at(partner) if r["job_id"] == job["id"]]
            assert len(runs) == 1, (partner, runs)  # one decision, one run, for every point
            assert len(runs[0]["decisions"]) == 1


def _audit(fed: Fed, partner: str, **params: Any) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {fed.stewards[partner]}"}
    resp = fed.client.get(f"{fed.url(partner)}/audit/entries", headers=headers, params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def test_a_long_poll_answers_when_the_job_ends(fed: Fed) -> None:
    job_id = fed.submit("flood-scs-nash", {"rain_multiplier": 1.1})
    job = fed.job(job_id, wait=30)  # one request: the gateway answers as the job ends
    assert job["state"] == "succeeded", job
    assert job["finished_at"] is not None


def test_a_job_leaves_correlated_entries_on_every_connector_it_touched(fed: Fed) -> None:
    job = fed.wait(fed.submit("mobility-gravity", {}))
    assert job["state"] == "succeeded"
    # the gateway: the job from start to end
    gateway = _audit(fed, "unibo", correlation=job["id"], action="compute.job")
    assert [e["outcome"] for e in gateway][0] == "running"
    assert gateway[-1]["outcome"] == "succeeded"
    assert gateway[-1]["purpose"] == "research"
    # every holder: its run, started and finished, under the same correlation id
    for partner in ("comune", "unibo", "fbk"):
        runs = _audit(fed, partner, correlation=job["id"], action="compute.run")
        assert [e["outcome"] for e in runs] == ["running", "succeeded"], (partner, runs)
        assert runs[0]["details"]["model_hash"] == job["model_hash"]
        assert runs[-1]["details"]["partial_digest"]
    # fbk's trips are personal data: the epsilon charge is on record, settled
    charges = _audit(fed, "fbk", action="privacy.charge", dataset="trips")
    assert charges


def test_members_witness_each_other_and_every_log_verifies(fed: Fed) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = {
            p: {w["partner"] for w in fed.client.get(
                f"{fed.url(p)}/audit/witnessed",
                headers={"Authorization": f"Bearer {fed.stewards[p]}"},
            ).json()}
            for p in PARTNERS
        }  # fmt: skip
        if all(seen[p] == set(PARTNERS) - {p} for p in PARTNERS):
            break
        time.sleep(0.5)
    assert all(seen[p] == set(PARTNERS) - {p} for p in PARTNERS), seen
    # an auditor asks for a round now (POST /audit/witness); a steward may not
    auditor = add_user(fed.home, "comune", "auditor", "witness-now")
    now = fed.client.post(f"{fed.url('comune')}/audit/witness",
                          headers={"Authorization": f"Bearer {auditor}"})  # fmt: skip
    assert now.status_code == 200, now.text
    assert {o["partner"] for o in now.json()} == set(PARTNERS) - {"comune"}
    assert {o["status"] for o in now.json()} <= {"cosigned", "unchanged"}, now.json()
    assert all(o["size"] > 0 for o in now.json())
    steward = {"Authorization": f"Bearer {fed.stewards['comune']}"}
    refused = fed.client.post(f"{fed.url('comune')}/audit/witness", headers=steward)
    assert refused.status_code == 403
    for partner in PARTNERS:
        done = gemello(fed.home, "audit", "verify", "--partner", partner)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "intact" in done.stdout
    report = fed.home / "audit-report"
    made = gemello(fed.home, "audit", "report", "--partner", "fbk", "-o", str(report))
    assert made.returncode == 0, made.stderr
    assert "<svg" in (report / "report.html").read_text()
    assert "trips" in (report / "accesses.csv").read_text()  # noise is off here: no epsilon
    assert "compute.run" in (report / "runs.csv").read_text()


def test_the_report_opens_in_a_browser(fed: Fed) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_docs_browser import CHROMIUM, CHROMIUM_ARGS

    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine")

    job = fed.wait(fed.submit("energy-5r1c", {"retrofit_share": 0.5}))
    assert job["state"] == "succeeded"
    html = fed.client.get(f"{fed.url('unibo')}/jobs/{job['id']}/report", headers=fed.auth)
    assert html.status_code == 200
    page_file = fed.home / "report.html"
    page_file.write_text(html.text)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(page_file.as_uri())
        assert "energy-5r1c: succeeded" in page.inner_text("h1")
        # monthly demand, savings per area, and the savings map from the areas' outlines
        assert page.locator("figure svg").count() == 3
        assert "areas that save most" in page.inner_text("table.data caption")
        assert "prov:Activity" in page.inner_text("#provenance")
        browser.close()
    turtle = fed.client.get(
        f"{fed.url('unibo')}/jobs/{job['id']}/provenance",
        headers=fed.auth | {"Accept": "text/turtle"},
    )
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert "prov:wasGeneratedBy" in turtle.text


def test_a_model_hash_the_policy_does_not_allow_is_refused_before_it_runs(fed: Fed) -> None:
    energy = models.get("energy-5r1c")
    policy = {
        "@context": "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
        "@type": "Offer",
        "@id": "urn:gemello:policy:only-another-model",
        "permission": [
            {
                "action": "compute",
                "constraint": [
                    {"leftOperand": "modelHash", "operator": "isAnyOf",
                     "rightOperand": ["sha256:" + "1" * 64]},
                ],
            }
        ],
    }  # fmt: skip
    steward = {"Authorization": f"Bearer {fed.stewards['comune']}"}
    url = f"{fed.url('comune')}/policies/building-stock"
    put = fed.client.put(url, json=policy, headers=steward)
    assert put.status_code == 200, put.text
    try:
        job = fed.wait(fed.submit("energy-5r1c", {}))
        assert job["state"] == "failed"
        assert "building-stock" in job["error"]
        assert "modelHash" in job["error"]
        assert not [r for r in fed.runs_at("comune") if r["job_id"] == job["id"]]
        decisions = fed.client.get(
            f"{fed.url('comune')}/decisions", headers=steward, params={"limit": 20}
        )
        assert any(
            d["input"]["values"].get("modelHash") == energy.hash and not d["result"]["allow"]
            for d in decisions.json()
        )
    finally:
        fed.client.delete(url, headers=steward)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"model": "mobility-ctm", "params": {"speed_limits": {"lane": 30}}}, "no road class"),
        ({"model": "mobility-ctm", "params": {"speed_limits": {"street": -5}}}, "5 to 130 km/h"),
        (
            {"model": "energy-5r1c", "params": {"retrofit_archetypes": ["igloo"]}},
            "no archetype 'igloo'",
        ),
        (
            {"model": "energy-5r1c", "params": {"heating_setpoint": 25, "cooling_setpoint": 21}},
            "must be below the cooling set-point",
        ),
        ({"model": "energy-5r1c", "params": {}, "purpose": ""}, "purpose"),
        (
            {"model": "flood-scs-nash", "params": {"rain_multiplierr": 1.2}},
            "rain_multiplierr: Extra inputs are not permitted (did you mean rain_multiplier?)",
        ),
        (
            {"model": "mobility-gravity", "params": {"zz": 1}},
            "zz: Extra inputs are not permitted (known: beta_max)",
        ),
    ],
)
def test_a_scenario_that_makes_no_sense_is_refused_before_any_job(
    fed: Fed, body: dict[str, Any], says: str
) -> None:
    """Refused at the gateway with a problem that says why, not run as a silent no-op (an
    unknown road class used to be ignored) or failed later at a holder."""
    jobs = f"{fed.url('unibo')}/jobs"
    before = len(fed.client.get(jobs, headers=fed.auth, params={"limit": 500}).json())
    resp = fed.client.post(jobs, json={"purpose": "research", **body}, headers=fed.auth)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert says in resp.json()["detail"]
    assert len(fed.client.get(jobs, headers=fed.auth, params={"limit": 500}).json()) == before


def test_a_lane_closure_on_a_street_not_in_the_graph_fails_the_job_saying_so(fed: Fed) -> None:
    job = fed.wait(
        fed.submit("mobility-ctm", {"hours": 1, "closures": [{"street": "VIA CHE NON C'E"}]})
    )
    assert job["state"] == "failed"
    assert "no street named 'VIA CHE NON C'E'" in job["error"]


def test_a_holder_killed_mid_job_leaves_a_partial_result(fed: Fed) -> None:
    """fbk dies while the job runs: the gravity fit comes from unibo's WiFi zones alone
    (k = 1 of 2), marked partial, with fbk's reason."""
    job_id = fed.submit("mobility-gravity", {}, purpose="planning")  # new agreements to make
    fed.kill("fbk")
    job = fed.wait(job_id)
    assert job["state"] == "partial", job
    assert "fbk" in job["error"]
    assert [s["system"] for s in job["summary"]["systems"]] == ["university WiFi zones"]
    fed.restart("fbk")


def test_a_holder_killed_mid_run_fails_the_job_and_its_run(fed: Fed) -> None:
    """comune holds all the buildings: killed while its run computes, the job fails (below k)
    and, restarted, comune reports that run failed instead of leaving it running."""
    job_id = fed.submit("energy-5r1c", {"retrofit_share": 0.2})
    _wait_for_run(fed, job_id, "buildings", "comune")
    fed.kill("comune")
    job = fed.wait(job_id, timeout=120)
    assert job["state"] == "failed"
    assert "stage buildings: 0 of 1 holder(s) answered" in job["error"]
    assert "comune" in job["error"]
    fed.restart("comune")
    [run] = [r for r in fed.runs_at("comune") if r["job_id"] == job_id]
    assert run["state"] == "failed"
    assert "stopped" in run["error"]


def test_a_restarted_gateway_resumes_the_job(fed: Fed) -> None:
    job_id = fed.submit("energy-5r1c", {"retrofit_share": 0.4})
    _wait_for_run(fed, job_id, "buildings", "comune")
    fed.kill("unibo")
    fed.restart("unibo")
    job = fed.wait(job_id)
    assert job["state"] == "succeeded", job
    runs = [r for r in fed.runs_at("comune") if r["job_id"] == job_id]
    assert len(runs) == 1  # the resumed gateway found the run, it did not start another


def _wait_for_run(fed: Fed, job_id: str, stage: str, partner: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(
            r["job_id"] == job_id and r["stage"] == stage and r["state"] == "running"
            for r in fed.runs_at(partner)
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"no running {stage} run at {partner}: {fed.job(job_id)}")


def test_the_cli_runs_a_model_and_saves_its_report(fed: Fed) -> None:
    report = fed.home / "flood.html"
    done = gemello(
        fed.home,
        "run",
        "flood-scs-nash",
        "--purpose",
        "research",
        "--param",
        "rain_multiplier=1.5",
        "--param",
        "start=2023-05-10",
        "--url",
        fed.url("unibo"),
        "--token",
        fed.researcher,
        "--report",
        str(report),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "flood-scs-nash" in done.stdout
    assert "cineca" in done.stdout
    assert "peak_m3s_base_scen" in done.stdout
    assert "<svg" in report.read_text()
    refused = gemello(
        fed.home, "run", "flood-scs-nash", "--purpose", "research", "--param",
        "rain_multiplier=9", "--url", fed.url("unibo"), "--token", fed.researcher,
    )  # fmt: skip
    assert refused.returncode == 3
    assert "rain_multiplier" in refused.stdout + refused.stderr
    # a planner's sweep from the command line: a curve in the terminal and in the report
    swept = gemello(
        fed.home, "run", "flood-scs-nash", "--purpose", "planning", "--param",
        "sweep.parameter=rain_multiplier", "--param", "sweep.start=1", "--param", "sweep.stop=1.5",
        "--param", "sweep.step=0.25", "--param", "end=2023-05-12", "--url", fed.url("unibo"),
        "--token", fed.researcher, "--report", str(report),
    )  # fmt: skip
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert "sweep_curve" in swept.stdout
    assert "Reno" in swept.stdout
    assert "alarm" in swept.stdout
    assert "1.25" in swept.stdout
    assert "Sweep over rain_multiplier: 3 scenarios in one job" in report.read_text()


def _outputs(fed: Fed, job_id: str) -> dict[str, Any]:
    resp = fed.client.get(f"{fed.url('unibo')}/jobs/{job_id}/result", headers=fed.auth)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _stop(fed: Fed, job_id: str) -> None:
    """Dismiss a running job through the OGC face (it cancels every holder's run)."""
    resp = fed.client.delete(f"{fed.url('unibo')}/ogcapi/jobs/{job_id}", headers=fed.auth)
    assert resp.status_code == 200, resp.text


def _reconfigure(fed: Fed, partners: tuple[str, ...], env: dict[str, str] | None) -> None:
    """Stop partners' connectors (SIGTERM, as an operator would) and start them again with
    other settings, side by side."""
    old = [fed.conn(p) for p in partners]
    for conn in old:
        conn.process.terminate()
    for conn in old:
        conn.process.wait(30)
        conn.log_file.close()
    new = [start_connector(c.settings, fed.home, fed.home / "var" / "logs", c.url, env)
           for c in old]  # fmt: skip
    for conn, fresh in zip(old, new, strict=True):
        fed.conns[fed.conns.index(conn)] = fresh
    for fresh in new:
        wait_ready(fresh, fed.client, 60)


def test_heavy_stages_run_as_slurm_jobs_with_the_inline_results(fed: Fed, tmp_path: Path) -> None:
    """Issue 31. comune (buildings, traffic) and unibo (sub-catchments) run their heavy stages
    on a real one-node Slurm cluster through dask-jobqueue: the results equal the model run
    inline on the same tables (noise off here); a cancelled job leaves no Slurm job behind; a
    worker job killed mid-run fails the stage with the reason."""
    scenarios: dict[str, dict[str, Any]] = {"energy-5r1c": {"retrofit_share": 0.3},
                 "flood-scs-nash": {"rain_multiplier": 1.3, "end": "2023-05-10"}}  # fmt: skip
    with slurm_cluster(tmp_path / "slurm") as cluster:
        env = {**cluster.env, "GEMELLO_COMPUTE_EXECUTOR": "slurm",
               "GEMELLO_SLURM_PARTITION": "gemello", "GEMELLO_SLURM_WALLTIME": "00:10:00",
               "GEMELLO_SLURM_MEMORY": "2GiB", "GEMELLO_SLURM_MAX_WORKERS": "2"}  # fmt: skip
        try:
            _reconfigure(fed, ("comune", "unibo"), env)
            submitted = {m: fed.submit(m, p) for m, p in scenarios.items()}  # side by side
            for model_name, params in scenarios.items():
                job = fed.wait(submitted[model_name])
                assert job["state"] == "succeeded", job
                # the same as the inline executor's run: the model on the same tables here
                model = models.get(model_name)
                inline = models.run_central(model, _tables(fed, model)[0], params)
                ours = wire.decode_value(_outputs(fed, job["id"])["outputs"])
                _close(ours, wire.decode_value(wire.encode_value(inline)))
            # the worker jobs went through sbatch, at both holders: their logs name the jobs
            for partner in ("comune", "unibo"):
                logs = sorted((fed.home / "var" / partner / "slurm").glob("gemello-stage-*.err"))
                assert logs, f"no Slurm worker job ran at {partner}"
                assert "Start worker" in logs[0].read_text() or logs[0].stat().st_size, logs[0]
            # cancelled mid-run: the Slurm job running the stage is stopped, none is left
            job_id = fed.submit("mobility-ctm", {"hours": 24})
            _wait_for_run(fed, job_id, "traffic", "comune")
            deadline = time.monotonic() + 60
            while not cluster.squeue() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert cluster.squeue(), "no worker job was submitted for the traffic stage"
            _stop(fed, job_id)
            deadline = time.monotonic() + 30
            while cluster.squeue() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert cluster.squeue() == [], cluster.run("squeue")
            # a worker job killed mid-run: the stage fails, saying so
            job_id = fed.submit("mobility-ctm", {"hours": 24, "speed_limits": {"street": 40}})
            _wait_for_run(fed, job_id, "traffic", "comune")
            deadline = time.monotonic() + 60
            while not cluster.squeue() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # the worker has the task
            for slurm_job in cluster.squeue():
                cluster.run("scancel", slurm_job)
            failed = fed.wait(job_id, timeout=120)
            assert failed["state"] == "failed", failed
            assert "Slurm job" in failed["error"], failed["error"]
            assert "ended before" in failed["error"], failed["error"]
            assert cluster.squeue() == [], cluster.run("squeue")
        finally:  # the holders back to their own executors, for any test after this one
            _reconfigure(fed, ("comune", "unibo"), None)
