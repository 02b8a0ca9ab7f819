"""OGC API – Processes (`/ogcapi`) against the session's four-connector federation.

- OWSLib, the third-party client GIS tools use, lists the processes, reads `flood-scs-nash`'s
  description, executes it asynchronously with rain x1.3, polls the job and reads the GeoJSON
  results; they are the figures `gemello run` gets for the same scenario.
- Every response of the face validates against the official schemas read from ../shared
  (landing page, conformance, process list and descriptions, status, job list, results and
  exceptions), and the OpenAPI 3.0 definition is a valid OpenAPI 3.0 document.
- Refusals are those of `POST /jobs`, and in the audit log: a model hash a holder's policy
  does not allow, an exhausted budget, a request without a token (401).
- Dismissal stops a running job at its holders, and the console's run page says so.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate as validate_openapi
from owslib.ogcapi.processes import Processes

import models
from connector.gateway import ogc, readable
from connector.gateway.gazetteer import Gazetteer
from tests.clirun import gemello
from tests.e2e.conftest import Federation
from tests.e2e.test_console_journeys import console
from tests.ogc import schemas

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not schemas.available(), reason=f"no OGC schemas at {schemas.SCHEMAS}"),
]
FLOOD = {"purpose": "research", "rain_multiplier": 1.3, "end": "2023-05-07"}


@pytest.fixture(scope="module")
def fed(shared_federation: Federation) -> Federation:
    return shared_federation


def _ogc(fed: Federation, partner: str = "unibo") -> str:
    return fed.url(partner) + "/ogcapi"


def _get(fed: Federation, path: str, token: str | None, partner: str = "unibo",
         **kw: Any) -> httpx.Response:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return fed.client.get(_ogc(fed, partner) + path, headers=headers | kw.pop("headers", {}), **kw)


def _execute(fed: Federation, token: str | None, process: str, inputs: dict[str, Any],
             partner: str = "unibo", sync: bool = False, **kw: Any) -> httpx.Response:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if not sync:
        headers["Prefer"] = "respond-async"
    return fed.client.post(f"{_ogc(fed, partner)}/processes/{process}/execution",
                           json={"inputs": inputs, **kw}, headers=headers, timeout=120)  # fmt: skip


def _finished(fed: Federation, token: str, job_id: str, partner: str = "unibo") -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = _get(fed, f"/jobs/{job_id}", token, partner).json()
        schemas.validate(info, "statusInfo.yaml")
        if info["status"] not in ("accepted", "running"):
            return dict(info)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running")


def _audit(fed: Federation, partner: str, **params: Any) -> list[dict[str, Any]]:
    auditor = fed.user(partner, "auditor", f"ogc-auditor-{partner}")
    resp = fed.call("GET", partner, "/audit/entries", auditor, params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def test_owslib_runs_the_flood_model_as_gemello_run_does(fed: Federation) -> None:
    token = fed.user("unibo", "researcher", "ogc-owslib")
    client = Processes(_ogc(fed), headers={"Authorization": f"Bearer {token}"})
    assert {p["id"] for p in client.processes()} == set(models.MODELS)
    flood = client.process("flood-scs-nash")
    assert flood["version"] == models.get("flood-scs-nash").version
    assert flood["inputs"]["rain_multiplier"]["schema"]["maximum"] == 3
    assert flood["inputs"]["purpose"]["minOccurs"] == 1
    started = client.execute("flood-scs-nash", FLOOD, async_=True)
    assert started["status"] in ("accepted", "running"), started
    assert client.response_headers["Location"].endswith(f"/ogcapi/jobs/{started['jobID']}")
    assert client.response_headers["Preference-Applied"] == "respond-async"
    # OWSLib 0.35 has no job methods: its request helper, which its own methods use, polls
    deadline = time.monotonic() + 120
    status = started
    while status["status"] in ("accepted", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        status = client._request(path=f"jobs/{started['jobID']}")
    assert status["status"] == "successful", status
    results = client._request(path=f"jobs/{started['jobID']}/results")
    areas = results["areas"]["value"]
    assert results["areas"]["mediaType"] == "application/geo+json"
    assert areas["type"] == "FeatureCollection"
    assert len(areas["features"]) == 90
    assert results["provenance"]["href"].endswith(f"/jobs/{started['jobID']}/provenance")

    # the same scenario through `gemello run`
    cli = gemello(
        fed.home, "run", "flood-scs-nash", "--purpose", "research", "--param",
        "rain_multiplier=1.3", "--param", "end=2023-05-07", "--url", fed.url("unibo"),
        "--token", token, "--detach",
    )  # fmt: skip
    assert cli.returncode == 0, cli.stdout + cli.stderr
    job_id = cli.stdout.strip().split()[-1]
    fed.call("GET", "unibo", f"/jobs/{job_id}", token, params={"wait": 30})
    mine = fed.call("GET", "unibo", f"/jobs/{job_id}/result", token).json()
    assert mine["state"] == "succeeded", mine
    reading = readable.read("flood-scs-nash", mine["params"], mine["outputs"])
    rows = {r["code"]: r for r in readable.area_rows(reading, Gazetteer.cached(
        fed.settings("unibo")).areas)}  # fmt: skip
    compared = 0
    for feature in areas["features"]:
        props, row = feature["properties"], rows[feature["id"]]
        assert props["name"] == row["name"]
        assert props["district"] == row["district"]
        for key, value in row.items():
            if "." in key:
                assert props[ogc.field_name(key)] == value, (feature["id"], key)
                compared += 1
    assert compared >= 90 * 3
    assert feature["geometry"]["type"] == "MultiPolygon"
    figures = results["figures"]["value"]
    assert figures["scenario"] == mine["params"]
    assert figures["process"]["hash"] == mine["model_hash"]
    headline = [(h["title"]["en"], h["scenario"]) for h in figures["headline"]]
    assert headline == [(h.label.en, h.scenario) for h in reading.headline]
    assert {f["unit"] for f in figures["fields"].values()} - {""}, figures["fields"]
    assert len(figures["districts"]) == 6


def test_every_response_follows_the_official_schemas(fed: Federation, tmp_path: Path) -> None:
    token = fed.user("unibo", "researcher", "ogc-walker")
    schemas.validate(_get(fed, "", None).json(), "landingPage.yaml")
    conf = _get(fed, "/conformance", None).json()
    schemas.validate(conf, "confClasses.yaml")
    assert {c.rsplit("/", 1)[-1] for c in conf["conformsTo"]} == {
        "core", "ogc-process-description", "json", "oas30", "job-list", "dismiss"}  # fmt: skip
    api = _get(fed, "/api", None)
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    validate_openapi(api.json())  # a valid OpenAPI 3.0 document
    assert api.json()["openapi"].startswith("3.0")
    assert "/ogcapi/processes/{process_id}/execution" in api.json()["paths"]
    schemas.validate(_get(fed, "/processes", None).json(), "processList.yaml")
    for name in models.MODELS:
        schemas.validate(_get(fed, f"/processes/{name}", None).json(), "process.yaml")

    # a synchronous execution answers with the results document
    done = _execute(fed, token, "flood-scs-nash", FLOOD | {"rain_multiplier": 1.1}, sync=True)
    assert done.status_code == 200, done.text
    schemas.validate(done.json(), "results.yaml")
    assert 'rel="http://www.w3.org/ns/prov#has_provenance"' in done.headers["link"]
    raw = _execute(fed, token, "flood-scs-nash", FLOOD, sync=True, response="raw",
                   outputs={"areas": {}})  # fmt: skip
    assert raw.headers["content-type"].startswith("application/geo+json")
    assert raw.json()["type"] == "FeatureCollection"

    # asynchronous: statusInfo, then the job list, the status and the results
    started = _execute(fed, token, "flood-scs-nash", FLOOD)
    assert started.status_code == 201, started.text
    schemas.validate(started.json(), "statusInfo.yaml")
    job_id = started.json()["jobID"]
    assert started.headers["location"] == f"{_ogc(fed)}/jobs/{job_id}"
    info = _finished(fed, token, job_id)
    assert info["status"] == "successful"
    assert info["progress"] == 100
    assert {link["rel"] for link in info["links"]} >= {
        "self", "http://www.opengis.net/def/rel/ogc/1.0/results",
        "http://www.w3.org/ns/prov#has_provenance"}  # fmt: skip
    listed = _get(fed, "/jobs", token, params={"processID": "flood-scs-nash"}).json()
    schemas.validate(listed, "jobList.yaml")
    assert job_id in [j["jobID"] for j in listed["jobs"]]
    assert not _get(fed, "/jobs", token, params={"processID": "energy-5r1c"}).json()["jobs"]
    schemas.validate(_get(fed, f"/jobs/{job_id}/results", token).json(), "results.yaml")
    prov = next(link for link in info["links"] if link["rel"].endswith("has_provenance"))
    assert fed.client.get(prov["href"], headers={"Authorization": f"Bearer {token}"}).json()

    # exceptions: the standard's types where it names them, problem+json, or plain JSON
    def problem(resp: httpx.Response, status: int, kind: str) -> dict[str, Any]:
        assert resp.status_code == status, resp.text
        body = resp.json()
        schemas.validate(body, "exception.yaml")
        assert body["type"].endswith(kind), body
        return dict(body)

    problem(_get(fed, "/processes/weather", None), 404, "no-such-process")
    missing = _get(fed, "/jobs/job-" + "0" * 8 + "-0000-0000-0000-" + "0" * 12, token,
                   headers={"Accept": "application/json"})  # fmt: skip
    problem(missing, 404, "no-such-job")
    assert missing.headers["content-type"] == "application/json"
    someone_else = fed.user("unibo", "researcher", "ogc-other")
    problem(_get(fed, f"/jobs/{job_id}", someone_else), 404, "no-such-job")
    too_wet = problem(_execute(fed, token, "flood-scs-nash", FLOOD | {"rain_multiplier": 9}),
                      422, "model-refused")  # fmt: skip
    assert "rain_multiplier" in too_wet["detail"]
    assert _execute(fed, token, "flood-scs-nash", {}).json()["detail"].startswith(
        "input 'purpose' is required")  # fmt: skip
    by_reference = {"purpose": "research", "rain_multiplier": {"href": "http://example.org/r"}}
    problem(_execute(fed, token, "flood-scs-nash", by_reference), 400, "invalid-input")
    unsigned = _execute(fed, None, "flood-scs-nash", FLOOD)
    problem(unsigned, 401, "unauthenticated")
    assert unsigned.headers["content-type"] == "application/problem+json"
    refused = _audit(fed, "unibo", action="auth.refused")
    assert any(e["target"] == "POST /ogcapi/processes/flood-scs-nash/execution"
               for e in refused), refused[-3:]  # fmt: skip
    auditor = fed.user("unibo", "auditor", "ogc-auditor-unibo")
    problem(_execute(fed, auditor, "flood-scs-nash", FLOOD), 403, "forbidden")

    # a running job: its results are not ready; dismissed, it stops at its holders
    ctm = _execute(fed, token, "mobility-ctm", {"purpose": "research", "hours": 24})
    ctm_id = ctm.json()["jobID"]
    problem(_get(fed, f"/jobs/{ctm_id}/results", token), 404, "result-not-ready")
    dismissed = fed.client.delete(f"{_ogc(fed)}/jobs/{ctm_id}",
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert dismissed.status_code == 200, dismissed.text
    schemas.validate(dismissed.json(), "statusInfo.yaml")
    assert dismissed.json()["status"] == "dismissed"
    assert _get(fed, f"/jobs/{ctm_id}", token).json()["status"] == "dismissed"
    problem(_get(fed, f"/jobs/{ctm_id}/results", token), 409, "job-failed")
    time.sleep(1)  # a late progress write of the stopped job must not bring it back
    assert fed.call("GET", "unibo", f"/jobs/{ctm_id}", token).json()["state"] == "dismissed"
    steward = fed.user("comune", "steward", "ogc-steward")
    deadline = time.monotonic() + 30  # the holder hears of it as soon as it is free to
    while True:
        runs = [r for r in fed.call("GET", "comune", "/compute/runs", steward).json()
                if r["job_id"] == ctm_id]  # fmt: skip
        if all(r["state"] != "running" for r in runs) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert all(r["state"] != "running" for r in runs), runs
    # the console's run page says so, in Italian and English (Chromium, axe, strict CSP)
    with console(fed, "unibo", tmp_path) as c:
        c.sign_in(token)
        c.page.goto(f"{c.url}/console/runs/{ctm_id}")
        c.page.get_by_role("heading", name="Esecuzione annullata").wait_for()
        assert "fermata presso ogni partner" in c.page.inner_text("main")
        c.check("run-dismissed")
        c.page.get_by_role("link", name="English").click()
        c.page.get_by_role("heading", name="Run dismissed").wait_for()
        c.check("run-dismissed-en")
    # a finished job: its results are erased
    gone = fed.client.delete(f"{_ogc(fed)}/jobs/{job_id}",
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert gone.json()["status"] == "dismissed"
    problem(_get(fed, f"/jobs/{job_id}/results", token), 409, "job-failed")
    assert fed.call("GET", "unibo", f"/jobs/{job_id}/result", token).status_code == 409


def test_refusals_are_those_of_post_jobs_and_are_audited(fed: Federation) -> None:
    """A model hash comune's policy does not allow, and a budget fbk's trips have spent."""
    token = fed.user("unibo", "researcher", "ogc-refused")
    policy = {
        "@context": "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
        "@type": "Offer",
        "@id": "urn:gemello:policy:ogc-only-another-model",
        "permission": [{"action": "compute", "constraint": [
            {"leftOperand": "modelHash", "operator": "isAnyOf",
             "rightOperand": ["sha256:" + "2" * 64]}]}],
    }  # fmt: skip
    steward = fed.user("comune", "steward", "ogc-steward")
    # an agreement on comune's building stock first (the run checks the hash at the holder)
    first = _execute(fed, token, "energy-5r1c", {"purpose": "research"}, sync=True)
    assert first.status_code == 200, first.text
    put = fed.call("PUT", "comune", "/policies/building-stock", steward, json=policy)
    assert put.status_code == 200, put.text
    try:
        started = _execute(fed, token, "energy-5r1c", {"purpose": "research"})
        info = _finished(fed, token, started.json()["jobID"])
    finally:
        fed.call("DELETE", "comune", "/policies/building-stock", steward)
    assert info["status"] == "failed", info
    assert "building-stock" in info["message"], info
    assert "modelHash" in info["message"], info
    decisions = fed.call("GET", "comune", "/decisions", steward, params={
        "dataset": "building-stock", "allowed": False, "limit": 20}).json()  # fmt: skip
    assert any(d["input"]["values"].get("modelHash") == models.get("energy-5r1c").hash
               for d in decisions), [d["result"]["reasons"] for d in decisions[:3]]  # fmt: skip
    jobs = _audit(fed, "unibo", correlation=info["jobID"], action="compute.job")
    assert jobs[-1]["outcome"] == "failed"

    # fbk's researcher spends fbk's whole budget on its own trips, then asks again
    fbk = fed.user("fbk", "researcher", "ogc-budget")
    fbk_steward = fed.user("fbk", "steward", "ogc-budget-steward")
    ledger = fed.call("GET", "fbk", "/privacy/budgets", fbk_steward).json()
    org = fed.call("GET", "fbk", "/identity/whoami", fbk).json()["organisation"]
    left = next((b["remaining"] for b in ledger
                 if b["dataset_id"] == "trips" and b["organisation"] == org), 5.0)  # fmt: skip
    try:
        spend = _execute(fed, fbk, "mobility-gravity", {"purpose": "research", "epsilon": left},
                         partner="fbk")  # fmt: skip
        assert _finished(fed, fbk, spend.json()["jobID"], "fbk")["status"] == "successful"
        again = _execute(fed, fbk, "mobility-gravity", {"purpose": "research", "epsilon": 0.5},
                         partner="fbk")  # fmt: skip
        info = _finished(fed, fbk, again.json()["jobID"], "fbk")
        assert info["status"] == "failed", info
        assert "privacy budget of" in info["message"]
        assert "trips" in info["message"]
        charges = _audit(fed, "fbk", action="policy.compute", dataset="trips")
        assert any(e["outcome"] == "denied" and "budget" in e["reason"] for e in charges)
    finally:
        reset = fed.call("POST", "fbk", "/privacy/budgets/acts", fbk_steward, json={
            "dataset_id": "trips", "organisation": org, "kind": "reset",
            "reason": "the OGC refusal test spent the budget on purpose"})  # fmt: skip
        assert reset.status_code == 201, reset.text
