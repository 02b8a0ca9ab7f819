"""Out-of-range numbers in a request are problems, never server errors.

Fuzzing the OpenAPI (schemathesis) found `GET /audit/entries?after=10^25` and
`GET /federation/catalog?page=10^25` answering 500: the value reached the database, which
holds 64-bit integers. Every integer query and path parameter now declares a maximum.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connector.identity.schemas import Role
from tests.conftest import bearer, client_for

pytestmark = pytest.mark.anyio

HUGE = 10**25
CTX = "https://w3id.org/dspace/2025/1/context.jsonld"


def test_every_integer_parameter_has_a_maximum(app: FastAPI) -> None:
    unbounded = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                schema = p.get("schema", {})
                types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
                if "integer" in types and not (
                    "maximum" in schema or any("maximum" in s for s in schema.get("anyOf", []))
                ):
                    unbounded.append(f"{method.upper()} {path} {p['name']}")
    assert unbounded == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/audit/entries?after={HUGE}", None),
        ("GET", f"/federation/catalog?page={HUGE}", None),
        (
            "POST",
            f"/catalog/request?page={HUGE}",
            {"@context": CTX, "@type": "CatalogRequestMessage"},
        ),
        ("GET", f"/audit/proofs/inclusion?index=0&size={HUGE}", None),
    ],
)
async def test_a_huge_number_is_a_problem_not_a_server_error(
    app: FastAPI, user_tokens: dict[Role, str], method: str, path: str, body: Any
) -> None:
    async for client in client_for(app, bearer(user_tokens[Role.admin])):
        resp: httpx.Response = await client.request(method, path, json=body)
        assert resp.status_code in (400, 422), resp.text
        assert resp.headers["content-type"] == "application/problem+json"
