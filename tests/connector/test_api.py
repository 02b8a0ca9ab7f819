"""The connector's HTTP surface, in process: probes, datasets, problem+json on every error."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from connector.errors import PROBLEM_MEDIA_TYPE
from connector.storage import make_engine

pytestmark = pytest.mark.anyio


def assert_problem(resp: httpx.Response, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = resp.json()
    assert body["status"] == status
    assert body["title"]
    assert body.get("detail")
    return body  # type: ignore[no-any-return]


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json()["status"] == "alive"
    ready = (await client.get("/ready")).json()
    assert ready["status"] == "ready"
    assert ready["database"] == "sqlite"
    assert ready["policy_engine"] == "regopy"
    assert len(ready["policy_revision"]) == 16


async def test_datasets_are_registered_at_startup(client: httpx.AsyncClient) -> None:
    page = (await client.get("/datasets")).json()
    assert page["partner"] == "unibo"
    ids = {d["id"]: d for d in page["datasets"]}
    assert set(ids) == {"wifi-od-flows", "bike-counters", "sub-catchments"}
    assert ids["sub-catchments"]["synthetic"] is True
    assert page["total_rows"] == sum(d["row_count"] for d in page["datasets"]) > 0
    one = (await client.get("/datasets/sub-catchments")).json()
    assert one["row_count"] == ids["sub-catchments"]["row_count"]
    assert {"name": "curve_number", "type": "double"} in one["columns"]


async def test_unknown_dataset_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/datasets/no-such-thing"), 404)
    assert body["type"] == "urn:gemello:problem:dataset-not-found"
    assert "no-such-thing" in str(body["detail"])
    assert body["instance"] == "/datasets/no-such-thing"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/datasets/UPPER_case!", 422),
        ("GET", "/datasets/" + "x" * 500, 422),
        ("DELETE", "/datasets", 405),
        ("POST", "/health", 405),
        ("PUT", "/ready", 405),
        ("GET", "/datasets/%00", 422),
    ],
)
async def test_malformed_requests_get_4xx_problems(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    assert_problem(await client.request(method, path, content=b"{not json"), status)


async def test_validation_problem_lists_where_and_what(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/datasets/Bad%20Id"), 422)
    assert body["errors"] == [
        {
            "location": "path.dataset_id",
            "message": "String should match pattern '^[a-z0-9][a-z0-9-]{0,119}$'",
        }
    ]


async def test_every_operation_is_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    ops = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(ops) >= 4
    for path, method, op in ops:
        assert op.get("description", "").strip(), f"{method.upper()} {path} has no description"
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert "cdn" not in docs.text.lower()  # served locally: the machine may have no internet
    static = [line for line in docs.text.split('"') if line.endswith("swagger-ui-bundle.js")]
    assert (await client.get(static[0])).status_code == 200


async def test_ready_is_a_503_problem_when_the_database_is_gone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from dataclasses import replace

    good = app.state.connector
    gone = make_engine("postgresql+psycopg://nobody@/none?host=/nonexistent-dir")
    app.state.connector = replace(good, engine=gone)
    try:
        body = assert_problem(await client.get("/ready"), 503)
        assert "database unreachable" in str(body["detail"])
        assert (await client.get("/health")).status_code == 200  # alive, just not ready
    finally:
        gone.dispose()
        app.state.connector = good


async def test_unexpected_errors_are_500_problems_without_internals(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise RuntimeError("secret internal state")

    app.add_api_route("/boom", boom)
    resp = await client.get("/boom")
    body = assert_problem(resp, 500)
    assert "secret" not in resp.text
    assert "logged" in str(body["detail"])
    assert "secret internal state" in caplog.text


async def test_a_405_allows_every_method_the_path_serves(client: httpx.AsyncClient) -> None:
    """Issue 24, item 14: /policies/{id} is served by two routers (GET for every role, PUT and
    DELETE for stewards); a 405's Allow header named only the first router's method."""
    resp = await client.patch("/policies/bike-counters")
    assert_problem(resp, 405)
    assert set(resp.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}
    assert "use GET, PUT, DELETE" in resp.json()["detail"]


async def test_every_time_in_a_response_carries_its_offset(
    client: httpx.AsyncClient, user_tokens: dict[object, str]
) -> None:
    """Issue 24, item 13: SQLite gives times back without a zone, and 11 response fields
    broke their `format: date-time` (RFC 3339 needs the offset)."""
    import re

    from connector.identity.schemas import Role

    admin = {"Authorization": f"Bearer {user_tokens[Role.admin]}"}
    rfc3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
    seen = 0
    for path in ("/datasets", "/admin/users", "/admin/tokens", "/policies"):
        body = (await client.get(path, headers=admin)).json()
        for value in _strings_under_time_keys(body):
            assert rfc3339.match(value), (path, value)
            seen += 1
    assert seen >= 5


def _strings_under_time_keys(value: object) -> list[str]:
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, str) and k.endswith(("_at", "updated", "modified")):
                out.append(v)
            else:
                out += _strings_under_time_keys(v)
        return out
    if isinstance(value, list):
        return [s for v in value for s in _strings_under_time_keys(v)]
    return []
