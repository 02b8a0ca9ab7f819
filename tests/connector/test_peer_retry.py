"""Outgoing calls to other members: a GET whose kept-alive connection the member dropped before
answering goes once more, with a fresh token; anything else is not repeated."""

from __future__ import annotations

import httpx
import pytest

from connector.identity.auth import IdentityContext
from connector.identity.peers import PeerClient
from connector.identity.schemas import Principal, Role
from connector.settings import Settings
from connector.storage import make_engine, migrated_session
from connector.storage.tables import utcnow

pytestmark = pytest.mark.anyio


async def test_a_get_on_a_dropped_connection_is_sent_once_more(unibo_settings: Settings) -> None:
    with migrated_session(unibo_settings.db_url):
        pass
    ctx = IdentityContext.create(unibo_settings, make_engine(unibo_settings.db_url), utcnow)
    seen: list[str] = []

    def member_side(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if len(seen) == 1:  # the member closed the pooled connection as the request left
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"size": 3})

    principal = Principal(kind="user", organisation="unibo", partner="unibo",
                          subject="witness", role=Role.auditor, credential="witness")  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.MockTransport(member_side)) as http:
        peers = PeerClient(ctx, http)
        fbk = next(m for m in peers.members() if m.id == "fbk")
        answer = await peers.request("GET", fbk, "/audit/checkpoint", principal)
        assert answer.json() == {"size": 3}
        assert len(seen) == 2
        assert seen[0] != seen[1]  # a fresh token: the first may have reached the member
        seen.clear()
        with pytest.raises(httpx.RemoteProtocolError):  # a write is never repeated
            await peers.request("POST", fbk, "/compute/runs", principal, json={})
        assert len(seen) == 1
