"""`gemello harvest ...`: bring open-data portal datasets into a connector."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from connector.cli.kit import HomeOpt, PartnerOpt, fail, out, partner_session, settings_for

harvest_app = typer.Typer(
    help="Harvest open-data portals into tables and DCAT-AP entries.", no_args_is_help=True
)


@harvest_app.command("opendatasoft")
def opendatasoft(
    base_url: Annotated[
        str, typer.Option(help="portal root, e.g. https://opendata.comune.bologna.it")
    ],
    dataset: Annotated[
        list[str] | None, typer.Option(help="portal dataset id (repeatable)")
    ] = None,
    all_datasets: Annotated[
        bool, typer.Option("--all", help="every dataset the portal lists")
    ] = False,
    partner: PartnerOpt = "comune",
    timeout: Annotated[float, typer.Option(help="seconds per HTTP request")] = 60.0,
    home: HomeOpt = None,
) -> None:
    """Harvest datasets (metadata + CSV export); unchanged ones are skipped, a rerun resumes."""
    import httpx

    from connector.datasets.service import sync_register
    from connector.errors import GemelloError
    from connector.harvest.opendatasoft import Harvester, list_datasets
    from connector.partnerdata.prepare import read_manifest
    from connector.publishing import service
    from connector.publishing.context import CatalogContext

    if not dataset and not all_datasets:
        raise fail("name at least one --dataset, or --all")
    settings = settings_for(partner, home)
    data_dir = settings.resolved_data_dir
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        try:
            ids = list(dataset or []) + (list_datasets(client, base_url) if all_datasets else [])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise fail(f"cannot list the portal's datasets: {exc}") from None
        harvester = Harvester(data_dir, base_url, client)
        with Progress(transient=True) as bar:
            task = bar.add_task("harvesting", total=len(ids))

            def step(dataset_id: str) -> None:
                bar.update(task, advance=1, description=f"harvesting {dataset_id}")

            results = harvester.harvest(ids, step)
    ctx = CatalogContext.offline(settings)
    publisher = ctx.publisher()
    statuses = {}
    with partner_session(partner, home) as session:
        sync_register(session, read_manifest(data_dir))
        for r in results:
            if r.description is None or r.status == "failed":
                continue
            try:
                service.publish(
                    session,
                    r.description,
                    publisher,
                    partner,
                    ctx.validator,
                    by="harvester",
                    data_dir=data_dir,
                    origin="harvested",
                )
                statuses[r.dataset_id] = "published"
            except GemelloError as exc:
                statuses[r.dataset_id] = f"refused: {exc.detail}"
    table = Table(title=f"Harvest from {base_url} into {partner}")
    for col in ("portal dataset", "status", "rows", "catalogue", "detail"):
        table.add_column(col, overflow="fold")
    for r in results:
        style = {"harvested": "green", "unchanged": "cyan"}.get(r.status, "red")
        table.add_row(
            r.dataset_id,
            f"[{style}]{r.status}[/]",
            f"{r.rows:,}",
            statuses.get(r.dataset_id, "—"),
            r.detail,
        )
    out.print(table)
    if any(r.status == "failed" for r in results) or any(
        s.startswith("refused") for s in statuses.values()
    ):
        raise typer.Exit(1)
