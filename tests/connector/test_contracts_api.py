"""The DSP negotiation and transfer endpoints of one connector (unibo as provider), in process.

Other members call with real signed tokens; the worker decides in the app's own event loop.
Messages and errors are checked against the official DSP 2025-1 schemas.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connector.identity.schemas import Role
from connector.settings import load_settings
from tests.conftest import bearer, peer_headers
from tests.dsp_schemas import dsp_errors

pytestmark = pytest.mark.anyio
UNIBO = "urn:gemello:bologna:unibo"
CTX = ["https://w3id.org/dspace/2025/1/context.jsonld"]
PURPOSE = "https://w3id.org/gemello/ns#purpose"
BIKES = f"{UNIBO}:dataset:bike-counters"
NEG_ERROR = "negotiation/contract-negotiation-error-schema.json"


def peer(home: Path, partner: str, role: Role = Role.researcher) -> dict[str, str]:
    """A fresh signed token of another member's connector, for unibo."""
    return peer_headers(home, partner, "unibo", role)


def request_message(home: Path, partner: str = "cineca", **over: Any) -> dict[str, Any]:
    url = load_settings(partner, home).port
    body: dict[str, Any] = {
        "@context": CTX,
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:uuid:consumer-1",
        "offer": {"@id": f"{BIKES}:offer:default", "@type": "Offer", "target": BIKES},
        "callbackAddress": f"http://127.0.0.1:{url}/callback",
        PURPOSE: "research",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


async def _request(client: httpx.AsyncClient, home: Path, **over: Any) -> httpx.Response:
    return await client.post(
        "/negotiations/request", json=request_message(home, **over), headers=peer(home, "cineca")
    )


async def _until_state(
    client: httpx.AsyncClient, home: Path, pid: str, state: str
) -> dict[str, Any]:
    for _ in range(100):
        resp = await client.get(f"/negotiations/{pid}", headers=peer(home, "cineca"))
        if resp.json().get("state") == state:
            return dict(resp.json())
        await asyncio.sleep(0.05)
    raise AssertionError(f"negotiation {pid} never reached {state}: {resp.json()}")


async def test_a_request_is_answered_requested_then_agreed_by_the_pdp(
    home: Path, anon_client: httpx.AsyncClient, app: FastAPI
) -> None:
    resp = await _request(anon_client, home)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert dsp_errors(body, "negotiation/contract-negotiation-schema.json") == []
    assert body["state"] == "REQUESTED"
    assert body["consumerPid"] == "urn:uuid:consumer-1"
    agreed = await _until_state(anon_client, home, body["providerPid"], "AGREED")
    assert dsp_errors(agreed, "negotiation/contract-negotiation-schema.json") == []
    # The agreement message waits in the outbox (cineca is not running here).
    from connector.contracts.repository import OutboxRepository
    from connector.storage import session_scope

    with session_scope(app.state.connector.engine) as session:
        queued = OutboxRepository(session).for_process(body["providerPid"])
        messages = [m.body for m in queued]
    assert [m["@type"] for m in messages] == ["ContractAgreementMessage"]
    schema = "negotiation/contract-agreement-message-schema.json"
    assert dsp_errors(messages[0], schema) == []


async def test_unknown_and_other_members_negotiations_are_404(
    home: Path, anon_client: httpx.AsyncClient
) -> None:
    pid = (await _request(anon_client, home)).json()["providerPid"]
    for headers, path in (
        (peer(home, "fbk"), f"/negotiations/{pid}"),
        (peer(home, "cineca"), "/negotiations/urn:gemello:negotiation:nope"),
    ):
        resp = await anon_client.get(path, headers=headers)
        assert resp.status_code == 404, resp.text
        problem = resp.json()
        assert problem["@type"] == "ContractNegotiationError"
        assert dsp_errors(problem, NEG_ERROR) == []
    verify = {
        "@context": CTX,
        "@type": "ContractAgreementVerificationMessage",
        "providerPid": pid,
        "consumerPid": "urn:uuid:consumer-1",
    }
    resp = await anon_client.post(
        f"/negotiations/{pid}/agreement/verification", json=verify, headers=peer(home, "fbk")
    )
    assert resp.status_code == 404


async def test_an_invalid_transition_is_400_naming_the_states(
    home: Path, anon_client: httpx.AsyncClient
) -> None:
    pid = (await _request(anon_client, home)).json()["providerPid"]
    await _until_state(anon_client, home, pid, "AGREED")
    event = {
        "@context": CTX,
        "@type": "ContractNegotiationEventMessage",
        "providerPid": pid,
        "consumerPid": "urn:uuid:consumer-1",
        "eventType": "ACCEPTED",
    }
    resp = await anon_client.post(
        f"/negotiations/{pid}/events", json=event, headers=peer(home, "cineca")
    )
    assert resp.status_code == 400, resp.text
    problem = resp.json()
    assert problem["type"].endswith("invalid-transition")
    assert "in state AGREED" in problem["detail"]
    assert "OFFERED" in problem["detail"]
    assert dsp_errors(problem, NEG_ERROR) == []
    assert problem["providerPid"] == pid


@pytest.mark.parametrize(
    ("over", "status", "needle"),
    [
        ({PURPOSE: None}, 400, "purpose"),
        ({"callbackAddress": "http://evil.example/callback"}, 400, "callbackAddress"),
        (
            {"offer": {"@id": "o", "target": "urn:gemello:bologna:fbk:dataset:trips"}},
            400,
            "not a dataset of this connector",
        ),
        ({"consumerPid": None}, 422, "consumerPid"),
        ({"@type": "CatalogRequestMessage"}, 422, "@type"),
    ],
)
async def test_bad_requests_are_refused_with_a_reason(
    home: Path, anon_client: httpx.AsyncClient, over: dict[str, Any], status: int, needle: str
) -> None:
    resp = await _request(anon_client, home, **over)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert needle in resp.text


async def test_local_users_may_not_call_protocol_endpoints(
    home: Path, anon_client: httpx.AsyncClient, user_tokens: dict[Role, str]
) -> None:
    resp = await anon_client.post(
        "/negotiations/request",
        json=request_message(home),
        headers=bearer(user_tokens[Role.steward]),
    )
    assert resp.status_code == 403


async def test_a_purpose_outside_the_policy_is_terminated_and_recorded(
    home: Path, anon_client: httpx.AsyncClient, user_tokens: dict[Role, str]
) -> None:
    wifi = f"{UNIBO}:dataset:wifi-od-flows"
    resp = await _request(
        anon_client,
        home,
        offer={"@id": f"{wifi}:offer:default", "target": wifi},
        **{PURPOSE: "commercial"},
    )
    pid = resp.json()["providerPid"]
    await _until_state(anon_client, home, pid, "TERMINATED")
    mine = await anon_client.get(
        f"/contracts/negotiations/{pid}", headers=bearer(user_tokens[Role.steward])
    )
    assert (
        "purpose 'commercial' not in [research, public-policy, planning]" in mine.json()["reason"]
    )
    records = await anon_client.get(
        "/decisions", params={"allowed": "false"}, headers=bearer(user_tokens[Role.auditor])
    )
    assert records.status_code == 200
    first = records.json()[0]
    assert set(first) >= {"decision_id", "path", "input", "result", "timestamp", "bundles"}
    assert "subject" not in first["input"]
    assert first["labels"]["correlation"] == pid


async def test_transfer_of_an_unknown_agreement_is_404(
    home: Path, anon_client: httpx.AsyncClient
) -> None:
    port = load_settings("cineca", home).port
    message = {
        "@context": CTX,
        "@type": "TransferRequestMessage",
        "agreementId": "urn:gemello:agreement:none",
        "format": "HttpData-PULL",
        "callbackAddress": f"http://127.0.0.1:{port}/callback",
        "consumerPid": "urn:uuid:t-1",
    }
    assert dsp_errors(message, "transfer/transfer-request-message-schema.json") == []
    resp = await anon_client.post("/transfers/request", json=message, headers=peer(home, "cineca"))
    assert resp.status_code == 404, resp.text
    assert resp.json()["@type"] == "TransferError"
    assert dsp_errors(resp.json(), "transfer/transfer-error-schema.json") == []
    data = await anon_client.get(
        "/transfers/urn:gemello:transfer:x/data", headers=bearer("gmt_guess")
    )
    assert data.status_code == 403


def test_the_requests_a_consumer_sends_validate(tmp_path: Path) -> None:
    from joserfc.jwk import OKPKey

    from connector.contracts.common import Me
    from connector.contracts.consumer import start_negotiation
    from connector.contracts.transfers import start_transfer
    from connector.identity.schemas import Principal
    from connector.identity.trustlist import Member
    from connector.storage import make_engine, session_scope, upgrade
    from connector.storage.tables import AgreementRecord

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    key = OKPKey.generate_key("Ed25519")
    me = Me(UNIBO, "http://127.0.0.1:8403", key.thumbprint(), key)
    who = Principal(
        kind="user",
        organisation=UNIBO,
        partner="unibo",
        subject="usr_1",
        role=Role.researcher,
        credential="t",
    )
    cineca = Member(
        id="cineca",
        participant_id="urn:gemello:bologna:cineca",
        legal_name="CINECA",
        connector_url="http://127.0.0.1:8402",
    )
    target = "urn:gemello:bologna:cineca:dataset:rainfall-daily"
    try:
        with session_scope(engine, write=True) as session:
            _row, body = start_negotiation(
                session,
                me,
                who,
                cineca,
                target,
                {"@id": "o1", "@type": "Offer", "permission": [{"action": "read"}]},
                "research",
            )
            session.add(
                AgreementRecord(
                    id="urn:gemello:agreement:1",
                    negotiation_id="n",
                    role="consumer",
                    provider=cineca.participant_id,
                    consumer=UNIBO,
                    dataset_id="rainfall-daily",
                    target=target,
                    purpose="research",
                    document={},
                    signature="",
                )
            )
            session.flush()
            _t, transfer = start_transfer(session, me, who, "urn:gemello:agreement:1")
    finally:
        engine.dispose()
    assert dsp_errors(body, "negotiation/contract-request-message-schema.json") == []
    assert body["callbackAddress"] == "http://127.0.0.1:8403/callback"
    assert dsp_errors(transfer, "transfer/transfer-request-message-schema.json") == []


async def test_a_malformed_message_is_a_schema_valid_negotiation_error(
    home: Path, anon_client: httpx.AsyncClient
) -> None:
    resp = await _request(anon_client, home, offer="not an object")
    assert resp.status_code == 422
    assert dsp_errors(resp.json(), NEG_ERROR) == []
    assert "offer" in resp.json()["detail"]


async def test_a_message_that_cannot_be_sent_does_not_block_the_outbox(
    anon_client: httpx.AsyncClient, app: FastAPI
) -> None:
    """A peer's process id with a control character made an invalid URL: the exception left
    the delivery loop, so that message and every one queued after it stayed undelivered at
    each poll. Now it fails alone, for good, and the others are still tried."""
    from sqlmodel import col, select

    from connector.contracts.repository import OutboxRepository
    from connector.storage import session_scope
    from connector.storage.tables import OutboxMessage, utcnow

    del anon_client  # the app is started: its runtime has its peer client
    rt = app.state.connector.contracts
    with session_scope(app.state.connector.engine) as session:
        repo = OutboxRepository(session)
        for pid in ("bad\x01pid", "good-pid"):
            repo.add(
                OutboxMessage(
                    process=f"urn:test:{pid.isalpha()}:{len(pid)}",
                    participant_id="urn:gemello:bologna:cineca",  # not running here
                    path=f"/negotiations/{pid}/events",
                    body={"@type": "ContractNegotiationEventMessage"},
                    actor_sub="connector",
                    actor_role="steward",
                    next_attempt_at=utcnow(),
                )
            )
    await rt.deliver()
    with session_scope(app.state.connector.engine) as session:
        stmt = select(OutboxMessage).where(col(OutboxMessage.process).startswith("urn:test:"))
        rows = {r.path: r for r in session.exec(stmt)}
    bad, good = rows["/negotiations/bad\x01pid/events"], rows["/negotiations/good-pid/events"]
    assert bad.failed_at is not None
    assert "InvalidURL" in bad.last_error
    # tried (here and perhaps by the app's own worker too): cineca is down, so it waits for a
    # retry instead of failing
    assert good.attempts >= 1
    assert good.failed_at is None
