"""The federation endpoint in process, with members that are down: partial answers, no 500."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from connector.dataspace import set_member_urls
from connector.federation import free_port
from connector.identity.schemas import Role
from tests.conftest import bearer

pytestmark = pytest.mark.anyio


async def test_unreachable_members_are_reported_not_fatal(
    home: Path, client: httpx.AsyncClient
) -> None:
    # nothing listens on a port the OS just handed out and took back
    set_member_urls(home, {p: f"http://127.0.0.1:{free_port()}" for p in ("cineca", "fbk")})
    resp = await client.get("/federation/datasets")
    assert resp.status_code == 200, resp.text
    members = {m["partner"]: m for m in resp.json()["members"]}
    assert members["cineca"]["status"] == "unreachable"
    assert members["fbk"]["status"] == "unreachable"
    assert members["cineca"]["page"] is None
    assert resp.json()["datasets"] == sum(
        len(m["page"]["datasets"]) for m in members.values() if m["page"]
    )


async def test_the_gateway_serves_local_users_only(
    anon_client: httpx.AsyncClient, user_tokens: dict[Role, str]
) -> None:
    auditor = await anon_client.get(
        "/federation/datasets", headers=bearer(user_tokens[Role.auditor])
    )
    assert auditor.status_code == 200
    anon = await anon_client.get("/federation/datasets")
    assert anon.status_code == 401
