"""Federated catalogue endpoints: search the local index of every member's catalogue, refresh it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from catalog.model import BBox, Theme
from connector.deps import MAX_PAGES
from connector.errors import NotFound, Problem
from connector.gateway import index
from connector.gateway.endpoints import peer_client
from connector.gateway.gazetteer import Gazetteer
from connector.identity.auth import AUTH_RESPONSES, access
from connector.identity.schemas import Role
from connector.runtime import get_connector
from connector.storage.tables import FederatedEntry, FederatedSource
from connector.timestamps import UtcDateTime

router = APIRouter(
    prefix="/federation/catalog",
    tags=["federation"],
    dependencies=[access(Role.researcher, Role.steward, Role.admin, Role.auditor)],
    responses=AUTH_RESPONSES,
)
# Refreshing only reads the members' catalogues; anyone who may search may ask for it.
refresh_router = APIRouter(
    prefix="/federation/catalog",
    tags=["federation"],
    dependencies=[access(Role.researcher, Role.steward, Role.admin)],
    responses=AUTH_RESPONSES,
)


class SourceOut(BaseModel):
    """How fresh one member's part of the index is."""

    partner: str
    participant_id: str
    status: str = Field(description="ok, unreachable, refused or invalid (last crawl)")
    error: str
    entries: int
    last_attempt_at: UtcDateTime
    last_success_at: UtcDateTime | None


class EntryOut(BaseModel):
    """A dataset found in the federated index."""

    partner: str
    dataset_iri: str
    dataset_id: str
    title: str
    themes: list[str]
    privacy_class: str
    bbox: BBox | None
    start_date: date | None
    end_date: date | None
    modified: UtcDateTime | None
    stale: bool = Field(description="its member did not answer the last crawl")
    fetched_at: UtcDateTime


class SearchOut(BaseModel):
    """One page of results, with the freshness of every member's entries."""

    total: int
    results: list[EntryOut]
    sources: list[SourceOut]


class CrawlOut(BaseModel):
    """What a refresh did for one member."""

    partner: str
    status: str
    mode: str
    received: int
    written: int
    removed: int
    stale: int
    detail: str


def entry_out(e: FederatedEntry) -> EntryOut:
    """An index row for the API."""
    has_box = None not in (e.west, e.south, e.east, e.north)
    return EntryOut(
        partner=e.partner,
        dataset_iri=e.dataset_iri,
        dataset_id=e.dataset_id,
        title=e.title,
        themes=e.themes.split(),
        privacy_class=e.privacy_class,
        bbox=BBox(west=e.west, south=e.south, east=e.east, north=e.north) if has_box else None,  # type: ignore[arg-type]
        start_date=e.start_date,
        end_date=e.end_date,
        modified=e.modified,
        stale=e.stale,
        fetched_at=e.fetched_at,
    )


def source_out(s: FederatedSource) -> SourceOut:
    """A crawl record for the API."""
    return SourceOut.model_validate(s, from_attributes=True)


def gazetteer(request: Request) -> Gazetteer:
    """The connector's statistical-area lookup (read once per process and settings)."""
    return Gazetteer.cached(get_connector(request).settings)


@router.get("", response_model=SearchOut)
def search_catalog(
    request: Request,
    q: Annotated[str | None, Query(description="words that must all appear (it or en)")] = None,
    theme: Annotated[list[Theme] | None, Query(description="EU data theme (any of them)")] = None,
    partner: Annotated[list[str] | None, Query(description="member handle, e.g. comune")] = None,
    area: Annotated[
        str | None, Query(description="statistical area code or name, zone or district")
    ] = None,
    bbox: Annotated[str | None, Query(description="west,south,east,north (WGS84 degrees)")] = None,
    start: Annotated[date | None, Query(description="data covering days from this date")] = None,
    end: Annotated[date | None, Query(description="data covering days up to this date")] = None,
    privacy_class: Annotated[list[str] | None, Query()] = None,
    fresh_only: Annotated[bool, Query(description="leave out stale entries")] = False,
    page: Annotated[int, Query(ge=1, le=MAX_PAGES)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SearchOut:
    """Search every member's datasets in this connector's index (no member is called)."""
    query = index.search_query(
        gazetteer(request), q, theme, partner, area, bbox, start, end, privacy_class, fresh_only
    )
    found = index.search(get_connector(request).engine, query, (page - 1) * per_page, per_page)
    return SearchOut(
        total=found.total,
        results=[entry_out(e) for e in found.entries],
        sources=[source_out(s) for s in found.sources],
    )


@router.get("/entries/{ref:path}", responses={404: {"model": Problem}})
def show_entry(request: Request, ref: str, partner: str | None = None) -> list[dict[str, Any]]:
    """The DSP dataset documents the index holds for a dataset id or IRI."""
    rows = index.find(get_connector(request).engine, ref, partner)
    if not rows:
        raise NotFound(f"the federated index has no dataset '{ref}'; try a refresh")
    return [{"partner": r.partner, "stale": r.stale, "dataset": r.document} for r in rows]


@refresh_router.post("/refresh", response_model=list[CrawlOut])
async def refresh_catalog(request: Request, full: bool = False) -> list[CrawlOut]:
    """Crawl every member's catalogue now (incrementally unless `full`)."""
    reports = await index.refresh(get_connector(request).engine, peer_client(request), full)
    return [CrawlOut(**r.__dict__) for r in reports]
