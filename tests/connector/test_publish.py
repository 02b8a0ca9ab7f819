"""Publishing DCAT-AP descriptions: defaults conform, conneg, refusals with SHACL results."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from rdflib import Graph

from catalog import CatalogValidator, parse_description
from catalog.rdf import DCAT
from connector.identity.schemas import Role
from connector.settings import Settings
from tests.conftest import bearer, client_for

pytestmark = pytest.mark.anyio

BROKEN_TTL = b"""
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct:  <http://purl.org/dc/terms/> .
@prefix gem:  <https://w3id.org/gemello/ns#> .
<urn:gemello:bologna:unibo:dataset:bike-counters> a dcat:Dataset ;
    dct:description "Counters."@en ;
    dct:publisher <urn:gemello:bologna:unibo> ;
    gem:privacyClass gem:Open ;
    gem:containsPersonalData true ;
    gem:synthetic false .
"""


@pytest.fixture
async def steward(app: FastAPI, user_tokens: dict[Role, str]) -> httpx.AsyncClient:
    async for c in client_for(app, bearer(user_tokens[Role.steward])):
        yield c  # type: ignore[misc]


def test_official_shapes_come_from_settings(unibo_settings: Settings) -> None:
    if unibo_settings.official_shapes is None:
        pytest.skip("official DCAT-AP shapes absent (shared/ not here)")
    assert unibo_settings.official_shapes.name == "dcat-ap-SHACL.ttl"


async def test_every_default_description_conforms(
    client: httpx.AsyncClient, unibo_settings: Settings
) -> None:
    response = await client.get("/dcat/catalog", headers={"Accept": "text/turtle"})
    assert response.status_code == 200, response.text
    graph = Graph().parse(data=response.text, format="turtle")
    datasets = set(graph.subjects(predicate=None, object=DCAT.Dataset))
    assert len(datasets) == 3  # unibo: wifi-od-flows, bike-counters, sub-catchments
    outcome = CatalogValidator(unibo_settings.official_shapes).validate(graph)
    assert outcome.violations == [], outcome.violations


@pytest.mark.parametrize(
    ("accept", "media", "fmt"),
    [
        ("text/turtle", "text/turtle", "turtle"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/json;q=0.5, application/rdf+xml;q=0.9", "application/rdf+xml", "xml"),
        ("*/*", "text/turtle", "turtle"),
        (None, "text/turtle", "turtle"),
    ],
)
async def test_content_negotiation(
    client: httpx.AsyncClient, accept: str | None, media: str, fmt: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    if accept is None:
        client.headers.pop("Accept", None)
    response = await client.get("/dcat/datasets/bike-counters", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media)
    assert response.headers["vary"] == "Accept"
    graph = parse_description(response.content, fmt)
    titles = {str(t) for t in graph.objects(None, None) if str(t) == "Bicycle counter locations"}
    assert titles


async def test_unacceptable_media_type_is_406(client: httpx.AsyncClient) -> None:
    response = await client.get("/dcat/catalog", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert "text/turtle" in response.json()["detail"]


async def test_broken_record_is_refused_with_readable_shacl_results(
    steward: httpx.AsyncClient,
) -> None:
    before = (await steward.get("/dcat/datasets/bike-counters")).text
    response = await steward.put(
        "/dcat/datasets/bike-counters", content=BROKEN_TTL, headers={"Content-Type": "text/turtle"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:gemello:problem:shape-violation"
    results = problem["results"]
    paths = {r["path"] for r in results}
    assert "dct:title" in paths  # mandatory in DCAT-AP
    messages = " ".join(r["message"] for r in results)
    assert "personal data cannot be gem:Open" in messages  # our own shape
    assert all(r["focus"] and r["message"] for r in results)
    assert "violation" in problem["detail"]
    # Nothing changed.
    assert (await steward.get("/dcat/datasets/bike-counters")).text == before


async def test_steward_republishes_edited_turtle(steward: httpx.AsyncClient) -> None:
    ttl = (await steward.get("/dcat/datasets/bike-counters")).text
    edited = ttl.replace("Bicycle counter locations", "Bicycle counters of Bologna")
    response = await steward.put(
        "/dcat/datasets/bike-counters", content=edited, headers={"Content-Type": "text/turtle"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["origin"] == "published"
    again = (await steward.get("/dcat/datasets/bike-counters")).text
    assert "Bicycle counters of Bologna" in again


async def test_publish_json_description(steward: httpx.AsyncClient) -> None:
    body = {
        "id": "sub-catchments",
        "title": {"en": "Sub-catchments", "it": "Sottobacini"},
        "description": {"en": "Synthetic sub-catchments.", "it": "Sottobacini sintetici."},
        "themes": ["ENVI"],
        "contact_point": {"name": "Hydrology desk", "email": "hydro@unibo.gemello.example"},
        "provenance": "gemello synthetic generator",
        "governance": {"privacy_class": "compute-only", "personal_data": False, "synthetic": True},
    }
    response = await steward.put("/dcat/datasets/sub-catchments", json=body)
    assert response.status_code == 200, response.text
    ttl = (await steward.get("/dcat/datasets/sub-catchments")).text
    assert "hydro@unibo.gemello.example" in ttl


@pytest.mark.parametrize(
    ("content", "ctype", "needle"),
    [
        (b"@prefix : <", "text/turtle", "not valid turtle"),
        (b"{}", "application/json", "title"),
        (b"<x/>", "text/html", "cannot read a description sent as 'text/html'"),
        (
            json.dumps(
                {
                    "id": "sub-catchments",
                    "title": {"en": "t"},
                    "description": {"en": "d"},
                    "themes": ["ENVI"],
                    "contact_point": {"name": "n", "email": "a@b.example"},
                    "provenance": "p",
                    "governance": {
                        "privacy_class": "open",
                        "personal_data": True,
                        "synthetic": True,
                    },
                }
            ).encode(),
            "application/json",
            "personal data cannot be open",
        ),
    ],
)
async def test_bad_submissions_are_422(
    steward: httpx.AsyncClient, content: bytes, ctype: str, needle: str
) -> None:
    response = await steward.put(
        "/dcat/datasets/sub-catchments", content=content, headers={"Content-Type": ctype}
    )
    assert response.status_code == 422, response.text
    assert needle in response.json()["detail"]


async def test_describing_a_dataset_not_held_is_404(steward: httpx.AsyncClient) -> None:
    ttl = (await steward.get("/dcat/datasets/bike-counters")).text
    renamed = ttl.replace("dataset:bike-counters", "dataset:nope").replace(
        '"bike-counters"', '"nope"'
    )
    response = await steward.put(
        "/dcat/datasets/nope", content=renamed, headers={"Content-Type": "text/turtle"}
    )
    assert response.status_code == 404, response.text
    assert "holds no dataset 'nope'" in response.json()["detail"]


async def test_turtle_about_another_dataset_is_422(steward: httpx.AsyncClient) -> None:
    ttl = (await steward.get("/dcat/datasets/bike-counters")).text
    response = await steward.put(
        "/dcat/datasets/sub-catchments", content=ttl, headers={"Content-Type": "text/turtle"}
    )
    assert response.status_code == 422
    assert "does not describe" in response.json()["detail"]


async def test_researcher_cannot_publish(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/dcat/datasets/bike-counters", content=b"", headers={"Content-Type": "text/turtle"}
    )
    assert response.status_code == 403
