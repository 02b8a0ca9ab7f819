"""Partner tables: typed, deterministic, real where shared/ has the files, synthetic otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from connector.partnerdata import bologna
from connector.partnerdata.catalogmeta import describe
from connector.partnerdata.prepare import (
    TableEntry,
    file_sha256,
    prepare_partner_data,
    read_manifest,
)
from connector.partnerdata.specs import PARTNER_DATASETS


@pytest.mark.parametrize("partner", sorted(PARTNER_DATASETS))
def test_synthetic_tables_fit_their_schema_and_are_seeded(partner: str, tmp_path: Path) -> None:
    a = prepare_partner_data(partner, tmp_path / "a", None, seed=42)
    b = prepare_partner_data(partner, tmp_path / "b", None, seed=42)
    c = prepare_partner_data(partner, tmp_path / "c", None, seed=43)
    for x, y, z, spec_ in zip(a, b, c, PARTNER_DATASETS[partner], strict=True):
        # Identifiers are keyed per connector (each data dir has its own key): compare the rest.
        public = [n for n in spec_.schema.names if n not in spec_.identifiers]
        ta, tb, tc = (
            pq.read_table(tmp_path / root / e.table_path, columns=public)
            for root, e in (("a", x), ("b", y), ("c", z))
        )
        assert ta.equals(tb)
        assert not ta.equals(tc)
    for entry, spec_ in zip(a, PARTNER_DATASETS[partner], strict=True):
        table = pq.read_table(tmp_path / "a" / entry.table_path)
        assert table.schema.equals(spec_.schema, check_metadata=False)
        assert table.num_rows == entry.row_count > 0
        assert entry.synthetic
        assert "synthetic" in entry.source
    _says_synthetic(partner, a, tmp_path / "a")
    if partner == "cineca":  # the flood demo on synthetic data has an event to show
        rain = next(e for e in a if e.id == "rainfall-daily")
        frame = pq.read_table(tmp_path / "a" / rain.table_path).to_pandas()
        may = frame[pd.to_datetime(frame["date"]).dt.strftime("%Y-%m") == "2023-05"]
        assert may["rain_mm"].max() == 80.0
        assert (may["rain_mm"].rolling(3).sum() == 180.0).any()


REAL_CLAIMS = ("ERG5", "ARPAE", "May 2023", "maggio 2023", "2023 flood", "alluvione di")


def _says_synthetic(partner: str, entries: list[TableEntry], data_dir: Path) -> None:
    """Each generated table's catalogue description says it is synthetic in both languages,
    and none names a real source or event (issue 29)."""
    for entry in entries:
        d = describe(entry, data_dir, partner, "Partner")
        words = [d.title.en, d.title.it or "", d.description.en, d.description.it or ""]
        assert "synthetic" in d.title.en.lower(), d.title
        assert "sintetic" in (d.title.it or "").lower(), d.title
        assert "Synthetic: generated, not observed" in d.description.en, d.description
        assert "Sintetico: generato, non osservato" in (d.description.it or ""), d.description
        assert d.governance.synthetic
        for claim in REAL_CLAIMS:
            assert not any(claim in w for w in words), (entry.id, claim, words)
            assert claim not in d.provenance, (entry.id, d.provenance)


def test_prepare_is_idempotent_and_repairs_a_tampered_table(tmp_path: Path) -> None:
    first = prepare_partner_data("unibo", tmp_path, None, seed=1)
    path = tmp_path / first[0].table_path
    mtime = path.stat().st_mtime_ns
    assert prepare_partner_data("unibo", tmp_path, None, seed=1) == first
    assert path.stat().st_mtime_ns == mtime  # not rewritten
    path.write_bytes(b"garbage")
    again = prepare_partner_data("unibo", tmp_path, None, seed=1)
    assert again == first
    assert file_sha256(path) == first[0].content_sha256
    assert read_manifest(tmp_path) == first


def test_synthetic_building_stock_is_plausible(tmp_path: Path) -> None:
    entries = {e.id: e for e in prepare_partner_data("comune", tmp_path, None, seed=5)}
    stock = pq.read_table(tmp_path / entries["building-stock"].table_path).to_pandas()
    assert 35_000 <= len(stock) <= 45_000
    assert stock.building_id.is_unique
    old = stock[stock.archetype == "pre1945_masonry"].u_wall.median()
    new = stock[stock.archetype == "post2005_nzeb"].u_wall.median()
    assert old > 3 * new  # older envelopes leak far more heat


def test_synthetic_roads_are_one_street_plan_the_loops_sit_on(tmp_path: Path) -> None:
    """The synthetic road graph is connected and has every road class the model knows; the
    loop register and the loop counts (made apart from it) name its arcs and their ends."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from models.mobility import road_class

    entries = {e.id: e for e in prepare_partner_data("comune", tmp_path, None, seed=5)}

    def read(dataset: str) -> pd.DataFrame:
        return pq.read_table(tmp_path / entries[dataset].table_path).to_pandas()

    graph, register, counts = (
        read(d) for d in ("road-graph", "traffic-loop-register", "traffic-loop-counts")
    )
    nodes, idx = np.unique(np.r_[graph.node_from, graph.node_to], return_inverse=True)
    n = len(graph)
    adjacency = coo_matrix((np.ones(n), (idx[:n], idx[n:])), shape=(len(nodes), len(nodes)))
    assert connected_components(adjacency, directed=False)[0] == 1
    assert {road_class(s) for s in graph.street} == {"fast", "boulevard", "street", "minor"}
    arcs = graph.set_index("arc_code")
    assert set(register.arc_code) <= set(arcs.index)
    on = arcs.loc[register.arc_code]
    assert (on.node_from.to_numpy() == register.node_from.to_numpy()).all()
    assert (on.street.to_numpy() == register.street.to_numpy()).all()
    assert set(counts.arc_code) <= set(arcs.index)
    # loops sit mostly on the arterials, as Bologna's do
    arterial = [road_class(s) in ("fast", "boulevard") for s in register.street]
    assert sum(arterial) > 0.1 * len(register)


# --- real data (needs ../shared) -----------------------------------------------------------


def test_real_tables_match_the_published_figures(bologna_dir: Path, tmp_path: Path) -> None:
    rows = {}
    for partner in PARTNER_DATASETS:
        for e in prepare_partner_data(partner, tmp_path / partner, bologna_dir, seed=1):
            rows[e.id] = e.row_count
            spec_real = next(s for s in PARTNER_DATASETS[partner] if s.id == e.id).real
            assert e.synthetic == (spec_real is None)
    # Figures from shared/data/bologna/SOURCES.md
    assert rows["road-graph"] == 8014
    assert rows["statistical-areas"] == 90
    assert rows["fragility-indices"] == 270
    assert rows["traffic-loop-register"] == 864
    assert rows["wifi-od-flows"] == 43740
    assert rows["temperature-daily"] == rows["rainfall-daily"] == 9145
    assert rows["traffic-loop-counts"] == 3371 * 24


def test_loop_counts_join_the_road_graph_and_sit_in_bologna(bologna_dir: Path) -> None:
    counts = bologna.traffic_loop_counts(bologna_dir)
    arcs = set(bologna.road_graph(bologna_dir).arc_code)
    assert counts.arc_code.isin(arcs).all()  # SOURCES.md: 100% of rows match CODARCO
    # geopoint, not the garbled longitude/latitude columns
    assert counts.lat.between(44.4, 44.6).all()
    assert counts.lon.between(11.2, 11.5).all()
    assert set(counts.hour) == set(range(24))


def test_may_2023_flood_rain_is_in_the_rainfall_table(bologna_dir: Path) -> None:
    rain = bologna.rainfall_daily(bologna_dir).set_index("date").rain_mm
    from datetime import date

    assert rain[date(2023, 5, 2)] == pytest.approx(105.4)
    assert rain[date(2023, 5, 16)] + rain[date(2023, 5, 17)] == pytest.approx(111.0)


def test_statistical_area_polygons_are_geojson(bologna_dir: Path) -> None:
    areas = bologna.statistical_areas(bologna_dir)
    geom = json.loads(areas.geometry.iloc[0])
    assert geom["type"] in {"Polygon", "MultiPolygon"}
    assert np.array_equal(bologna.area_codes(bologna_dir), areas.area_code.to_numpy())


def test_personal_identifiers_are_keyed_hashes_that_differ_between_connectors(
    tmp_path: Path,
) -> None:
    a = prepare_partner_data("fbk", tmp_path / "a", None, seed=42)
    b = prepare_partner_data("fbk", tmp_path / "b", None, seed=42)
    ta = pq.read_table(tmp_path / "a" / a[0].table_path)
    tb = pq.read_table(tmp_path / "b" / b[0].table_path)
    people = ta["person_id"].to_pylist()
    assert all(p.startswith("psn_") and len(p) == 36 for p in people)
    assert not any(p.startswith("P0") for p in people)  # the generator's raw ids never land
    assert len(set(people)) == len(set(tb["person_id"].to_pylist()))  # one pseudonym per person
    assert set(people).isdisjoint(tb["person_id"].to_pylist())  # unlinkable across keys
    key = tmp_path / "a" / "keys" / "pseudonym.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert "pseudonymised" in a[0].source


REAL_CLAIMS = ("ERG5", "ARPAE", "May 2023", "maggio 2023", "2023 flood", "alluvione di")


def test_real_tables_keep_their_own_descriptions(bologna_dir: Path, tmp_path: Path) -> None:
    rain = next(e for e in prepare_partner_data("cineca", tmp_path, bologna_dir, seed=7)
                if e.id == "rainfall-daily")  # fmt: skip
    d = describe(rain, tmp_path, "cineca", "CINECA")
    assert not rain.synthetic
    assert "ERG5" in d.description.en
    assert "synthetic" not in d.title.en.lower()


def test_synthetic_cities_join_with_copies_of_every_table_that_say_so(tmp_path: Path) -> None:
    """The benchmarks' larger federation (issue 31): each synthetic city is a member of the
    signed trust list with a synthetic copy of every partner table, described as synthetic;
    with `areas_everywhere`, every partner holds the statistical areas too."""
    import shutil

    from connector import PARTNERS
    from connector.dataspace import add_synthetic_cities, establish_trust
    from connector.publishing.service import series_of
    from connector.settings import source_root

    shutil.copytree(source_root() / "deploy", tmp_path / "deploy")
    settings = add_synthetic_cities(tmp_path, 2, areas_everywhere=True)
    assert [s.partner for s in settings] == [*PARTNERS, "city-05", "city-06"]
    space = establish_trust(tmp_path, settings)
    members = {m.id: m for m in space.members}
    assert members["city-06"].participant_id == "urn:gemello:synthetic:city-06"
    assert all(members[s.partner].keys for s in settings)
    every_table = {spec.id for specs in PARTNER_DATASETS.values() for spec in specs}
    for city in settings[len(PARTNERS) :]:
        entries = read_manifest(city.resolved_data_dir)
        assert {e.id for e in entries} == every_table
        assert all(e.synthetic for e in entries)
        for e in entries:
            assert file_sha256(city.resolved_data_dir / e.table_path) == e.content_sha256
        _says_synthetic(city.partner, entries, city.resolved_data_dir)
        # the loop counts are published in their yearly series, which the city must declare
        assert [s.id for s in series_of(city.partner)] == ["traffic-loop-counts-yearly"]
    for partner in settings[: len(PARTNERS)]:
        held = {e.id for e in read_manifest(partner.resolved_data_dir)}
        assert "statistical-areas" in held
        assert {spec.id for spec in PARTNER_DATASETS[partner.partner]} <= held
    # a second call changes nothing (the template keeps one entry per city)
    again = add_synthetic_cities(tmp_path, 2)
    assert [s.partner for s in again] == [s.partner for s in settings]
    assert (tmp_path / "deploy" / "dataspace.toml").read_text().count('"city-05"') == 1
