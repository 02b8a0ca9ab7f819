"""Harvesting an Opendatasoft-shaped portal served locally from the real Bologna files."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from catalog import CatalogValidator
from catalog.model import Publisher, Theme
from catalog.rdf import dataset_graph
from connector.harvest.opendatasoft import themes_of
from connector.partnerdata.prepare import read_manifest
from connector.publishing.repository import CatalogRepository
from connector.publishing.service import entry_of
from connector.settings import load_settings
from connector.storage import migrated_session
from tests.clirun import gemello as _gemello
from tests.portal_server import API, Portal, portal_server


def gemello(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _gemello(home, *args, timeout=180)


@pytest.fixture
def portal(bologna_dir: Path) -> Iterator[Portal]:
    with portal_server(bologna_dir) as p:
        yield p


def harvest(home: Path, portal: Portal, *ids: str) -> subprocess.CompletedProcess[str]:
    args = ["harvest", "opendatasoft", "--base-url", portal.url, "--partner", "comune"]
    for i in ids:
        args += ["--dataset", i]
    return gemello(home, *args)


def test_theme_mapping() -> None:
    assert themes_of(["Trasporti"]) == [Theme.TRAN]
    assert themes_of(["Popolazione e società", "Regioni e città"]) == [Theme.SOCI, Theme.REGI]
    assert themes_of(["???"]) == [Theme.REGI]


def test_harvest_makes_tables_and_conforming_entries_then_skips_and_resumes(
    home: Path, portal: Portal
) -> None:
    portal.failing_exports.add("precipitazioni_bologna")
    first = harvest(home, portal, "traffico-viali", "precipitazioni_bologna", "no-such-dataset")
    assert first.returncode == 1, first.stdout + first.stderr  # two failed, one harvested
    assert "harvested" in first.stdout
    assert "HTTP 503" in first.stdout
    assert "no such dataset" in first.stdout

    settings = load_settings("comune", home)
    entries = {e.id: e for e in read_manifest(settings.resolved_data_dir)}
    viali = entries["traffico-viali"]
    table = pq.read_table(settings.resolved_data_dir / viali.table_path)
    assert table.num_rows == viali.row_count > 6000  # the real file has 6,944 rows
    assert "via_spira" in table.column_names
    assert "precipitazioni-bologna" not in entries  # a failed export leaves nothing behind
    assert not list((settings.resolved_data_dir / "tables").glob("*.part"))

    with migrated_session(settings.db_url) as session:
        record = CatalogRepository(session).get("traffico-viali")
        assert record is not None
        assert record.origin == "harvested"
        entry = entry_of(record)
    assert entry.description.title.it == "Traffico viali Bologna"
    assert entry.description.themes == [Theme.TRAN]
    assert "traffico-viali" in (entry.description.landing_page or "")
    publisher = Publisher(
        participant_id="urn:gemello:bologna:comune",
        name="Comune di Bologna",
        connector_url="http://127.0.0.1:8401",
    )
    outcome = CatalogValidator(settings.official_shapes).validate(dataset_graph(publisher, entry))
    assert outcome.violations == []

    # A rerun resumes: the finished dataset is skipped without downloading, the failed one is done.
    portal.failing_exports.clear()
    downloads = portal.hits[f"{API}/traffico-viali/exports/csv"]
    second = harvest(home, portal, "traffico-viali", "precipitazioni_bologna")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "unchanged" in second.stdout
    assert portal.hits[f"{API}/traffico-viali/exports/csv"] == downloads
    assert "precipitazioni-bologna" in {e.id for e in read_manifest(settings.resolved_data_dir)}

    # A newer `modified` on the portal means a new download.
    portal.catalog["traffico-viali"]["modified"] = "2026-11-20T08:00:00+00:00"
    third = harvest(home, portal, "traffico-viali")
    assert third.returncode == 0
    assert portal.hits[f"{API}/traffico-viali/exports/csv"] == downloads + 1


def test_harvested_tables_survive_init(home: Path, portal: Portal) -> None:
    assert gemello(home, "init").returncode == 0
    assert harvest(home, portal, "bologna-daily-mobility").returncode == 0
    assert gemello(home, "init").returncode == 0
    settings = load_settings("comune", home)
    assert "bologna-daily-mobility" in {e.id for e in read_manifest(settings.resolved_data_dir)}


def test_harvest_needs_a_dataset(home: Path) -> None:
    result = gemello(home, "harvest", "opendatasoft", "--base-url", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "--dataset" in result.stderr
