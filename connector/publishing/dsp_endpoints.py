"""Dataspace Protocol 2025-1 catalog endpoints: version, catalogue request, one dataset.

Errors on `/catalog/...` carry the protocol's `CatalogError` members inside the RFC 9457 problem
(see connector/errors.py). Pages are linked with `Link` headers (RFC 8288), as DSP prescribes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalog import dsp
from catalog.model import Publisher, dataset_id_from_iri
from connector.deps import MAX_PAGES, SessionDep
from connector.errors import BadRequest, Problem
from connector.identity.auth import ANY_LOCAL_ROLE, AUTH_RESPONSES, PUBLIC, access
from connector.policies.service import offers_by_dataset
from connector.publishing import service
from connector.publishing.context import CatalogContext, catalog_context
from connector.publishing.repository import CatalogFilter
from policy import default_offer

ContextDep = Annotated[CatalogContext, Depends(catalog_context)]
MAX_PAGE = 1000

version_router = APIRouter(tags=["dataspace protocol"], dependencies=[PUBLIC])
router = APIRouter(
    prefix="/catalog",
    tags=["dataspace protocol"],
    dependencies=[access(*ANY_LOCAL_ROLE, peers=True)],
    responses=AUTH_RESPONSES,
)
CATALOG_ERROR = {"model": Problem, "description": "a DSP CatalogError (also an RFC 9457 problem)"}

# Filter keys this connector honours in a CatalogRequestMessage (DSP leaves the syntax open).
FILTER_KEYS = {
    "theme": "EU data-theme code, or a list of them (any matches)",
    "text": "words that must all appear in title, description or keywords",
    "privacyClass": "open, aggregate-only or compute-only (or a list)",
    "modifiedSince": "ISO 8601 timestamp: only entries changed after it",
    "id": "dataset ids or IRIs (a list)",
}


class CatalogRequestMessage(BaseModel):
    """DSP `CatalogRequestMessage`."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    context: list[str] = Field(alias="@context", min_length=1)
    type: Literal["CatalogRequestMessage"] = Field(alias="@type")
    filter: list[dict[str, Any]] = Field(
        default_factory=list,
        description="objects whose keys are AND-ed: "
        + "; ".join(f"{k}: {v}" for k, v in FILTER_KEYS.items()),
    )

    @field_validator("context")
    @classmethod
    def _dsp_context(cls, value: list[str]) -> list[str]:
        if dsp.DSP_CONTEXT not in value:
            raise ValueError(f"must contain '{dsp.DSP_CONTEXT}'")
        return value


def _as_list(value: Any, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise BadRequest(f"filter '{key}' takes a non-empty string or a list of them")
    return tuple(items)


def parse_filter(items: list[dict[str, Any]], publisher: Publisher) -> CatalogFilter:
    """Turn DSP filter objects into one CatalogFilter; unknown keys are refused, not ignored."""
    themes: list[str] = []
    texts: list[str] = []
    privacy: list[str] = []
    ids: list[str] = []
    since = None
    for item in items:
        for key, value in item.items():
            if key not in FILTER_KEYS:
                raise BadRequest(
                    f"unknown filter '{key}'; this catalogue understands {sorted(FILTER_KEYS)}",
                    filters=FILTER_KEYS,
                )
            if key == "modifiedSince":
                try:
                    since = datetime.fromisoformat(str(value))
                except ValueError:
                    raise BadRequest(
                        f"modifiedSince '{value}' is not an ISO 8601 timestamp"
                    ) from None
                if since.tzinfo is None:
                    raise BadRequest("modifiedSince needs a time zone (e.g. +00:00)")
            elif key == "theme":
                themes += [t.upper() for t in _as_list(value, key)]
            elif key == "text":
                texts += [w for t in _as_list(value, key) for w in t.split()]
            elif key == "privacyClass":
                privacy += _as_list(value, key)
            else:
                ids += [
                    dataset_id_from_iri(i, publisher.participant_id) or i
                    for i in _as_list(value, key)
                ]
    return CatalogFilter(tuple(themes), tuple(texts), tuple(privacy), since, tuple(ids))


def offers_for(
    entry: Any, publisher: Publisher, stored: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The ODRL offer a dataset carries: its steward's policy, else its privacy class's default."""
    d = entry.description
    if d.id in stored:
        return [stored[d.id]]
    privacy = d.governance.privacy_class.value
    personal = d.governance.personal_data
    return [default_offer(publisher.dataset_iri(d.id), privacy, publisher.participant_id, personal)]


@version_router.get("/.well-known/dspace-version")
def dspace_version() -> dict[str, Any]:
    """The Dataspace Protocol versions this connector speaks, and where."""
    return dsp.version_response("/")


def _links(request: Request, page: int, per_page: int, total: int) -> str:
    last = max(1, -(-total // per_page))
    rels = {"first": 1, "last": last}
    if page > 1:
        rels["prev"] = min(page - 1, last)
    if page < last:
        rels["next"] = page + 1
    url = request.url
    return ", ".join(
        f'<{url.include_query_params(page=n, per_page=per_page)}>; rel="{rel}"'
        for rel, n in rels.items()
    )


@router.post(
    "/request",
    response_model=None,
    responses={
        200: {"description": "a DSP Catalog; `Link` headers point to the other pages"},
        400: CATALOG_ERROR,
        422: CATALOG_ERROR,
    },
)
def catalog_request(
    message: CatalogRequestMessage,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGES, description="page number, from 1")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="datasets per page")] = 100,
) -> JSONResponse:
    """DSP catalogue request: this connector's datasets with their offers, one page at a time."""
    publisher = ctx.publisher()
    where = parse_filter(message.filter, publisher)
    entries, total = service.page(session, where, (page - 1) * per_page, per_page)
    stored = offers_by_dataset(session, publisher.participant_id)
    datasets = [dsp.dataset(e, publisher, offers_for(e, publisher, stored)) for e in entries]
    # Plain JSON already: answer directly instead of walking it again with jsonable_encoder.
    return JSONResponse(
        dsp.catalog(publisher, datasets),
        headers={"Link": _links(request, page, per_page, total), "X-Total-Count": str(total)},
    )


@router.get("/datasets/{dataset_id:path}", responses={404: CATALOG_ERROR})
def catalog_dataset(
    dataset_id: Annotated[str, Path(description="dataset id or its IRI")],
    session: SessionDep,
    ctx: ContextDep,
) -> dict[str, Any]:
    """DSP dataset request: one dataset with its offers."""
    publisher = ctx.publisher()
    local = dataset_id_from_iri(dataset_id, publisher.participant_id) or dataset_id
    entry = service.get_entry(session, local)
    stored = offers_by_dataset(session, publisher.participant_id)
    return dsp.dataset(entry, publisher, offers_for(entry, publisher, stored), root=True)
