"""Uses under an agreement: counted atomically in the database, on SQLite and on PostgreSQL.

Forty requests race for an agreement whose policy allows five uses: exactly five are allowed,
the count ends at five, and every request leaves a decision record.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import Engine

from catalog.model import Publisher
from connector.contracts.repository import ContractRepository
from connector.contracts.uses import authorise_use
from connector.policies.repository import DecisionRepository
from connector.policies.service import PolicyRuntime, UseOutcome, set_policy
from connector.storage import make_engine, session_scope, upgrade
from connector.storage.tables import AgreementRecord, CatalogRecord
from policy import RegoPDP

PUBLISHER = Publisher(
    participant_id="urn:gemello:test:holder", name="holder", connector_url="http://x"
)
CONSUMER = "urn:gemello:test:consumer"
FIVE_USES = {
    "@id": "urn:gemello:test:policy:five",
    "permission": [
        {
            "action": "read",
            "constraint": [{"leftOperand": "count", "operator": "lteq", "rightOperand": 5}],
        }
    ],
}


def _setup(engine: Engine, agreement_id: str = "urn:gemello:agreement:a1") -> PolicyRuntime:
    upgrade(engine)
    with session_scope(engine, write=True) as session:
        session.add(
            CatalogRecord(
                dataset_id="counts",
                origin="generated",
                description={},
                facts={},
                privacy_class="open",
                modified=datetime.now(UTC),
            )
        )
        session.flush()
        set_policy(session, PUBLISHER, "counts", FIVE_USES, "test")
        session.add(
            AgreementRecord(
                id=agreement_id,
                negotiation_id="n1",
                role="provider",
                provider=PUBLISHER.participant_id,
                consumer=CONSUMER,
                dataset_id="counts",
                target=PUBLISHER.dataset_iri("counts"),
                purpose="research",
                document={},
                signature="",
            )
        )
    return PolicyRuntime(RegoPDP(), lambda: PUBLISHER)


def _use(engine: Engine, runtime: PolicyRuntime, organisation: str = CONSUMER) -> UseOutcome:
    with session_scope(engine, write=True) as session:
        return authorise_use(session, runtime, "urn:gemello:agreement:a1", "read", organisation)


def test_concurrent_uses_never_exceed_the_limit(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        runtime = _setup(engine)
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(lambda _: _use(engine, runtime), range(40)))
        allowed = [o for o in outcomes if o.allowed]
        assert len(allowed) == 5
        denied_reasons = {r for o in outcomes if not o.allowed for r in o.reasons}
        assert any("count" in r for r in denied_reasons), denied_reasons
        with session_scope(engine) as session:
            agreement = ContractRepository(session).agreement("urn:gemello:agreement:a1")
            assert agreement is not None
            assert agreement.use_count == 5
            records = DecisionRepository(session).search(dataset_id="counts", limit=1000)
            assert len(records) == 40
            assert sum(r.allowed for r in records) == 5
    finally:
        engine.dispose()


def test_a_revoked_or_foreign_agreement_is_denied_and_not_counted(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        runtime = _setup(engine)
        foreign = _use(engine, runtime, organisation="urn:gemello:test:other")
        assert not foreign.allowed
        assert "no agreement" in foreign.reasons[0]
        with session_scope(engine, write=True) as session:
            agreement = ContractRepository(session).agreement("urn:gemello:agreement:a1")
            assert agreement is not None
            agreement.revoked_at, agreement.revoke_reason = datetime.now(UTC), "ended"
            session.add(agreement)
        revoked = _use(engine, runtime)
        assert not revoked.allowed
        assert "revoked: ended" in revoked.reasons[0]
        with session_scope(engine) as session:
            agreement = ContractRepository(session).agreement("urn:gemello:agreement:a1")
            assert agreement is not None
            assert agreement.use_count == 0
    finally:
        engine.dispose()
