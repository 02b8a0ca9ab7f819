"""`gemello catalog ...`: work with dataset descriptions from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from connector.cli.kit import (
    HomeOpt,
    JsonOpt,
    PartnerOpt,
    TokenOpt,
    act_as,
    err,
    fail,
    out,
    partner_session,
    print_json,
    settings_for,
)

catalog_app = typer.Typer(
    help="Dataset descriptions (DCAT-AP 3 + the Gemello profile).", no_args_is_help=True
)

SEVERITY_STYLE = {"Violation": "bold red", "Warning": "yellow", "Info": "cyan"}


def print_results(title: str, results: list[dict[str, Any]]) -> None:
    """SHACL results as a table: severity, focus node, path, message."""
    table = Table(title=title)
    for col in ("severity", "focus node", "path", "message"):
        table.add_column(col, overflow="fold")
    for r in results:
        style = SEVERITY_STYLE.get(r["severity"], "")
        table.add_row(f"[{style}]{r['severity']}[/]", r["focus"], r["path"] or "—", r["message"])
    out.print(table)


@catalog_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="RDF file: .ttl, .jsonld/.json, .rdf/.xml or .nt")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="RDF syntax, if the suffix does not say")
    ] = None,
    official: Annotated[
        bool, typer.Option(help="also check the official DCAT-AP 3.0.1 shapes (from shared/)")
    ] = True,
    partner: Annotated[str, typer.Option(help="whose settings say where shared/ is")] = "comune",
    home: HomeOpt = None,
) -> None:
    """Check a description against the SHACL shapes; exit 0 if it conforms, 1 if not."""
    from catalog import CatalogValidator, MetadataUnreadable, official_shapes_path, read_description

    shapes = None
    if official:
        shared = settings_for(partner, home).shared_dir
        shapes = official_shapes_path(shared)
        if shapes is None:
            out.print(
                f"[yellow]official DCAT-AP shapes not found under {shared}; "
                "checking the Gemello shapes only[/]"
            )
    try:
        graph = read_description(file, fmt)
    except MetadataUnreadable as exc:
        raise fail(str(exc)) from None
    outcome = CatalogValidator(shapes).validate(graph)
    shapes_used = ", ".join(outcome.shapes_used)
    if outcome.results:
        print_results(
            f"{file.name}: SHACL results ({shapes_used})",
            [r.__dict__ for r in outcome.results],
        )
    if outcome.conforms:
        out.print(f"[green]✓[/] {file.name} conforms ({len(graph)} triples; {shapes_used})")
        return
    n = len(outcome.violations)
    out.print(f"[bold red]✗[/] {file.name}: {n} violation{'s' * (n != 1)}")
    raise typer.Exit(1)


FORMATS = {"ttl": "text/turtle", "jsonld": "application/ld+json", "rdf": "application/rdf+xml"}


@catalog_app.command("publish")
def publish(
    file: Annotated[Path, typer.Argument(help="description: .ttl, .jsonld, .rdf or Gemello .json")],
    partner: PartnerOpt = "comune",
    dataset: Annotated[
        str | None, typer.Option(help="dataset id (default: the file name without suffix)")
    ] = None,
    token: TokenOpt = None,
    home: HomeOpt = None,
) -> None:
    """Publish a dataset's description after checking it against the SHACL shapes (as the
    steward whose API token is given)."""
    from connector.errors import ShapeViolation
    from connector.publishing import service
    from connector.runtime import connector_for

    settings = settings_for(partner, home)
    who = act_as(settings, token, "steward", "admin")
    dataset_id = dataset or file.name.split(".")[0]
    media = {
        ".ttl": "text/turtle",
        ".jsonld": "application/ld+json",
        ".rdf": "application/rdf+xml",
        ".xml": "application/rdf+xml",
        ".nt": "application/n-triples",
        ".json": service.JSON_MEDIA_TYPE,
    }.get(file.suffix.lower())
    if media is None:
        raise fail(f"{file.name}: unknown suffix (use .ttl, .jsonld, .rdf, .nt or .json)")
    try:
        body = file.read_bytes()
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    with connector_for(settings) as conn:
        ctx = conn.catalog
    publisher = ctx.publisher()
    with partner_session(partner, home) as session:
        try:
            description = service.read_submission(body, media, dataset_id, publisher, ctx.validator)
            record, _ = service.publish(
                session,
                description,
                publisher,
                partner,
                ctx.validator,
                by=who,
                data_dir=settings.resolved_data_dir,
            )
        except ShapeViolation as exc:
            print_results(f"{file.name}: refused", exc.extensions["results"])
            raise fail(exc.detail, 1) from None
    out.print(f"[green]✓[/] published {record.dataset_id} ({', '.join(ctx.validator.shapes_used)})")


@catalog_app.command("export")
def export(
    dataset: Annotated[str, typer.Argument(help="dataset id")],
    partner: PartnerOpt = "comune",
    fmt: Annotated[str, typer.Option("--format", help="ttl, jsonld or rdf")] = "ttl",
    home: HomeOpt = None,
) -> None:
    """Print a published description (to edit and publish again)."""
    from catalog.rdf import dataset_graph
    from connector.errors import GemelloError
    from connector.publishing import service
    from connector.publishing.endpoints import rdf_response
    from connector.runtime import connector_for
    from connector.storage import session_scope

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}")
    with connector_for(settings_for(partner, home)) as conn:
        publisher = conn.catalog.publisher()
        with session_scope(conn.engine) as session:
            try:
                entry = service.get_entry(session, dataset)
            except GemelloError as exc:
                raise fail(exc.detail, 1) from None
    graph = dataset_graph(publisher, entry, service.series_of(partner))
    sys.stdout.write(bytes(rdf_response(graph, FORMATS[fmt]).body).decode())


@catalog_app.command("refresh")
def refresh(
    partner: Annotated[
        str, typer.Option(help="the home connector whose index to refresh")
    ] = "comune",
    full: Annotated[
        bool, typer.Option(help="re-read whole catalogues and drop vanished entries")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Crawl every member's catalogue (signed DSP requests) into the home connector's index."""
    import asyncio

    import httpx

    from connector.errors import GemelloError
    from connector.gateway.index import refresh as refresh_index
    from connector.identity.peers import PeerClient
    from connector.runtime import connector_for

    with connector_for(settings_for(partner, home)) as conn:

        async def run() -> list[Any]:
            async with httpx.AsyncClient() as http:
                return await refresh_index(conn.engine, PeerClient(conn.identity, http), full)

        try:
            with err.status("crawling the members' catalogues…"):
                reports = asyncio.run(run())
        except GemelloError as exc:
            raise fail(exc.detail) from None
    table = Table(title=f"Federated catalogue of {partner}: refresh")
    for col in ("member", "status", "mode", "received", "written", "removed", "stale", "detail"):
        table.add_column(col, overflow="fold")
    for r in reports:
        style = "green" if r.status == "ok" else "red"
        table.add_row(
            r.partner,
            f"[{style}]{r.status}[/]",
            r.mode,
            str(r.received),
            str(r.written),
            str(r.removed),
            str(r.stale),
            r.detail[:80],
        )
    out.print(table)
    if any(r.status != "ok" for r in reports):
        out.print("[yellow]some members did not answer; their entries are kept, marked stale[/]")


@catalog_app.command("search")
def search(
    text: Annotated[str | None, typer.Argument(help="words that must all appear")] = None,
    theme: Annotated[
        list[str] | None, typer.Option(help="EU data theme, e.g. TRAN (repeatable)")
    ] = None,
    member: Annotated[list[str] | None, typer.Option(help="only this member (repeatable)")] = None,
    area: Annotated[
        str | None, typer.Option(help="statistical area code or name, zone or district")
    ] = None,
    start: Annotated[str | None, typer.Option(help="covering days from YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="covering days up to YYYY-MM-DD")] = None,
    partner: Annotated[
        str, typer.Option(help="the home connector whose index to search")
    ] = "comune",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Search the federated catalogue (the home connector's local index; run `refresh` first)."""
    from datetime import date

    from catalog.model import Theme
    from connector.errors import GemelloError
    from connector.gateway import index
    from connector.gateway.gazetteer import Gazetteer
    from connector.gateway.index_repository import IndexQuery
    from connector.storage import make_engine, upgrade

    settings = settings_for(partner, home)
    try:
        themes = tuple(Theme(t.upper()) for t in theme or ())
        days = [date.fromisoformat(d) if d else None for d in (start, end)]
        boxes = tuple(a.bbox for a in Gazetteer.for_settings(settings).lookup(area)) if area else ()
    except ValueError as exc:
        raise fail(str(exc)) from None
    except GemelloError as exc:
        raise fail(exc.detail) from None
    engine = make_engine(settings.db_url)
    upgrade(engine)
    query = IndexQuery(
        texts=tuple((text or "").split()),
        themes=themes,
        partners=tuple(member or ()),
        boxes=boxes,
        start=days[0],
        end=days[1],
    )
    found = index.search(engine, query, 0, limit)
    engine.dispose()
    if as_json:
        print_json(
            {
                "total": found.total,
                "datasets": [
                    e.model_dump(mode="json", exclude={"document"}) for e in found.entries
                ],
            }
        )
        return
    stale_members = {s.partner for s in found.sources if s.status != "ok"}
    table = Table(title=f"{found.total} dataset{'s' * (found.total != 1)} found")
    for col in ("member", "dataset", "title", "themes", "privacy", "coverage", "state"):
        table.add_column(col, overflow="fold")
    for e in found.entries:
        period = (
            f"{e.start_date or '…'} → {e.end_date or '…'}" if e.start_date or e.end_date else "—"
        )
        state = "[yellow]stale[/]" if e.stale else "[green]fresh[/]"
        table.add_row(
            e.partner, e.dataset_id, e.title, e.themes.strip(), e.privacy_class, period, state
        )
    out.print(table)
    for s in found.sources:
        if s.partner in stale_members:
            seen = s.last_success_at.isoformat(timespec="seconds") if s.last_success_at else "never"
            out.print(f"[yellow]{s.partner}: {s.status} at the last crawl; entries as of {seen}[/]")
    if not found.sources:
        out.print("[yellow]the index is empty: run `gemello catalog refresh` first[/]")


@catalog_app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="dataset id or IRI")],
    member: Annotated[str | None, typer.Option(help="member holding it, if ids clash")] = None,
    partner: Annotated[str, typer.Option(help="the home connector whose index to read")] = "comune",
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show one dataset from the federated catalogue, with its offers."""
    import json

    from connector.gateway import index
    from connector.storage import make_engine, upgrade

    settings = settings_for(partner, home)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    rows = index.find(engine, ref, member)
    engine.dispose()
    if not rows:
        raise fail(f"no dataset '{ref}' in the federated index (try `gemello catalog refresh`)", 1)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    for row in rows:
        doc = row.document
        table = Table(
            title=f"{row.title} — {row.partner}{' (stale)' if row.stale else ''}", show_header=False
        )
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        texts = {t.get("@language"): t.get("@value") for t in doc.get("dct:description", [])}
        table.add_row("IRI", row.dataset_iri)
        table.add_row("description", str(texts.get("en") or texts.get("it") or ""))
        table.add_row("themes", row.themes.strip())
        table.add_row("privacy class", row.privacy_class)
        table.add_row(
            "keywords", ", ".join(k.get("@value", "") for k in doc.get("dcat:keyword", []))
        )
        table.add_row("coverage", f"{row.start_date or '…'} → {row.end_date or '…'}")
        if row.west is not None:
            table.add_row("bbox", f"{row.west:.4f},{row.south:.4f},{row.east:.4f},{row.north:.4f}")
        table.add_row(
            "delivery", ", ".join(d.get("format", "") for d in doc.get("distribution", []))
        )
        for offer in doc.get("hasPolicy", []):
            table.add_row("offer", json.dumps({k: v for k, v in offer.items() if k != "@id"}))
        table.add_row("fetched", row.fetched_at.isoformat(timespec="seconds"))
        out.print(table)
