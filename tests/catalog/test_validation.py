"""SHACL validation of dataset descriptions: our profile's shapes and the official DCAT-AP ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

import ontology
from catalog import (
    CatalogValidator,
    MetadataUnreadable,
    official_shapes_path,
    parse_description,
    read_description,
)
from connector.settings import source_root
from tests.catalog.examples import BROKEN, TRIPS, broken
from tests.clirun import run_cli

SHARED = source_root().parent / "shared"


@pytest.fixture(scope="module")
def ours() -> CatalogValidator:
    return CatalogValidator()


@pytest.fixture(scope="module")
def official() -> CatalogValidator:
    path = official_shapes_path(SHARED)
    if path is None:
        pytest.skip(f"official DCAT-AP 3.0.1 shapes not found under {SHARED} (shared/ is absent)")
    return CatalogValidator(path)


def test_a_complete_description_conforms_to_our_shapes(ours: CatalogValidator) -> None:
    outcome = ours.validate(parse_description(TRIPS, "turtle"))
    assert outcome.conforms, outcome.results


def test_a_complete_description_conforms_to_the_official_shapes(
    official: CatalogValidator,
) -> None:
    outcome = official.validate(parse_description(TRIPS, "turtle"))
    assert outcome.violations == []
    assert "DCAT-AP 3.0.1" in " ".join(outcome.shapes_used)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_defect_is_a_readable_violation(ours: CatalogValidator, name: str) -> None:
    text, expect = broken(name)
    outcome = ours.validate(parse_description(text, "turtle"))
    assert not outcome.conforms
    assert any(expect in v.message for v in outcome.violations), outcome.violations
    for v in outcome.violations:
        assert v.focus.startswith(("urn:", "ex:", "<urn:")), v  # names the node at fault


def test_the_official_shapes_catch_what_ours_do_not_check(official: CatalogValidator) -> None:
    # DCAT-AP 3 makes dct:description mandatory on a dcat:Dataset
    text = TRIPS.replace('dct:description "One row', 'dct:abstract "One row')
    outcome = official.validate(parse_description(text, "turtle"))
    assert any(v.path == "dct:description" for v in outcome.violations), outcome.violations


def test_every_gemello_term_used_by_the_shapes_is_declared() -> None:
    declared = set(ontology.vocabulary().subjects(RDF.type, None))
    used = {
        node
        for triple in ontology.shapes()
        for node in triple
        if isinstance(node, URIRef) and str(node).startswith(str(ontology.GEM))
    }
    assert used
    assert used <= declared, sorted(str(u) for u in used - declared)


@pytest.mark.parametrize(
    ("suffix", "fmt"), [(".ttl", "turtle"), (".jsonld", "json-ld"), (".rdf", "xml")]
)
def test_descriptions_are_read_in_three_syntaxes(tmp_path: Path, suffix: str, fmt: str) -> None:
    graph = parse_description(TRIPS, "turtle")
    path = tmp_path / f"trips{suffix}"
    path.write_text(graph.serialize(format=fmt))
    again = read_description(path)
    assert len(again) == len(graph)
    assert isinstance(again, Graph)


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("bad.ttl", "this is not turtle", "not valid turtle"),
        ("bad.jsonld", "{not json", "not valid json-ld"),
        ("bad.csv", "a,b", "unknown RDF format"),
    ],
)
def test_unreadable_files_are_one_clear_error(
    tmp_path: Path, name: str, content: str, expect: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(MetadataUnreadable, match=expect):
        read_description(path)


def _gemello(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["catalog", "validate", *args])


def test_cli_validate_reports_and_sets_the_exit_code(tmp_path: Path) -> None:
    good, bad, junk = tmp_path / "good.ttl", tmp_path / "bad.ttl", tmp_path / "junk.ttl"
    good.write_text(TRIPS)
    bad.write_text(broken("personal data marked open")[0])
    junk.write_text("@prefix broken")
    ok = _gemello(str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "conforms" in ok.stdout
    refused = _gemello(str(bad))
    assert refused.returncode == 1
    assert "personal data cannot be gem:Open" in refused.stdout
    assert "ex:trips" in refused.stdout
    unreadable = _gemello(str(junk))
    assert unreadable.returncode == 2
    assert "not valid turtle" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr


def _derived() -> Graph:
    from datetime import UTC, datetime

    from catalog.model import DerivedDataset, DerivedDownload, LangText, Publisher, Theme
    from catalog.rdf import add_derived, new_graph

    page = "http://127.0.0.1:8003/public/results/flood-scs-nash-0123456789ab"
    derived = DerivedDataset(
        id="flood-scs-nash-0123456789ab",
        title=LangText(it="Pioggia x1,5", en="Rain x1.5"),
        description=LangText(it="Le aree sopra l'allerta.", en="The areas above the alarm."),
        themes=[Theme.ENVI, Theme.REGI],
        issued=datetime(2026, 12, 7, 9, tzinfo=UTC),
        landing_page=page,
        downloads=[
            DerivedDownload(
                url=f"{page}/release.json", media_type="application/json", title="the release"
            )
        ],  # fmt: skip
        derived_from=[
            "urn:gemello:bologna:cineca:dataset:rainfall-daily",
            "urn:gemello:bologna:unibo:dataset:sub-catchments",
        ],  # fmt: skip
        generated_by="urn:gemello:job-1",
        synthetic=True,
    )
    publisher = Publisher(participant_id="urn:gemello:bologna:unibo", name="Università di Bologna",
                          connector_url="http://127.0.0.1:8003")  # fmt: skip
    graph = new_graph()
    add_derived(graph, derived, publisher)
    return graph


def test_a_published_result_is_a_derived_dataset_that_conforms_to_both_shapes(
    ours: CatalogValidator, official: CatalogValidator
) -> None:
    graph = _derived()
    prov = "http://www.w3.org/ns/prov#"
    ds = URIRef("urn:gemello:bologna:unibo:dataset:flood-scs-nash-0123456789ab")
    assert {str(o) for o in graph.objects(ds, URIRef(prov + "wasDerivedFrom"))} == {
        "urn:gemello:bologna:cineca:dataset:rainfall-daily",
        "urn:gemello:bologna:unibo:dataset:sub-catchments",
    }
    assert ours.validate(graph).conforms, ours.validate(graph).results
    assert official.validate(graph).violations == []
