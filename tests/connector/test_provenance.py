"""A job's PROV-O provenance respects the ontology's domains (issue 24, item 15)."""

from __future__ import annotations

from datetime import UTC, datetime

from rdflib import RDF, Namespace

import models
from connector.gateway import provenance
from connector.identity.trustlist import Member
from connector.storage.tables import FederatedJob

PROV = Namespace("http://www.w3.org/ns/prov#")


def _job() -> FederatedJob:
    holder = {
        "run_id": "run-1",
        "partner": "comune",
        "holder": "urn:gemello:bologna:comune",
        "stage": "buildings",
        "state": "succeeded",
        "datasets": {"building-stock": "urn:gemello:bologna:comune:dataset:building-stock"},
        "dataset_versions": {"building-stock": "ab" * 32},
        "agreements": {"building-stock": "urn:gemello:agreement:1"},
        "decisions": ["d-1"],
        "privacy": [{"dataset": "building-stock", "epsilon": 1.0}],
        "digest": "cd" * 32,
        "bytes": 1234,
    }
    return FederatedJob(
        id="job-00000000-0000-0000-0000-000000000000",
        model="energy-5r1c",
        model_hash=models.get("energy-5r1c").hash,
        params={"retrofit_share": 0.3},
        purpose="research",
        epsilon=1.0,
        requested_by="usr_0123456789abcdef",
        requested_role="researcher",
        state="succeeded",
        holders=[holder],
        created_at=datetime(2026, 12, 6, 10, tzinfo=UTC),
    )


def test_plans_hang_on_associations_and_partials_name_their_run_and_holder() -> None:
    gateway = Member(
        id="unibo",
        participant_id="urn:gemello:bologna:unibo",
        legal_name="Università di Bologna",
        connector_url="http://127.0.0.1:8403",
    )
    model = models.get("energy-5r1c")
    doc = provenance.for_job(_job(), model, gateway, datetime(2026, 12, 6, 11, tzinfo=UTC))
    graph = provenance.as_graph(doc)
    plan = f"urn:gemello:model:{model.hash}"
    planned = list(graph.subjects(PROV.hadPlan, None))
    assert len(planned) == 2  # the job's association (gateway) and the run's (holder)
    for association in planned:
        # prov:hadPlan's domain is prov:Association: never an activity
        assert (association, RDF.type, PROV.Association) in graph
        assert (association, RDF.type, PROV.Activity) not in graph
        assert str(graph.value(association, PROV.hadPlan)) == plan
        assert graph.value(association, PROV.agent) is not None
    activities = set(graph.subjects(RDF.type, PROV.Activity))
    assert {str(graph.value(a, PROV.agent)) for a in planned} == {
        "urn:gemello:bologna:unibo",
        "urn:gemello:bologna:comune",
    }
    for activity in activities:
        assert graph.value(activity, PROV.qualifiedAssociation) is not None
    partials = [s for s in graph.subjects(PROV.wasGeneratedBy, None) if str(s).endswith(":partial")]
    assert len(partials) == 1
    [partial] = partials
    assert str(graph.value(partial, PROV.wasGeneratedBy)) == "urn:gemello:run:run-1"
    assert str(graph.value(partial, PROV.wasAttributedTo)) == "urn:gemello:bologna:comune"
    result = next(
        s for s in graph.subjects(PROV.wasGeneratedBy, None) if str(s).endswith(":result")
    )
    assert str(graph.value(result, PROV.wasAttributedTo)) == "urn:gemello:bologna:unibo"
