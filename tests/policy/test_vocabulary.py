"""The ODRL profile in code (policy/vocabulary.py) and in the ontology (gemello.ttl) agree."""

from __future__ import annotations

from rdflib import RDF, SKOS, Namespace

from ontology import GEM, vocabulary
from policy.vocabulary import ACTIONS, DUTIES, LEFT_OPERANDS, PURPOSES, ROLES

ODRL = Namespace("http://www.w3.org/ns/odrl/2/")


def test_every_term_is_documented_in_the_profile_vocabulary() -> None:
    g = vocabulary()
    documented_operands = {
        str(s).removeprefix(str(GEM)) for s in g.subjects(RDF.type, ODRL.LeftOperand)
    }
    documented_actions = {str(s).removeprefix(str(GEM)) for s in g.subjects(RDF.type, ODRL.Action)}
    assert documented_operands == set(LEFT_OPERANDS)
    assert documented_actions == set(ACTIONS) | set(DUTIES)
    purposes = {
        str(o) for s in g.subjects(SKOS.inScheme, GEM.Purposes) for o in g.objects(s, SKOS.notation)
    }
    assert purposes == set(PURPOSES)
    for name, broader in PURPOSES.items():
        if broader:
            assert (GEM[f"purpose-{name}"], SKOS.broader, GEM[f"purpose-{broader}"]) in g


def test_recipient_roles_are_the_connector_roles() -> None:
    from connector.identity.schemas import Role

    assert set(ROLES) == {r.value for r in Role}
