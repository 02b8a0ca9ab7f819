"""The audit log over HTTP: heads and proofs for members and auditors, entries for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from connector.audit import repository as store
from connector.audit import service
from connector.deps import SessionDep
from connector.errors import BadRequest, Problem
from connector.identity.auth import AUTH_RESPONSES, PrincipalDep, access
from connector.identity.schemas import Role
from connector.runtime import get_connector
from connector.storage.tables import aware
from connector.timestamps import UtcDateTime

proofs = APIRouter(
    prefix="/audit",
    tags=["audit"],
    dependencies=[access(Role.auditor, Role.steward, Role.admin, peers=True)],
    responses=AUTH_RESPONSES,
)
auditors = APIRouter(
    prefix="/audit",
    tags=["audit"],
    dependencies=[access(*service.READERS)],
    responses=AUTH_RESPONSES,
)
witnesses = APIRouter(
    prefix="/audit",
    tags=["audit"],
    dependencies=[access(Role.auditor, Role.admin)],
    responses=AUTH_RESPONSES,
)
members = APIRouter(
    prefix="/audit/members",
    tags=["audit"],
    dependencies=[access(peers=True)],
    responses=AUTH_RESPONSES,
)

MAX_SEQ = 2**63 - 1  # the largest integer a database column holds


class Checkpoint(BaseModel):
    """A signed tree head of this connector's log."""

    log: str = Field(description="the log's name: this connector's participant id")
    size: int
    root: str = Field(description="RFC 9162 Merkle tree hash, hex")
    at: str
    signature: str = Field(description="detached JWS (Ed25519) over log, size, root and time")


class Proof(BaseModel):
    """An RFC 9162 proof: hashes in hex, in the RFC's order."""

    proof: list[str]
    root: str = Field(description="the root of the larger tree")


class Entry(BaseModel):
    """One audit entry."""

    seq: int
    at: UtcDateTime
    actor: str
    organisation: str
    role: str
    purpose: str
    action: str
    target: str
    dataset: str
    outcome: str
    reason: str
    correlation: str
    details: dict[str, Any]
    leaf_hash: str


@proofs.get(
    "/checkpoint",
    response_model=Checkpoint,
    responses={204: {"description": "the log is still empty"}},
)
async def checkpoint(request: Request) -> Any:
    """The latest signed tree head (signed now if the log grew since the last one)."""
    view = await run_in_threadpool(get_connector(request).audit.checkpoint)
    return Response(status_code=204) if view is None else view


def _check(size: int, n: int, what: str) -> None:
    if size > n:
        raise BadRequest(f"{what} {size} is beyond the log's {n} entries")


@proofs.get("/proofs/inclusion", response_model=Proof, responses={400: {"model": Problem}})
def inclusion(
    session: SessionDep,
    index: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    size: Annotated[int, Query(ge=1, le=MAX_SEQ)],
) -> Proof:
    """The audit path of entry `index` in the tree of the first `size` entries."""
    _check(size, store.size(session), "size")
    if index >= size:
        raise BadRequest(f"entry {index} is not in a tree of {size}")
    return Proof(
        proof=[h.hex() for h in store.inclusion(session, index, size)],
        root=store.root(session, size).hex(),
    )


@proofs.get("/proofs/consistency", response_model=Proof, responses={400: {"model": Problem}})
def consistency(
    session: SessionDep,
    first: Annotated[int, Query(ge=1, le=MAX_SEQ)],
    second: Annotated[int, Query(ge=1, le=MAX_SEQ)],
) -> Proof:
    """Proof that the tree of the first `first` entries is a prefix of the one of `second`."""
    _check(second, store.size(session), "second")
    if first > second:
        raise BadRequest("first must not exceed second")
    return Proof(
        proof=[h.hex() for h in store.consistency(session, first, second)],
        root=store.root(session, second).hex(),
    )


@auditors.get("/entries", response_model=list[Entry])
def entries(
    request: Request,
    session: SessionDep,
    after: Annotated[
        int, Query(ge=-1, le=MAX_SEQ, description="entries after this sequence number")
    ] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    newest_first: bool = False,
    action: Annotated[str | None, Query(max_length=60)] = None,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    organisation: Annotated[str | None, Query(max_length=200)] = None,
    dataset: Annotated[str | None, Query(max_length=120)] = None,
    purpose: Annotated[str | None, Query(max_length=40)] = None,
    correlation: Annotated[str | None, Query(max_length=200)] = None,
    target: Annotated[
        str | None, Query(max_length=300, description="e.g. a query, run or agreement id")
    ] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Any]:
    """Audit entries, filtered by exact field values and a time window (events still queued
    by their actions are integrated first, so the answer includes them)."""
    store.integrate_all(get_connector(request).audit.engine)
    filters = {
        k: v
        for k, v in {"action": action, "actor": actor, "organisation": organisation,
                     "dataset": dataset, "purpose": purpose, "correlation": correlation,
                     "target": target}.items()
        if v is not None
    }  # fmt: skip
    rows = store.entries(
        session, after=after, limit=limit, newest_first=newest_first, filters=filters,
        since=aware(since) if since else None, until=aware(until) if until else None,
    )  # fmt: skip
    return [r.model_dump() | {"details": r.detail_map} for r in rows]


class WitnessOut(BaseModel):
    """What witnessing one member found."""

    partner: str
    status: str = Field(description="cosigned, unchanged, fork, invalid or unreachable")
    size: int = Field(description="the size of the member's head that was checked")
    detail: str = ""


@witnesses.post("/witness", response_model=list[WitnessOut])
async def witness_now(request: Request) -> list[WitnessOut]:
    """Witness every other member now, as the background task does every
    `audit_witness_seconds`: fetch each head, check its signature and consistency with the last
    one co-signed here, and co-sign it. A fork is an `audit.fork` event."""
    connector = get_connector(request)
    outcomes = await connector.audit.witness_all(connector.peer_client())
    return [WitnessOut(**o.__dict__) for o in outcomes]


@auditors.get("/witnessed")
def witnessed(
    session: SessionDep, partner: Annotated[str | None, Query(max_length=40)] = None
) -> list[dict[str, Any]]:
    """Other members' heads this connector checked and co-signed, newest first."""
    return [r.model_dump(mode="json") for r in store.witnessed(session, partner)]


@members.get("/entries", response_model=list[Entry])
def entries_about_the_caller(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    correlation: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[Any]:
    """Another member's auditor follows one of its own organisation's acts here (a federated
    job, an agreement): the entries of one correlation whose organisation is the caller's, and
    nothing about anyone else."""
    store.integrate_all(get_connector(request).audit.engine)
    filters = {"organisation": principal.organisation, "correlation": correlation}
    rows = store.entries(session, limit=limit, filters=filters)
    return [r.model_dump() | {"details": r.detail_map} for r in rows]


@members.get("/witnessed")
def heads_of_the_caller(
    request: Request, session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """The heads of the caller's own log that this connector checked and co-signed, newest
    first (what the caller's "verify now" compares its log with)."""
    member = get_connector(request).contracts.trust().by_participant.get(principal.organisation)
    if member is None:
        return []
    return [r.model_dump(mode="json") for r in store.witnessed(session, member.id)[:50]]
