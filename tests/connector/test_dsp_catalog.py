"""DSP 2025-1 catalog protocol: every message checked against the official JSON schemas."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dsp_schemas import dsp_errors

pytestmark = pytest.mark.anyio

CTX = ["https://w3id.org/dspace/2025/1/context.jsonld"]


def request_message(*filters: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"@context": CTX, "@type": "CatalogRequestMessage"}
    if filters:
        body["filter"] = list(filters)
    assert dsp_errors(body, "catalog/catalog-request-message-schema.json") == []
    return body


async def test_version_endpoint_matches_schema(anon_client: httpx.AsyncClient) -> None:
    response = await anon_client.get("/.well-known/dspace-version")
    assert response.status_code == 200
    body = response.json()
    assert dsp_errors(body, "common/protocol-version-schema.json") == []
    assert body["protocolVersions"][0]["version"] == "2025-1"


async def test_catalog_request_returns_valid_catalog_with_offers(client: httpx.AsyncClient) -> None:
    response = await client.post("/catalog/request", json=request_message())
    assert response.status_code == 200, response.text
    catalog = response.json()
    assert dsp_errors(catalog, "catalog/catalog-schema.json") == []
    assert catalog["participantId"] == "urn:gemello:bologna:unibo"
    ids = {d["dct:identifier"] for d in catalog["dataset"]}
    assert ids == {"bike-counters", "sub-catchments", "wifi-od-flows"}
    by_id = {d["dct:identifier"]: d for d in catalog["dataset"]}
    wifi_offer = by_id["wifi-od-flows"]["hasPolicy"][0]
    # WiFi flows between zones are about no one: results from them may be shared
    assert {p["action"] for p in wifi_offer["permission"]} == {
        "aggregate",
        "compute",
        "share",
        "publish",
    }
    assert wifi_offer["prohibition"] == [{"action": "read"}]
    assert by_id["bike-counters"]["distribution"][0]["format"] == "HttpData-PULL"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([{"theme": "TRAN"}], {"bike-counters", "wifi-od-flows"}),
        ([{"theme": ["ENVI", "REGI"]}], {"sub-catchments"}),
        ([{"text": "wifi"}], {"wifi-od-flows"}),
        ([{"text": "sottobacini"}], {"sub-catchments"}),  # Italian titles are searched too
        ([{"theme": "TRAN"}, {"privacyClass": "open"}], {"bike-counters"}),
        ([{"id": ["urn:gemello:bologna:unibo:dataset:bike-counters"]}], {"bike-counters"}),
        ([{"modifiedSince": "2999-01-01T00:00:00+00:00"}], set()),
    ],
)
async def test_filter_is_honoured(
    client: httpx.AsyncClient, filters: list[dict[str, Any]], expected: set[str]
) -> None:
    response = await client.post("/catalog/request", json=request_message(*filters))
    assert response.status_code == 200, response.text
    catalog = response.json()
    assert dsp_errors(catalog, "catalog/catalog-schema.json") == []
    assert {d["dct:identifier"] for d in catalog.get("dataset", [])} == expected


async def test_paging_with_link_headers(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    url = "/catalog/request?per_page=2"
    for _ in range(5):
        response = await client.post(url, json=request_message())
        assert response.status_code == 200
        assert dsp_errors(response.json(), "catalog/catalog-schema.json") == []
        seen += [d["dct:identifier"] for d in response.json().get("dataset", [])]
        links = response.links
        assert "first" in links
        assert "last" in links
        if "next" not in links:
            break
        url = links["next"]["url"]
    assert seen == ["bike-counters", "sub-catchments", "wifi-od-flows"]
    assert response.headers["X-Total-Count"] == "3"


async def test_dataset_request_by_id_and_by_iri(client: httpx.AsyncClient) -> None:
    for ref in ("wifi-od-flows", "urn:gemello:bologna:unibo:dataset:wifi-od-flows"):
        response = await client.get(f"/catalog/datasets/{ref}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert dsp_errors(body, "catalog/dataset-schema.json") == []
        assert body["@id"] == "urn:gemello:bologna:unibo:dataset:wifi-od-flows"
        assert body["https://w3id.org/gemello/ns#privacyClass"]["@id"].endswith("AggregateOnly")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/catalog/datasets/nope", None, 404),
        (
            "POST",
            "/catalog/request",
            {"@context": CTX, "@type": "CatalogRequestMessage", "filter": [{"colour": "red"}]},
            400,
        ),
        (
            "POST",
            "/catalog/request",
            {
                "@context": CTX,
                "@type": "CatalogRequestMessage",
                "filter": [{"modifiedSince": "yesterday"}],
            },
            400,
        ),
        (
            "POST",
            "/catalog/request",
            {"@context": ["https://example.org/ctx"], "@type": "CatalogRequestMessage"},
            422,
        ),
        ("POST", "/catalog/request", {"@context": CTX, "@type": "DatasetRequestMessage"}, 422),
        (
            "POST",
            "/catalog/request?per_page=0",
            {"@context": CTX, "@type": "CatalogRequestMessage"},
            422,
        ),
    ],
)
async def test_errors_are_catalog_errors_and_problems(
    client: httpx.AsyncClient, method: str, path: str, body: Any, status: int
) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert dsp_errors(error, "catalog/catalog-error-schema.json") == []
    assert error["@type"] == "CatalogError"
    assert error["code"] == str(status)
    assert error["reason"]
    assert error["reason"][0] == error["detail"]
    assert response.headers["content-type"] == "application/problem+json"


async def test_unauthenticated_catalog_request_is_a_catalog_error(
    anon_client: httpx.AsyncClient,
) -> None:
    response = await anon_client.post("/catalog/request", json=request_message())
    assert response.status_code == 401
    assert dsp_errors(response.json(), "catalog/catalog-error-schema.json") == []


def test_loader_rewrites_the_upstream_definitions_quirk() -> None:
    # transfer-error-schema.json refers to "#definitions/..." (no slash); it must still resolve.
    error = {"@context": CTX, "@type": "TransferError", "providerPid": "p", "consumerPid": "c"}
    assert dsp_errors(error, "transfer/transfer-error-schema.json") == []
    assert dsp_errors({"@type": "TransferError"}, "transfer/transfer-error-schema.json")


async def test_offers_name_their_assigner_and_profile_and_every_term_expands(
    client: httpx.AsyncClient,
) -> None:
    """Issue 24, item 16: offers carried no `assigner` (ODRL 2.2 requires one), the default
    offers used profile terms (`compute`, `epsilon`) without declaring the profile, and
    `skos:prefLabel` in `dct:spatial` did not expand with the DSP context."""
    from policy.vocabulary import PROFILE
    from tests.dsp_schemas import expand

    for dataset in ("sub-catchments", "wifi-od-flows"):
        body = (await client.get(f"/catalog/datasets/{dataset}")).json()
        [offer] = body["hasPolicy"]
        assert offer["assigner"] == "urn:gemello:bologna:unibo"
        assert offer["profile"] == PROFILE
        [expanded] = expand(body)
        odrl, skos = "http://www.w3.org/ns/odrl/2/", "http://www.w3.org/2004/02/skos/core#"
        [policy] = expanded[odrl + "hasPolicy"]
        assert policy[odrl + "assigner"] == [{"@id": "urn:gemello:bologna:unibo"}]
        assert policy[odrl + "profile"] == [{"@id": PROFILE}]
        places = expanded["http://purl.org/dc/terms/spatial"]
        labels = [v["@value"] for p in places for v in p.get(skos + "prefLabel", [])]
        assert "Bologna" in " ".join(labels), places
        # nothing was left unexpanded: every key is an IRI or a JSON-LD keyword
        assert not [k for k in _keys(expanded) if not (k.startswith(("@", "http", "urn")))]


def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in (k, *_keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []
