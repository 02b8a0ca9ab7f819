"""Contract negotiation and transfer between two real connectors over HTTP (DSP 2025-1).

unibo (consumer) negotiates with cineca (provider): a steward approval through the CLI while the
server runs, a purpose the policy refuses, a steward's rejection, a consumer's termination, a
pull transfer with its short-lived token, a revocation that stops use at once, and a dataset
whose policy prohibits `read`. Every protocol message either side queued is validated against
the official schemas at the end.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from connector.contracts.schemas import RevocationMessage
from connector.federation import (
    READY_TIMEOUT_S,
    RunningConnector,
    federation,
    start_connector,
    stop,
    wait_ready,
)
from connector.settings import Settings, load_settings
from tests.clirun import gemello
from tests.dsp_schemas import dsp_errors

pytestmark = pytest.mark.e2e

APPROVAL_POLICY = {
    "@id": "urn:gemello:cineca:policy:rainfall-approval",
    "permission": [
        {
            "action": "read",
            "constraint": [
                {"leftOperand": "purpose", "operator": "isA", "rightOperand": "research"}
            ],
            "duty": [{"action": "obtainApproval"}],
        }
    ],
}
RESEARCH_ONLY = {
    "@id": "urn:gemello:cineca:policy:temperature-research",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["research"]}
            ],
        }
    ],
}
SCHEMAS = {
    "ContractRequestMessage": "negotiation/contract-request-message-schema.json",
    "ContractAgreementMessage": "negotiation/contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": (
        "negotiation/contract-agreement-verification-message-schema.json"
    ),
    "ContractNegotiationEventMessage": "negotiation/contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": (
        "negotiation/contract-negotiation-termination-message-schema.json"
    ),
    "ContractNegotiation": "negotiation/contract-negotiation-schema.json",
    "TransferRequestMessage": "transfer/transfer-request-message-schema.json",
    "TransferStartMessage": "transfer/transfer-start-message-schema.json",
    "TransferCompletionMessage": "transfer/transfer-completion-message-schema.json",
    "TransferSuspensionMessage": "transfer/transfer-suspension-message-schema.json",
    "TransferTerminationMessage": "transfer/transfer-termination-message-schema.json",
    "TransferProcess": "transfer/transfer-process-schema.json",
}


@dataclass
class Pair:
    home: Path
    provider: RunningConnector
    consumer: RunningConnector
    steward: str  # cineca steward token
    researcher: str  # unibo researcher token
    client: httpx.Client
    conns: list[RunningConnector]  # the federation's list: what is in it is stopped at the end

    def restart_provider(self) -> None:
        """Stop cineca's connector (SIGTERM) and start it again on the same URL and files."""
        old = self.provider
        stop([old])
        new = start_connector(old.settings, self.home, old.log_path.parent, old.url)
        self.conns[self.conns.index(old)] = new
        self.provider = new
        wait_ready(new, self.client, READY_TIMEOUT_S)

    def as_steward(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.steward}"}
        return self.client.request(method, self.provider.url + path, headers=headers, **kw)

    def as_researcher(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.researcher}"}
        return self.client.request(method, self.consumer.url + path, headers=headers, **kw)

    def negotiate(self, dataset: str, purpose: str) -> dict[str, Any]:
        body = {"partner": "cineca", "dataset": dataset, "purpose": purpose}
        resp = self.as_researcher("POST", "/contracts/negotiations", json=body)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def until(
        self,
        fetch: Callable[[], dict[str, Any]],
        done: Callable[[dict[str, Any]], bool],
        what: str,
        timeout: float = 20,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            value = fetch()
            if done(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still {value}\n{self.provider.log_tail()}")
            time.sleep(0.1)

    def consumer_negotiation(self, pid: str) -> dict[str, Any]:
        return dict(self.as_researcher("GET", f"/contracts/negotiations/{pid}").json())

    def consumer_transfer(self, pid: str) -> dict[str, Any]:
        return dict(self.as_researcher("GET", f"/contracts/transfers/{pid}").json())

    def settled(self, pid: str, state: str) -> dict[str, Any]:
        return self.until(
            lambda: self.consumer_negotiation(pid), lambda n: n["state"] == state, state
        )


def _token(home: Path, partner: str, role: str) -> str:
    args = ("user", "add", "--partner", partner, "--role", role, "--name", f"e2e-{role}")
    result = gemello(home, *args, "--token-only")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def pair(fresh_home_module: Callable[..., Path]) -> Iterator[Pair]:
    home = fresh_home_module("contracts")
    settings: list[Settings] = [load_settings(p, home) for p in ("cineca", "unibo", "fbk")]
    steward = _token(home, "cineca", "steward")
    researcher = _token(home, "unibo", "researcher")
    with federation(home, settings) as conns, httpx.Client(timeout=30) as client:
        by = {c.settings.partner: c for c in conns}
        yield Pair(home, by["cineca"], by["unibo"], steward, researcher, client, conns)


def test_policy_set_through_the_api_is_offered_in_the_catalogue(pair: Pair) -> None:
    resp = pair.as_steward("PUT", "/policies/temperature-daily", json=RESEARCH_ONLY)
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 1
    bad = pair.as_steward(
        "PUT",
        "/policies/temperature-daily",
        json={
            "@id": "x",
            "permission": [
                {
                    "action": "read",
                    "constraint": [
                        {"leftOperand": "weather", "operator": "eq", "rightOperand": "sunny"}
                    ],
                }
            ],
        },
    )
    assert bad.status_code == 422
    assert "unknown leftOperand 'weather'" in bad.json()["detail"]
    lines = pair.as_steward("GET", "/policies/temperature-daily/explain").json()
    assert any("research" in line for line in lines)


def test_purpose_the_policy_refuses_terminates_with_the_reason(pair: Pair) -> None:
    started = pair.negotiate("temperature-daily", "commercial")
    ended = pair.settled(started["id"], "TERMINATED")
    assert "purpose 'commercial'" in ended["reason"], ended
    decisions = pair.as_steward(
        "GET", "/decisions", params={"dataset": "temperature-daily", "allowed": False}
    ).json()
    assert decisions
    assert decisions[0]["input"]["values"]["purpose"] == "commercial"
    assert decisions[0]["erased"] == ["/input/subject"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"partner": "cineca", "dataset": "", "purpose": "research"}, 422, "dataset"),
        ({"partner": "cineca", "dataset": "temperature-daily", "purpose": ""}, 422, "purpose"),
        ({"partner": "unibo", "dataset": "sub-catchments", "purpose": "research"}, 400, "is this"),
        ({"partner": "cineca", "dataset": "no-such-data", "purpose": "research"}, 404, "has no"),
        ({"partner": "cineca", "dataset": "a\u001cb", "purpose": "research"}, 422, "dataset"),
        (
            {"partner": "cineca", "dataset": "../../audit?x=1#y", "purpose": "research"},
            404,
            "has no",
        ),
    ],
)
def test_a_negotiation_that_cannot_start_says_why_without_a_server_error(
    pair: Pair, body: dict[str, str], status: int, says: str
) -> None:
    """Found by fuzzing the OpenAPI: an empty dataset and purpose reached the provider, and
    its 404 came back as 502 (a server error); a control character in the dataset made an
    invalid URL (500). Now the consumer refuses what it can check itself, the dataset id is
    one path segment whatever it holds, and a dataset the provider does not have is a 404
    that names it."""
    resp = pair.as_researcher("POST", "/contracts/negotiations", json=body)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert says in resp.json()["detail"]


def test_approval_then_pull_transfer_then_revocation(pair: Pair) -> None:
    assert pair.as_steward("PUT", "/policies/rainfall-daily", json=APPROVAL_POLICY).is_success
    started = pair.negotiate("rainfall-daily", "academic-research")
    pending = pair.until(
        lambda: {"rows": pair.as_steward("GET", "/approvals").json()},
        lambda v: any(r["peer_pid"] == started["id"] for r in v["rows"]),
        "approval listed",
    )
    provider_pid = next(r["id"] for r in pending["rows"] if r["peer_pid"] == started["id"])
    assert pair.consumer_negotiation(started["id"])["state"] == "REQUESTED"
    # The steward approves with the CLI while the server runs; the server delivers.
    approved = gemello(
        pair.home,
        "approvals",
        "approve",
        provider_pid,
        "--partner",
        "cineca",
        "--token",
        pair.steward,
    )
    assert approved.returncode == 0, approved.stderr
    final = pair.settled(started["id"], "FINALIZED")
    agreement = pair.as_researcher("GET", f"/contracts/agreements/{final['agreement_id']}").json()
    assert agreement["document"]["assignee"].endswith("unibo")
    assert agreement["signature"].count(".") == 2

    transfer = pair.as_researcher(
        "POST", "/contracts/transfers", json={"agreement_id": final["agreement_id"]}
    )
    assert transfer.status_code == 201, transfer.text
    pid = transfer.json()["id"]
    started_t = pair.until(
        lambda: pair.consumer_transfer(pid), lambda t: t["state"] == "STARTED", "transfer started"
    )
    props = {p["name"]: p["value"] for p in started_t["data_address"]["endpointProperties"]}
    url = started_t["data_address"]["endpoint"]
    assert pair.client.get(url).status_code == 401
    assert pair.client.get(url, headers={"Authorization": "Bearer gmt_wrong"}).status_code == 403
    data = pair.client.get(url, headers={"Authorization": props["authorization"]})
    assert data.status_code == 200
    table = pq.read_table(io.BytesIO(data.content))
    assert table.num_rows > 1000
    assert "rain_mm" in " ".join(table.column_names)

    # Suspend stops the token; resume issues a new one; completion ends it.
    assert pair.as_researcher("POST", f"/contracts/transfers/{pid}/suspend").is_success
    pair.until(
        lambda: pair.as_steward("GET", f"/contracts/transfers/{started_t['peer_pid']}").json(),
        lambda t: t["state"] == "SUSPENDED",
        "suspended at the provider",
    )
    assert (
        pair.client.get(url, headers={"Authorization": props["authorization"]}).status_code == 403
    )
    assert pair.as_researcher("POST", f"/contracts/transfers/{pid}/resume").is_success
    resumed = pair.until(
        lambda: pair.consumer_transfer(pid),
        lambda t: t["state"] == "STARTED" and t["data_address"] is not None,
        "resumed",
    )
    new_props = {p["name"]: p["value"] for p in resumed["data_address"]["endpointProperties"]}
    assert new_props["authorization"] != props["authorization"]
    assert pair.as_researcher("POST", f"/contracts/transfers/{pid}/complete").is_success
    pair.until(
        lambda: pair.as_steward("GET", f"/contracts/transfers/{resumed['peer_pid']}").json(),
        lambda t: t["state"] == "COMPLETED",
        "completed at the provider",
    )
    assert (
        pair.client.get(url, headers={"Authorization": new_props["authorization"]}).status_code
        == 403
    )

    # Revocation: the next transfer under the agreement is refused with the reason.
    revoked = pair.as_steward(
        "POST",
        f"/contracts/agreements/{final['agreement_id']}/revoke",
        json={"reason": "project ended"},
    )
    assert revoked.status_code == 200, revoked.text
    again = pair.as_researcher(
        "POST", "/contracts/transfers", json={"agreement_id": final["agreement_id"]}
    ).json()
    ended = pair.until(
        lambda: pair.consumer_transfer(again["id"]), lambda t: t["state"] == "TERMINATED", "revoked"
    )
    assert "revoked" in ended["reason"]
    # ...and unibo is blocked from a new agreement on the dataset until the steward lifts it
    blocks = pair.as_steward("GET", "/contracts/blocks").json()
    [block] = [b for b in blocks if b["agreement_id"] == final["agreement_id"]]
    lifted = pair.as_steward(
        "POST", f"/contracts/blocks/{block['id']}/lift", json={"reason": "new data plan"}
    )
    assert lifted.status_code == 200, lifted.text
    assert pair.as_steward("GET", "/contracts/blocks").json() == []


def test_rejection_and_termination(pair: Pair) -> None:
    first = pair.negotiate("rainfall-daily", "research")
    second = pair.negotiate("rainfall-daily", "research")
    rows = pair.until(
        lambda: {"rows": pair.as_steward("GET", "/approvals").json()},
        lambda v: {first["id"], second["id"]} <= {r["peer_pid"] for r in v["rows"]},
        "both pending",
    )["rows"]
    by_peer = {r["peer_pid"]: r["id"] for r in rows}
    resp = pair.as_steward(
        "POST", f"/approvals/{by_peer[first['id']]}/reject", json={"reason": "no data plan"}
    )
    assert resp.status_code == 200, resp.text
    assert "no data plan" in pair.settled(first["id"], "TERMINATED")["reason"]
    again = pair.as_steward("POST", f"/approvals/{by_peer[first['id']]}/approve")
    assert again.status_code == 400
    assert again.json()["type"].endswith("invalid-transition")

    ended = pair.as_researcher(
        "POST", f"/contracts/negotiations/{second['id']}/terminate", json={"reason": "changed plan"}
    )
    assert ended.status_code == 200, ended.text
    pair.until(
        lambda: pair.as_steward("GET", f"/contracts/negotiations/{by_peer[second['id']]}").json(),
        lambda n: n["state"] == "TERMINATED",
        "terminated at the provider",
    )


def test_negotiations_and_queued_messages_survive_a_provider_restart(pair: Pair) -> None:
    kept = pair.negotiate("rainfall-daily", "research")
    dropped = pair.negotiate("rainfall-daily", "research")
    rows = pair.until(
        lambda: {"rows": pair.as_steward("GET", "/approvals").json()},
        lambda v: {kept["id"], dropped["id"]} <= {r["peer_pid"] for r in v["rows"]},
        "both pending",
    )["rows"]
    by_peer = {r["peer_pid"]: r["id"] for r in rows}
    stop([pair.provider])
    # While the provider is down, the consumer ends one negotiation: the message waits in its
    # outbox and is retried until the provider is back.
    ended = pair.as_researcher(
        "POST", f"/contracts/negotiations/{dropped['id']}/terminate", json={"reason": "later"}
    )
    assert ended.status_code == 200, ended.text
    pair.restart_provider()
    approved = pair.as_steward("POST", f"/approvals/{by_peer[kept['id']]}/approve")
    assert approved.status_code == 200, approved.text
    assert pair.settled(kept["id"], "FINALIZED")["agreement_id"]
    pair.until(
        lambda: pair.as_steward("GET", f"/contracts/negotiations/{by_peer[dropped['id']]}").json(),
        lambda n: n["state"] == "TERMINATED",
        "termination delivered after the restart",
        timeout=60,
    )


def test_a_dataset_without_read_is_never_transferred(pair: Pair) -> None:
    # fbk's trips are aggregate-only: agreement yes (aggregate, compute), transfer never.
    body = {"partner": "fbk", "dataset": "trips", "purpose": "research"}
    started = pair.as_researcher("POST", "/contracts/negotiations", json=body).json()
    final = pair.settled(started["id"], "FINALIZED")
    resp = pair.as_researcher(
        "POST", "/contracts/transfers", json={"agreement_id": final["agreement_id"]}
    )
    assert resp.status_code == 201, resp.text
    ended = pair.until(
        lambda: pair.consumer_transfer(resp.json()["id"]),
        lambda t: t["state"] == "TERMINATED",
        "read refused",
    )
    assert "action 'read' is prohibited" in ended["reason"], ended


def test_every_queued_message_validates_against_the_official_schemas(pair: Pair) -> None:
    checked = 0
    for conn in (pair.provider, pair.consumer):
        db = conn.settings.resolved_data_dir / "connector.db"
        rows = sqlite3.connect(db).execute("SELECT body FROM dsp_outbox").fetchall()
        for (raw,) in rows:
            body = json.loads(raw)
            if body["@type"].startswith("gemello:"):  # our extension: DSP has no schema
                RevocationMessage.model_validate(body)
                continue
            assert dsp_errors(body, SCHEMAS[body["@type"]]) == [], body
            checked += 1
    assert checked >= 10
