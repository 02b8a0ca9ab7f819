"""The federated catalogue across four real connectors: DSP crawl, search, a member going down."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rdflib import RDF

from catalog import CatalogValidator, parse_description
from catalog.rdf import DCAT, PROV
from connector.federation import RunningConnector, federation, stop
from connector.identity import service as users
from connector.identity.schemas import Role
from connector.settings import Settings, load_settings
from connector.storage import migrated_session
from tests.clirun import gemello
from tests.dsp_schemas import dsp_errors
from tests.e2e.conftest import PARTNERS, Federation

pytestmark = pytest.mark.e2e
CTX = ["https://w3id.org/dspace/2025/1/context.jsonld"]


@dataclass
class Running:
    home: Path
    settings: list[Settings]
    conns: list[RunningConnector]
    tokens: dict[str, str]

    def conn(self, partner: str) -> RunningConnector:
        return next(c for c in self.conns if c.settings.partner == partner)


@pytest.fixture
def running(fresh_home: Callable[..., Path]) -> Iterator[Running]:
    """A federation of its own: the last test takes a member down."""
    home = fresh_home("catalogue")
    settings = [load_settings(p, home) for p in PARTNERS]
    # the comune's steward crawls (made in process: a CLI start per user costs ~1.5 s)
    with migrated_session(settings[0].db_url) as session:
        tokens = {"comune": users.add_user(session, "e2e-steward", Role.steward).token}
    with federation(home, settings) as conns:
        yield Running(home, settings, conns, tokens)


def test_every_published_dataset_conforms_to_official_and_gemello_shapes(
    shared_federation: Federation,
) -> None:
    fed = shared_federation
    official = fed.settings("comune").official_shapes
    if official is None:
        pytest.skip("official DCAT-AP 3.0.1 shapes not found (shared/ is absent)")
    validator = CatalogValidator(official)
    total = 0
    with httpx.Client(timeout=30) as client:
        for conn in fed.conns:
            resp = client.get(
                f"{conn.url}/dcat/catalog",
                headers={
                    "Authorization": f"Bearer {fed.user(conn.settings.partner, 'steward')}",
                    "Accept": "text/turtle",
                },
            )
            assert resp.status_code == 200, resp.text
            graph = parse_description(resp.content, "turtle")
            outcome = validator.validate(graph)
            assert outcome.violations == [], (conn.settings.partner, outcome.violations)
            # the datasets held (results published by other tests are derived datasets)
            derived = set(graph.subjects(PROV.wasDerivedFrom, None))
            total += len(set(graph.subjects(RDF.type, DCAT.Dataset)) - derived)
    assert total == 14


def test_every_dsp_catalog_message_validates(shared_federation: Federation) -> None:
    with httpx.Client(timeout=30) as client:
        for conn in shared_federation.conns:
            token = shared_federation.user(conn.settings.partner, "steward")
            auth = {"Authorization": f"Bearer {token}"}
            version = client.get(f"{conn.url}/.well-known/dspace-version").json()
            assert dsp_errors(version, "common/protocol-version-schema.json") == []
            url = f"{conn.url}/catalog/request?per_page=2"
            while url:
                resp = client.post(
                    url, json={"@context": CTX, "@type": "CatalogRequestMessage"}, headers=auth
                )
                assert resp.status_code == 200
                catalog = resp.json()
                assert dsp_errors(catalog, "catalog/catalog-schema.json") == []
                for item in catalog.get("dataset", []):
                    one = client.get(f"{conn.url}/catalog/datasets/{item['@id']}", headers=auth)
                    assert dsp_errors(one.json(), "catalog/dataset-schema.json") == []
                url = resp.links.get("next", {}).get("url")
            missing = client.get(f"{conn.url}/catalog/datasets/none", headers=auth)
            assert missing.status_code == 404
            assert dsp_errors(missing.json(), "catalog/catalog-error-schema.json") == []


def refresh(running: Running) -> list[dict[str, object]]:
    with httpx.Client(timeout=60) as client:
        resp = client.post(
            f"{running.conn('comune').url}/federation/catalog/refresh",
            headers={"Authorization": f"Bearer {running.tokens['comune']}"},
        )
    assert resp.status_code == 200, resp.text
    reports: list[dict[str, object]] = resp.json()
    return reports


def test_search_by_theme_spans_members_and_survives_a_member_going_down(running: Running) -> None:
    home = running.home
    # The running comune connector crawls (it owns its database; the CLI only reads it here).
    refreshed = refresh(running)
    assert [r["status"] for r in refreshed] == ["ok"] * 4, refreshed

    found = gemello(home, "catalog", "search", "--theme", "TRAN")
    assert found.returncode == 0, found.stderr
    members = {m for m in ("comune", "unibo", "fbk") if f"│ {m} " in found.stdout}
    assert members == {"comune", "unibo", "fbk"}, found.stdout
    assert "7 datasets found" in found.stdout
    assert "stale" not in found.stdout

    # Temporal overlap: the loop counts cover Jan-Apr 2024; data without a period always matches.
    spring = gemello(
        home,
        "catalog",
        "search",
        "--theme",
        "TRAN",
        "--member",
        "comune",
        "--start",
        "2024-06-01",
        "--end",
        "2024-06-30",
    )
    assert "ring-road-counts" in spring.stdout
    assert "road-graph" in spring.stdout
    assert "traffic-loop-counts" not in spring.stdout
    # Spatial overlap with statistical areas: the loop counts are in west Bologna only.
    west = gemello(home, "catalog", "search", "counts", "--area", "Navile")
    east = gemello(home, "catalog", "search", "counts", "--area", "Savena")
    assert "traffic-loop-counts" in west.stdout, west.stdout
    assert "traffic-loop-counts" not in east.stdout, east.stdout
    assert "ring-road-counts" in east.stdout  # city-wide coverage overlaps every area
    unknown = gemello(home, "catalog", "search", "--area", "Atlantis")
    assert unknown.returncode == 2
    assert "no statistical area matches 'Atlantis'" in unknown.stderr

    show = gemello(home, "catalog", "show", "trips")
    assert show.returncode == 0, show.stderr
    assert "aggregate-only" in show.stdout
    assert "prohibition" in show.stdout

    stop([running.conn("unibo")])
    again = {r["partner"]: r["status"] for r in refresh(running)}
    assert again == {"comune": "ok", "cineca": "ok", "unibo": "unreachable", "fbk": "ok"}

    after = gemello(home, "catalog", "search", "--theme", "TRAN")
    assert after.returncode == 0, after.stderr
    assert "7 datasets found" in after.stdout  # nothing dropped
    unibo_rows = [line for line in after.stdout.splitlines() if line.startswith("│ unibo ")]
    assert unibo_rows, after.stdout
    assert all("stale" in line for line in unibo_rows), after.stdout
    assert "unibo: unreachable at the last crawl" in after.stdout
    fresh_rows = [line for line in after.stdout.splitlines() if line.startswith("│ comune ")]
    assert fresh_rows
    assert all("fresh" in line for line in fresh_rows)
