"""A DP query asked of another member: the consumer side of `POST /privacy/queries`.

A local researcher names an agreement this connector holds as consumer; the query goes, signed,
to the provider, and the provider's answer (or problem) comes back unchanged. The API and the
console both ask through here.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from connector.contracts.repository import ContractRepository
from connector.errors import GemelloError, NotFound
from connector.identity.schemas import Role
from connector.privacy.repository import AskedQueries
from connector.storage import session_scope
from connector.storage.tables import AskedQuery


class Unreachable(GemelloError):
    """The provider could not be reached."""

    title, status, slug = "The provider could not be reached", 502, "upstream-failed"


async def ask_provider(
    contracts: Any, peers: Any, principal: Any, agreement_id: str, query: dict[str, Any]
) -> tuple[int, dict[str, Any], str]:
    """Send a query under an agreement this connector holds: (status, the provider's JSON,
    the provider's member handle)."""
    with session_scope(contracts.engine) as session:
        agreement = ContractRepository(session).agreement(agreement_id)
    if agreement is None or agreement.role != "consumer":
        raise NotFound(f"this connector holds no agreement '{agreement_id}'")
    member = contracts.trust().by_participant.get(agreement.provider)
    if member is None:
        raise NotFound(f"the provider '{agreement.provider}' is no longer a member")
    body = {"agreement_id": agreement_id, "query": query}
    try:
        response = await peers.request(
            "POST", member, "/privacy/queries", principal, json=body, timeout=60
        )
    except httpx.HTTPError as exc:
        raise Unreachable(f"{member.id} unreachable: {exc}") from exc
    try:
        payload = response.json()
    except ValueError:
        raise Unreachable(f"{member.id} answered {response.status_code} without JSON") from None
    return response.status_code, payload, member.id


# Who may ask DP questions (the API and the console admit the same roles).
QUERY_USERS = (Role.researcher, Role.steward, Role.admin)


def record_asked(
    engine: Any,
    subject: str,
    partner: str,
    agreement_id: str,
    query: dict[str, Any],
    status: int,
    answer: dict[str, Any],
) -> AskedQuery:
    """Keep the asker's own record of a query and what came back (audited)."""
    row = AskedQuery(
        id=f"ask-{uuid.uuid4()}",
        subject=subject,
        partner=partner,
        dataset_id=str(query.get("dataset", "")),
        agreement_id=agreement_id,
        query=query,
        status=status,
        answer=answer,
    )
    with session_scope(engine, write=True) as session:
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def my_queries(session: Any, subject: str, limit: int = 50) -> list[AskedQuery]:
    """A person's latest queries, newest first."""
    return AskedQueries(session).of(subject, limit)


def my_query(session: Any, query_id: str, subject: str) -> AskedQuery:
    """One of a person's queries (another's is a 404, as an unknown one)."""
    row = AskedQueries(session).get(query_id)
    if row is None or row.subject != subject:
        raise NotFound(f"no query '{query_id}' of yours")
    return row


def last_budget(session: Any, partner: str, dataset_id: str) -> dict[str, Any] | None:
    """The organisation's budget on a dataset as the provider last reported it (any user of
    this connector's latest answered query), or None before the first answer."""
    row = AskedQueries(session).last_answered(partner, dataset_id)
    return None if row is None else dict(row.answer.get("budget") or {}) or None
