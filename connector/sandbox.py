"""One data holder in process, without HTTP: its database, tables, catalogue, policies, agreements
and epsilon ledger, wired exactly as on a connector.

For tests that need many concurrent queries, for the benchmarks, and for anyone who wants to try
a dataset's profile and policy before publishing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine

from catalog import CatalogValidator
from catalog.model import ContactPoint, DatasetDescription, Governance, LangText, Publisher, Theme
from connector.datasets.service import sync_register
from connector.partnerdata.prepare import add_table, read_manifest
from connector.policies.service import PolicyRuntime, new_id, set_policy
from connector.privacy.service import Answer, Caller, PrivacyRuntime, answer_query
from connector.publishing.service import publish
from connector.storage import Session, make_engine, session_scope, upgrade
from connector.storage.tables import AgreementRecord
from policy import RegoPDP
from privacy import AggregateQuery, DisclosureRules


def record_agreement(
    session: Session, publisher: Publisher, dataset_id: str, consumer: str, purpose: str
) -> str:
    """Store an agreement `publisher` granted to `consumer`, as a finished negotiation would
    (unsigned: for sandboxes, benchmarks and tests, never for another member); its id."""
    agreement_id = new_id("agreement")
    session.add(
        AgreementRecord(
            id=agreement_id,
            negotiation_id=new_id("negotiation"),
            role="provider",
            provider=publisher.participant_id,
            consumer=consumer,
            dataset_id=dataset_id,
            target=publisher.dataset_iri(dataset_id),
            purpose=purpose,
            document={},
            signature="",
        )
    )
    return agreement_id


@dataclass
class Holder:
    """A data holder: call `add_dataset`, `set_policy`, `grant`, then `query`."""

    root: Path
    db_url: str | None = None
    participant: str = "urn:gemello:sandbox:holder"
    rules: DisclosureRules = field(default_factory=DisclosureRules)
    default_total: float = 5.0
    default_per_query: float = 1.0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = make_engine(self.db_url or f"sqlite:///{self.root / 'holder.db'}")
        upgrade(self.engine)
        self.publisher = Publisher(
            participant_id=self.participant, name="sandbox holder", connector_url="http://sandbox"
        )
        self.policies = PolicyRuntime(RegoPDP(), lambda: self.publisher)
        self.privacy = PrivacyRuntime(
            self.root, self.rules, self.default_total, self.default_per_query
        )
        self._validator: CatalogValidator | None = None

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def add_dataset(
        self, dataset_id: str, table: pa.Table, governance: Governance, title: str = ""
    ) -> None:
        """Store a table and publish its description (checked against the Gemello shapes)."""
        add_table(
            self.root,
            dataset_id,
            table,
            title=title or dataset_id,
            description=f"sandbox table {dataset_id}",
            theme="TRAN",
            source="sandbox",
        )
        description = DatasetDescription(
            id=dataset_id,
            title=LangText(en=title or dataset_id),
            description=LangText(en=f"sandbox table {dataset_id}"),
            themes=[Theme.TRAN],
            contact_point=ContactPoint(name="sandbox steward", email="steward@sandbox.example"),
            provenance="sandbox",
            governance=governance,
        )
        if self._validator is None:
            self._validator = CatalogValidator()
        with session_scope(self.engine, write=True) as session:
            sync_register(session, read_manifest(self.root))
            session.flush()
            publish(session, description, self.publisher, "sandbox", self._validator, "sandbox")

    def set_policy(self, dataset_id: str, document: dict[str, Any]) -> None:
        """A steward's ODRL policy for one dataset."""
        with session_scope(self.engine, write=True) as session:
            set_policy(session, self.publisher, dataset_id, document, "sandbox")

    def grant(self, dataset_id: str, consumer: str, purpose: str = "research") -> str:
        """An agreement with `consumer` on a dataset (as if negotiated); its id."""
        with session_scope(self.engine, write=True) as session:
            return record_agreement(session, self.publisher, dataset_id, consumer, purpose)

    def query(
        self, consumer: str, agreement_id: str, query: AggregateQuery | dict[str, Any]
    ) -> Answer:
        """One DP query, exactly as `POST /privacy/queries` answers it."""
        q = query if isinstance(query, AggregateQuery) else AggregateQuery.model_validate(query)
        return answer_query(
            self.engine, self.privacy, self.policies, Caller(consumer), agreement_id, q
        )
