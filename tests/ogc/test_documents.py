"""The OGC API – Processes documents Gemello serves, checked against the official schemas; the
execute request's inputs; the face's OpenAPI 3.0 definition. The HTTP face itself, with OWSLib,
is tested against the federation in tests/e2e/test_ogc_api.py."""

from __future__ import annotations

import copy

import pytest
from openapi_spec_validator import validate as validate_openapi

from connector.app import create_app
from connector.gateway import ogc
from connector.settings import Settings
from models.registry import INSTALLED, MODELS
from tests.ogc import schemas

pytestmark = pytest.mark.skipif(
    not schemas.available(), reason=f"the OGC API - Processes schemas are not at {schemas.SCHEMAS}"
)
BASE = "http://127.0.0.1:8403/ogcapi"


def test_the_landing_page_and_the_conformance_declaration_follow_the_standard() -> None:
    schemas.validate(ogc.landing(BASE, "Gemello — unibo"), "landingPage.yaml")
    schemas.validate(ogc.conformance(("ogc-process-description", "json")), "confClasses.yaml")


def test_every_installed_model_is_a_process_whose_description_follows_the_standard() -> None:
    listed = ogc.process_list([m for m, _ in INSTALLED], BASE)
    schemas.validate(listed, "processList.yaml")
    assert [p["id"] for p in listed["processes"]] == [m.name for m, _ in INSTALLED]
    for model, _ in INSTALLED:
        doc = ogc.description(model, BASE)
        schemas.validate(doc, "process.yaml")
        for item in doc["inputs"].values():
            schemas.validate(item["schema"], "schema.yaml")
        assert set(doc["inputs"]) == {"purpose", "epsilon", *model.params.model_fields}
        assert doc["inputs"]["purpose"]["minOccurs"] == 1
        assert doc["version"] == model.version


def test_a_flood_input_keeps_its_unit_range_and_default() -> None:
    rain = ogc.description(MODELS["flood-scs-nash"], BASE)["inputs"]["rain_multiplier"]
    assert rain["description"] == "climate change factor"
    assert rain["minOccurs"] == 0
    assert rain["schema"] == {
        "type": "number", "default": 1.0, "minimum": 0, "exclusiveMinimum": True, "maximum": 3,
    }  # fmt: skip


def test_nested_and_optional_fields_become_openapi_30_schemas() -> None:
    """$defs inlined (the CTM's lane closures, energy's upgrades), null alternatives as
    `nullable`, numeric exclusive bounds as OpenAPI 3.0's boolean ones."""
    closures = ogc.description(MODELS["mobility-ctm"], BASE)["inputs"]["closures"]["schema"]
    assert closures["items"]["properties"]["street"]["maxLength"] == 120
    assert "$ref" not in str(closures)
    energy = ogc.description(MODELS["energy-5r1c"], BASE)
    assert "$defs" not in str(energy)
    assert "'null'" not in str(energy)
    wall = ogc.oas30(
        {"anyOf": [{"exclusiveMinimum": 0, "maximum": 0.6, "type": "number"}, {"type": "null"}]}
    )
    assert wall == {"nullable": True, "minimum": 0, "exclusiveMinimum": True, "maximum": 0.6,
                    "type": "number"}  # fmt: skip


def test_a_wrong_document_is_refused_by_the_official_schemas() -> None:
    """The check can fail: a process without a version, and an input schema of type 'null'."""
    doc = ogc.description(MODELS["flood-scs-nash"], BASE)
    broken = copy.deepcopy(doc)
    del broken["version"]
    with pytest.raises(AssertionError, match="version"):
        schemas.validate(broken, "process.yaml")
    with pytest.raises(AssertionError):
        schemas.validate({"type": "null"}, "schema.yaml")
    unlinked = copy.deepcopy(doc)  # a link with no href: followed through processSummary.yaml
    del unlinked["links"][0]["href"]
    with pytest.raises(AssertionError, match="href"):
        schemas.validate(unlinked, "process.yaml")
    bad_input = copy.deepcopy(doc)  # an input's schema: followed to schema.yaml
    bad_input["inputs"]["rain_multiplier"]["schema"]["exclusiveMinimum"] = 0
    with pytest.raises(AssertionError):
        schemas.validate(bad_input, "process.yaml")


def test_inputs_come_bare_or_qualified_and_never_by_reference() -> None:
    purpose, epsilon, params = ogc.split_inputs({
        "purpose": {"value": "research", "mediaType": "text/plain"},
        "rain_multiplier": 1.3,
        "speed_limits": {"value": {"street": 30}},
        "closures": [{"street": "Via Irnerio"}],
    })  # fmt: skip
    assert (purpose, epsilon) == ("research", 1.0)
    assert params == {"rain_multiplier": 1.3, "speed_limits": {"street": 30},
                      "closures": [{"street": "Via Irnerio"}]}  # fmt: skip
    assert ogc.split_inputs({"purpose": "planning", "epsilon": 0.5})[:2] == ("planning", 0.5)
    with pytest.raises(ogc.InvalidInput, match="'purpose' is required"):
        ogc.split_inputs({"rain_multiplier": 1.3})
    with pytest.raises(ogc.InvalidInput, match="by reference"):
        ogc.split_inputs({"purpose": "research", "rain": {"href": "http://example.org/r"}})
    with pytest.raises(ogc.InvalidInput, match="'epsilon' must be a number"):
        ogc.split_inputs({"purpose": "research", "epsilon": True})


def test_the_faces_openapi_30_definition_is_valid(unibo_settings: Settings) -> None:
    """Made from the app's OpenAPI 3.1 document: only /ogcapi paths, the components they
    use, every schema converted; a valid OpenAPI 3.0.3 document."""
    doc = ogc.openapi30(create_app(unibo_settings).openapi(), "/ogcapi")
    validate_openapi(doc)
    assert doc["openapi"] == "3.0.3"
    assert all(p.startswith("/ogcapi") for p in doc["paths"])
    assert "ExecuteIn" in doc["components"]["schemas"]
    assert "JobIn" not in doc["components"]["schemas"]  # /jobs is not part of the face
    text = str(doc)
    assert "'type': 'null'" not in text
    assert "$defs" not in text
