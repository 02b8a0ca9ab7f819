"""The federated catalogue: crawl every member's DSP catalogue into a local index, and search it.

A crawl asks each member with signed `POST /catalog/request` calls, following `Link: rel=next`.
The first crawl of a member (and every `full` one) takes the whole catalogue and drops entries
the member no longer lists; later ones ask only for entries modified since the newest one seen
(`modifiedSince` filter), so a refresh of an unchanged federation moves one small page per member.
A member that cannot be reached keeps its entries, marked stale, until it answers again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import Engine

from catalog.dsp import DSP_CONTEXT, G, NotADataset, summary_from_dataset
from catalog.model import BBox, Theme
from connector.errors import BadRequest, Forbidden
from connector.gateway.gazetteer import Gazetteer
from connector.gateway.index_repository import IndexQuery, IndexRepository
from connector.identity.peers import PeerClient
from connector.identity.schemas import Principal, Role
from connector.identity.trustlist import Member, TrustListInvalid
from connector.storage import session_scope
from connector.storage.tables import FederatedEntry, FederatedSource, utcnow

log = logging.getLogger("gemello.federation")

PAGE_SIZE = 500
MAX_PAGES = 1000  # a member cannot keep a crawler busy forever
CRAWL_TIMEOUT_S = 20.0


class CrawlFailed(Exception):
    """A member's catalogue could not be read; `status` says how."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class CrawlReport:
    """What one member's crawl did."""

    partner: str
    status: str  # ok, unreachable, refused, invalid
    mode: str  # full or incremental
    received: int
    written: int
    removed: int
    stale: int
    detail: str = ""


def crawler_principal(me: Member) -> Principal:
    """Who the crawler acts for: this connector itself (no person behind it)."""
    return Principal(
        kind="user",
        organisation=me.participant_id,
        partner=me.id,
        subject="catalogue-crawler",
        role=Role.researcher,
        credential="internal",
    )


async def fetch_catalog(
    peers: PeerClient, member: Member, principal: Principal, since: datetime | None
) -> list[dict[str, Any]]:
    """Every dataset of a member's catalogue (changed since `since`, when given)."""
    body: dict[str, Any] = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage"}
    if since is not None:
        body["filter"] = [{"modifiedSince": since.isoformat()}]
    path: str | None = f"/catalog/request?per_page={PAGE_SIZE}"
    datasets: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if path is None:
            return datasets
        try:
            resp = await peers.request(
                "POST", member, path, principal, json=body, timeout=CRAWL_TIMEOUT_S
            )
        except httpx.HTTPError as exc:
            raise CrawlFailed("unreachable", f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code in (401, 403):
            raise CrawlFailed("refused", f"HTTP {resp.status_code}: {resp.text[:200]}")
        if resp.status_code != 200:
            raise CrawlFailed("invalid", f"HTTP {resp.status_code}: {resp.text[:200]}")
        try:
            catalog = resp.json()
        except ValueError:
            raise CrawlFailed("invalid", "the catalogue is not JSON") from None
        if not isinstance(catalog, dict) or catalog.get("@type") != "Catalog":
            raise CrawlFailed("invalid", "the answer is not a DSP Catalog")
        datasets += [d for d in catalog.get("dataset", []) if isinstance(d, dict)]
        nxt = resp.links.get("next", {}).get("url")
        path = _same_origin_path(nxt, member) if nxt else None
    raise CrawlFailed("invalid", f"more than {MAX_PAGES} pages")


def _same_origin_path(url: str, member: Member) -> str:
    # Follow only links back to the same connector: a catalogue must not steer the crawler.
    parsed = httpx.URL(url)
    if parsed.is_absolute_url and not url.startswith(member.connector_url):
        raise CrawlFailed("invalid", f"next link leaves the member's connector: {url}")
    return parsed.raw_path.decode()


def _entry(partner: str, item: dict[str, Any], now: datetime) -> FederatedEntry:
    s = summary_from_dataset(item)
    box = s.bbox
    return FederatedEntry(
        partner=partner,
        dataset_iri=s.iri,
        dataset_id=s.dataset_id,
        title=s.title,
        themes=" " + " ".join(s.themes) + " ",
        privacy_class=s.privacy_class,
        search_text=s.search_text,
        west=box.west if box else None,
        south=box.south if box else None,
        east=box.east if box else None,
        north=box.north if box else None,
        start_date=s.start,
        end_date=s.end,
        modified=s.modified,
        document=item,
        fetched_at=now,
        stale=False,
    )


def _comparable(moment: datetime | None) -> datetime | None:
    # SQLite returns naive UTC; compare like with like.
    return moment.replace(tzinfo=None) if moment is not None else None


def record_crawl(
    engine: Engine,
    member: Member,
    mode: str,
    items: Sequence[dict[str, Any]] | None,
    failure: CrawlFailed | None,
) -> CrawlReport:
    """Write one member's crawl into the index in one transaction."""
    now = utcnow()
    with session_scope(engine, write=True) as session:
        repo = IndexRepository(session)
        source = repo.source(member.id) or FederatedSource(
            partner=member.id,
            participant_id=member.participant_id,
            status="new",
            last_attempt_at=now,
        )
        source.participant_id = member.participant_id
        source.last_attempt_at = now
        if failure is not None or items is None:
            stale = repo.set_stale(member.id, True)
            source.status = failure.status if failure else "invalid"
            source.error = failure.detail if failure else ""
            repo.put_source(source)
            return CrawlReport(member.id, source.status, mode, 0, 0, 0, stale, source.error)
        known = repo.entry_versions(member.id)
        fresh, skipped = [], 0
        for item in items:
            try:
                entry = _entry(member.id, item, now)
            except NotADataset:
                skipped += 1
                continue
            if entry.dataset_iri in known and _comparable(known[entry.dataset_iri]) == _comparable(
                entry.modified
            ):
                continue
            fresh.append(entry)
        repo.put_entries(fresh)
        removed = 0
        if mode == "full":
            removed = repo.delete_missing(member.id, {str(i.get("@id")) for i in items})
        repo.set_stale(member.id, False)
        newest = max((e.modified for e in fresh if e.modified), default=None)
        if newest is not None and (
            source.max_modified is None or _comparable(newest) > _comparable(source.max_modified)  # type: ignore[operator]
        ):
            source.max_modified = newest
        source.status, source.error = "ok", f"{skipped} unreadable items" if skipped else ""
        source.last_success_at = now
        source.entries = len(known) + sum(1 for e in fresh if e.dataset_iri not in known) - removed
        repo.put_source(source)
        return CrawlReport(member.id, "ok", mode, len(items), len(fresh), removed, 0, source.error)


async def crawl_member(
    engine: Engine, peers: PeerClient, member: Member, me: Member, full: bool
) -> CrawlReport:
    """Crawl one member and record the outcome."""
    with session_scope(engine) as session:
        source = IndexRepository(session).source(member.id)
        since = None if full or source is None or source.status == "new" else source.max_modified
        first = source is None or source.last_success_at is None
    mode = "full" if full or first or since is None else "incremental"
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # SQLite returns naive UTC
    try:
        items = await fetch_catalog(
            peers, member, crawler_principal(me), None if mode == "full" else since
        )
    except CrawlFailed as failure:
        log.warning("catalogue of %s not refreshed: %s", member.id, failure.detail)
        return await asyncio.to_thread(record_crawl, engine, member, mode, None, failure)
    return await asyncio.to_thread(record_crawl, engine, member, mode, items, None)


async def refresh(engine: Engine, peers: PeerClient, full: bool = False) -> list[CrawlReport]:
    """Crawl every member of the trust list at once; forget members that left."""
    members = peers.members()  # Forbidden when the trust list does not verify
    try:
        me = peers.ctx.own_member()
    except TrustListInvalid as exc:
        raise Forbidden(f"cannot crawl: {exc}", "trust_list_invalid") from exc
    reports = await asyncio.gather(*(crawl_member(engine, peers, m, me, full) for m in members))
    current = {m.id for m in members}

    def forget_former_members() -> None:
        with session_scope(engine, write=True) as session:
            repo = IndexRepository(session)
            for source in repo.sources():
                if source.partner not in current:
                    repo.delete_partner(source.partner)

    await asyncio.to_thread(forget_former_members)  # never a write on the event loop
    return list(reports)


@dataclass(frozen=True)
class SearchPage:
    """One page of federated search results."""

    entries: Sequence[FederatedEntry]
    total: int
    sources: Sequence[FederatedSource]


def search(engine: Engine, query: IndexQuery, offset: int = 0, limit: int = 50) -> SearchPage:
    """Search the local index (never calls a member)."""
    with session_scope(engine) as session:
        repo = IndexRepository(session)
        rows, total = repo.search(query, offset, limit)
        sources = repo.sources()
        for obj in (*rows, *sources):
            session.expunge(obj)
    return SearchPage(rows, total, sources)


def find(engine: Engine, ref: str, partner: str | None = None) -> list[FederatedEntry]:
    """Index entries by dataset id or IRI."""
    with session_scope(engine) as session:
        rows = list(IndexRepository(session).get(partner, ref))
        for row in rows:
            session.expunge(row)
    return rows


def inputs_by_synthetic(
    engine: Engine, holders: Sequence[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """A run's input datasets as `dataset (partner)`, each once in the holders' order: those
    the federated catalogue marks synthetic, and the others."""
    synthetic: list[str] = []
    real: list[str] = []
    seen = set()
    for h in holders:
        for dataset in h.get("datasets") or {}:
            key = (h.get("partner"), dataset)
            if key in seen:
                continue
            seen.add(key)
            rows = find(engine, dataset, str(h.get("partner")))
            flag = rows[0].document.get(G + "synthetic") if rows else None
            (synthetic if flag else real).append(f"{dataset} ({h.get('partner')})")
    return synthetic, real


def parse_bbox(text: str) -> BBox:
    """'west,south,east,north' in degrees."""
    try:
        w, s, e, n = (float(v) for v in text.split(","))
        return BBox(west=w, south=s, east=e, north=n)
    except ValueError as exc:
        raise BadRequest(
            f"bbox '{text}' is not 'west,south,east,north' in degrees: {exc}"
        ) from None


def search_query(
    places: Gazetteer,
    q: str | None = None,
    theme: list[Theme] | None = None,
    partner: list[str] | None = None,
    area: str | None = None,
    bbox: str | None = None,
    start: date | None = None,
    end: date | None = None,
    privacy_class: list[str] | None = None,
    fresh_only: bool = False,
) -> IndexQuery:
    """A federated search from what a person typed (the API and the console both ask this);
    BadRequest names what does not make sense."""
    if start and end and start > end:
        raise BadRequest("start is after end")
    boxes: tuple[BBox, ...] = ()
    if area:
        boxes += tuple(a.bbox for a in places.lookup(area))
    if bbox:
        boxes += (parse_bbox(bbox),)
    return IndexQuery(
        texts=tuple((q or "").split()),
        themes=tuple(theme or ()),
        partners=tuple(partner or ()),
        boxes=boxes,
        start=start,
        end=end,
        privacy_classes=tuple(privacy_class or ()),
        fresh_only=fresh_only,
    )
