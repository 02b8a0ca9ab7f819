"""`gemello catalog ...`: work with dataset descriptions from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from connector.clikit import HomeOpt, fail, out, settings_for

catalog_app = typer.Typer(
    help="Dataset descriptions (DCAT-AP 3 + the Gemello profile).", no_args_is_help=True
)

SEVERITY_STYLE = {"Violation": "bold red", "Warning": "yellow", "Info": "cyan"}


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
        table = Table(title=f"{file.name}: SHACL results ({shapes_used})")
        for col in ("severity", "focus node", "path", "message"):
            table.add_column(col, overflow="fold")
        for r in outcome.results:
            style = SEVERITY_STYLE.get(r.severity, "")
            table.add_row(f"[{style}]{r.severity}[/]", r.focus, r.path or "—", r.message)
        out.print(table)
    if outcome.conforms:
        out.print(f"[green]✓[/] {file.name} conforms ({len(graph)} triples; {shapes_used})")
        return
    n = len(outcome.violations)
    out.print(f"[bold red]✗[/] {file.name}: {n} violation{'s' * (n != 1)}")
    raise typer.Exit(1)
