"""Keep-alive connections are ended every Nth request when several server processes serve."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connector.system.recycling import RecycleConnections

pytestmark = pytest.mark.anyio


def _app(every: int) -> Any:
    app = FastAPI()

    @app.get("/")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    app.add_middleware(RecycleConnections, every=every)
    return app


async def test_every_nth_response_of_a_connection_closes_it() -> None:
    transport = httpx.ASGITransport(app=_app(3), client=("10.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
        closes = [(await client.get("/")).headers.get("connection") for _ in range(7)]
    assert closes == [None, None, "close", None, None, "close", None]


async def test_connections_are_counted_apart() -> None:
    app = _app(2)
    seen = []
    for port in (1, 2, 1, 2, 1):
        transport = httpx.ASGITransport(app=app, client=("10.0.0.1", port))
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
            resp = await client.get("/")
            assert resp.json() == {"hello": "world"}
            seen.append(resp.headers.get("connection"))
    assert seen == [None, None, "close", "close", None]
