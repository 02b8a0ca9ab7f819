"""DCAT-AP endpoints: the catalogue in Turtle, JSON-LD or RDF/XML, and publishing a description."""

from __future__ import annotations

import warnings
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from rdflib import Graph

from catalog.rdf import catalog_graph, dataset_graph
from connector.deps import SessionDep, SettingsDep, WriteSessionDep
from connector.errors import NotAcceptable, Problem
from connector.gateway import publications
from connector.identity.auth import ANY_LOCAL_ROLE, AUTH_RESPONSES, PrincipalDep, access
from connector.identity.schemas import Role
from connector.publishing import service
from connector.publishing.context import CatalogContext, catalog_context
from connector.timestamps import as_utc

ContextDep = Annotated[CatalogContext, Depends(catalog_context)]
DatasetId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,119}$", description="dataset id")]

# Media type -> (rdflib syntax, response media type). The first is the default.
RDF_OUTPUT = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
}
RDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "DCAT-AP 3 in the syntax the Accept header asks for (default Turtle)",
        "content": {t: {"schema": {"type": "string"}} for t in RDF_OUTPUT},
    },
    406: {"model": Problem, "description": "no supported syntax in Accept"},
}

router = APIRouter(
    prefix="/dcat",
    tags=["catalogue (DCAT-AP)"],
    dependencies=[access(*ANY_LOCAL_ROLE, peers=True)],
    responses=AUTH_RESPONSES,
)
steward_router = APIRouter(
    prefix="/dcat",
    tags=["catalogue (DCAT-AP)"],
    dependencies=[access(Role.steward, Role.admin)],
    responses=AUTH_RESPONSES,
)


def negotiate(accept: str | None) -> str:
    """The RDF media type to answer with (RFC 9110 quality values honoured)."""
    if not accept:
        return "text/turtle"
    offers = []
    for i, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        q = 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        offers.append((q, -i, fields[0].lower()))
    for q, _, media in sorted(offers, reverse=True):
        if q <= 0:
            continue
        if media in RDF_OUTPUT:
            return media
        if media in ("*/*", "text/*", "application/*"):
            return "text/turtle" if media != "application/*" else "application/ld+json"
    raise NotAcceptable(
        f"cannot answer '{accept}'; this endpoint serves {', '.join(RDF_OUTPUT)}",
        available=list(RDF_OUTPUT),
    )


def rdf_response(graph: Graph, accept: str | None) -> Response:
    """Serialise a graph in the negotiated syntax."""
    media = negotiate(accept)
    with warnings.catch_warnings():
        # rdflib's JSON-LD serializer still goes through its deprecated ConjunctiveGraph.
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        body = graph.serialize(format=RDF_OUTPUT[media])
    return Response(body, media_type=media, headers={"Vary": "Accept"})


@router.get("/catalog", responses=RDF_RESPONSES, response_class=Response)
def dcat_catalog(
    request: Request, session: SessionDep, ctx: ContextDep, settings: SettingsDep
) -> Response:
    """The whole catalogue as DCAT-AP 3 (Turtle, JSON-LD or RDF/XML by content negotiation):
    the datasets held here, and the results published here as datasets derived from their
    inputs (`prov:wasDerivedFrom`)."""
    negotiate(request.headers.get("accept"))  # refuse before doing the work
    publisher = ctx.publisher()
    derived = [
        publications.as_derived(row, publisher.connector_url)
        for row in publications.all_published(session)
    ]
    graph = catalog_graph(
        publisher, service.all_entries(session), service.series_of(settings.partner), derived
    )
    return rdf_response(graph, request.headers.get("accept"))


@router.get(
    "/datasets/{dataset_id}",
    responses={**RDF_RESPONSES, 404: {"model": Problem}},
    response_class=Response,
)
def dcat_dataset(
    dataset_id: DatasetId,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    settings: SettingsDep,
) -> Response:
    """One dataset's DCAT-AP 3 description, by content negotiation."""
    negotiate(request.headers.get("accept"))
    entry = service.get_entry(session, dataset_id)
    graph = dataset_graph(ctx.publisher(), entry, service.series_of(settings.partner))
    return rdf_response(graph, request.headers.get("accept"))


JSON_BODY_HELP = (
    "Gemello JSON: the fields of catalog.model.DatasetDescription (id, title, description, "
    "themes, contact_point, provenance, governance...)"
)


class PublishedOut(BaseModel):
    """What publishing stored."""

    dataset_id: str
    origin: str
    modified: str
    shapes: list[str] = Field(description="the shape sets the description was checked against")
    warnings: list[str] = Field(description="SHACL warnings (the description was accepted)")


@steward_router.put(
    "/datasets/{dataset_id}",
    response_model=PublishedOut,
    responses={
        404: {"model": Problem},
        422: {"model": Problem, "description": "refused: SHACL results in `results`"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in service.RDF_MEDIA_TYPES}
            | {
                service.JSON_MEDIA_TYPE: {
                    "schema": {
                        "type": "object",
                        "description": JSON_BODY_HELP,
                    }
                }
            },
        }
    },
)
async def publish_dataset(
    dataset_id: DatasetId,
    request: Request,
    session: WriteSessionDep,
    ctx: ContextDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> PublishedOut:
    """Publish a dataset's description (Turtle, JSON-LD, RDF/XML or Gemello JSON).

    It is checked against Gemello's SHACL shapes and the official DCAT-AP 3.0.1 shapes; a
    description with any violation is refused with 422 and every result (focus node, path,
    message) in `results`.
    """
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    publisher = ctx.publisher()
    description = service.read_submission(body, media, dataset_id, publisher, ctx.validator)
    record, outcome = service.publish(
        session,
        description,
        publisher,
        settings.partner,
        ctx.validator,
        by=principal.subject,
        data_dir=settings.resolved_data_dir,
    )
    return PublishedOut(
        dataset_id=record.dataset_id,
        origin=record.origin,
        modified=as_utc(record.modified).isoformat(),
        shapes=list(outcome.shapes_used),
        warnings=[
            f"{r.focus} {r.path or ''}: {r.message}"
            for r in outcome.results
            if r.severity != "Violation"
        ],
    )
