"""The public algorithm register over HTTP, against a real unibo app (SQLite, in process), as
an anonymous reader: a record per installed model version with its code hash, exports in the
ATRS attribute names that validate against the schema written from the official field table,
the fields left to people listed, and use counted by organisation and purpose with no names.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime

import httpx
import jsonschema
import pytest

from connector.audit import repository as store
from connector.audit.events import AuditEvent
from connector.publishing import algorithms
from connector.publishing.atrs import RELATIVE, read_fields
from connector.settings import Settings
from connector.storage import migrated_session
from models.registry import INSTALLED, MODELS

pytestmark = pytest.mark.anyio
# What no part of the system knows, for every model: a person must write it (ATRS names).
LEFT_TO_PEOPLE = {
    "senior_responsible_owner", "external_supplier", "companies_house_number",
    "external_supplier_role", "procurement_procedure_type", "data_access_terms",
    "previous_process", "alternatives_considered", "required_training", "appeals_and_review",
    "data_description", "data_quantities", "data_collection", "data_cleaning",
    "impact_assessment",
}  # fmt: skip


@pytest.fixture
def atrs(unibo_settings: Settings) -> Settings:
    assert unibo_settings.shared_dir is not None
    if not (unibo_settings.shared_dir / RELATIVE).is_file():
        pytest.skip(f"the ATRS field table is not at {unibo_settings.shared_dir / RELATIVE}")
    return unibo_settings


@pytest.mark.usefixtures("atrs")
async def test_a_record_per_model_version_with_its_code_hash(
    anon_client: httpx.AsyncClient,
) -> None:
    page = await anon_client.get("/public/algorithms")
    assert page.status_code == 200
    assert "content-security-policy" in page.headers
    for model, _ in INSTALLED:
        assert model.hash in page.text
        record = await anon_client.get(f"/public/algorithms/{model.name}")
        assert record.status_code == 200
        assert model.hash in record.text
    english = await anon_client.get("/public/algorithms/mobility-ctm?lang=en")
    assert "Fields a person must still write" in english.text
    missing = await anon_client.get("/public/algorithms/no-such-model")
    assert missing.status_code == 404


async def test_exports_use_the_atrs_names_and_validate_against_its_schema(
    atrs: Settings, anon_client: httpx.AsyncClient
) -> None:
    assert atrs.shared_dir is not None
    fields = read_fields(atrs.shared_dir / RELATIVE)
    schema = (await anon_client.get("/public/algorithms/schema.json")).json()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {f.attribute for f in fields}
    records = (await anon_client.get("/public/algorithms.json")).json()
    assert len(records) == len(INSTALLED)
    validator = jsonschema.Draft202012Validator(schema)
    for record in records:
        errors = [e.message for e in validator.iter_errors(record)]
        assert not errors, errors
    italian = (await anon_client.get("/public/algorithms.json?lang=it")).json()
    assert italian[0]["region"].endswith("Italia")
    table = (await anon_client.get("/public/algorithms.csv")).text
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[0] == [f.attribute for f in fields]
    assert len(rows) == 1 + len(INSTALLED)
    by_name = {r[rows[0].index("model_name")]: r for r in rows[1:]}
    assert MODELS["flood-scs-nash"].hash in by_name["flood-scs-nash"][rows[0].index("models")]


def test_every_field_is_from_the_system_declared_or_left_to_people(atrs: Settings) -> None:
    assert atrs.shared_dir is not None
    fields = read_fields(atrs.shared_dir / RELATIVE)
    pub = algorithms.Publisher("unibo", "Università di Bologna", "https://x/public", {})
    with migrated_session(atrs.db_url) as session:
        entries = algorithms.register(session, fields, pub, "en", date(2026, 12, 7))
    tiered = {f.attribute for f in fields if f.tier in ("1", "2")}
    for entry in entries:
        left = set(entry.left_to_people)
        print(entry.model, "left to people:", ", ".join(sorted(left)))
        assert left == LEFT_TO_PEOPLE, left ^ LEFT_TO_PEOPLE
        assert set(entry.sources) | left == {f.attribute for f in fields}
        assert all(entry.atrs[a] != "" for a in entry.sources if a != "date_archived")
        assert tiered - left <= set(entry.sources)
    # what the system knows of the inputs: personal data only in fbk's trips (the gravity model)
    by_model = {e.model: e.atrs for e in entries}
    assert "trips: personal data" in by_model["mobility-gravity"]["sensitive_attributes"]
    assert (
        by_model["flood-scs-nash"]["sensitive_attributes"] == "No personal data among the inputs."
    )
    assert "rainfall-daily: input of the stage" in by_model["flood-scs-nash"]["dataset_purposes"]


async def test_use_is_counted_by_organisation_and_purpose_with_no_names(
    atrs: Settings, anon_client: httpx.AsyncClient
) -> None:
    model = MODELS["flood-scs-nash"]
    with migrated_session(atrs.db_url) as session:
        for org, purpose in (("urn:gemello:bologna:unibo", "research"),
                             ("urn:gemello:bologna:unibo", "research"),
                             ("urn:gemello:bologna:comune", "planning")):  # fmt: skip
            event = AuditEvent(
                action="compute.job", outcome="succeeded", organisation=org,
                actor="usr_0123456789abcdef", purpose=purpose, target="job-x",
                details={"model": model.name, "model_hash": model.hash, "name": "Anna Rossi"},
            )  # fmt: skip
            store.append(session, event, datetime.now(UTC))
        store.integrate(session)
        session.commit()
    page = (await anon_client.get("/public/algorithms/flood-scs-nash?lang=en")).text
    assert "Runs: 3" in page
    assert "unibo (2)" in page or "unibo: 2" in page
    assert "research (2)" in page
    assert "planning (1)" in page
    for secret in ("usr_0123456789abcdef", "Anna Rossi", "job-x"):
        assert secret not in page
    assert (
        json.dumps("usr_0123456789abcdef")
        not in (await anon_client.get("/public/algorithms.json")).text
    )


async def test_data_use_counts_uses_and_epsilon_by_organisation_and_purpose(
    atrs: Settings, anon_client: httpx.AsyncClient
) -> None:
    unibo, cineca = "urn:gemello:bologna:unibo", "urn:gemello:bologna:cineca"
    events = [
        AuditEvent(action="policy.aggregate", outcome="allowed", organisation=unibo,
                   purpose="research", dataset="bike-counters", actor="usr_feedfacefeedface",
                   details={"context": "aggregate"}),
        AuditEvent(action="policy.aggregate", outcome="denied", organisation=unibo,
                   purpose="research", dataset="bike-counters", details={"context": "aggregate"}),
        AuditEvent(action="policy.read", outcome="allowed", organisation=cineca,
                   purpose="research", dataset="bike-counters",
                   details={"context": "negotiation"}),  # an agreement, not a use
        AuditEvent(action="privacy.charge", outcome="committed", organisation=unibo,
                   purpose="research", dataset="bike-counters",
                   details={"epsilon": 0.25, "name": "Anna Rossi"}),
        AuditEvent(action="privacy.budget", outcome="raised", dataset="bike-counters",
                   target=unibo, reason="Progetto ciclabili approvato dal comitato",
                   details={"epsilon_micro": 1_500_000}),
    ]  # fmt: skip
    with migrated_session(atrs.db_url) as session:
        for event in events:
            store.append(session, event, datetime.now(UTC))
        store.integrate(session)
        session.commit()
    page = await anon_client.get("/public/data-use?lang=en")
    assert page.status_code == 200
    row = re.search(r"<tr><td>unibo</td><td>research</td>(.*?)</tr>", page.text)
    assert row, page.text[-3000:]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))
    assert cells[:3] == ["1", "1", "0.25"], cells  # allowed, denied, epsilon
    assert "cineca" not in page.text  # its negotiation is not a use
    assert "Progetto ciclabili approvato dal comitato" in page.text
    for secret in ("usr_feedfacefeedface", "Anna Rossi"):
        assert secret not in page.text
