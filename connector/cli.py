"""The `gemello` command line: set up the local dataspace, run connectors, run the demo."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from connector.cli_audit import audit_app
from connector.cli_catalog import catalog_app
from connector.cli_contracts import agreements_app, approvals_app
from connector.cli_harvest import harvest_app
from connector.cli_jobs import jobs_app
from connector.cli_jobs import models as models_command
from connector.cli_jobs import run as run_command
from connector.cli_policy import policy_app
from connector.cli_privacy import budget_app
from connector.cli_privacy import query as query_command
from connector.clikit import (
    PARTNERS,
    HomeOpt,
    database_failure,
    err,
    fail,
    out,
    participant_of,
    settings_for,
)
from connector.identity.cli import dataspace_app, keys_app, token_app, user_app
from connector.settings import ConfigError, Settings, default_home

app = typer.Typer(
    help="Gemello: the federated data space of the Bologna city digital twin.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
connector_app = typer.Typer(help="Run a partner connector.", no_args_is_help=True)
app.add_typer(connector_app, name="connector")
app.add_typer(catalog_app, name="catalog")
app.add_typer(harvest_app, name="harvest")
app.add_typer(policy_app, name="policy")
app.add_typer(approvals_app, name="approvals")
app.add_typer(agreements_app, name="agreements")
app.add_typer(dataspace_app, name="dataspace")
app.add_typer(keys_app, name="keys")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(budget_app, name="budget")
app.command("query")(query_command)
app.command("run")(run_command)
app.command("models")(models_command)
app.add_typer(jobs_app, name="jobs")
app.add_typer(audit_app, name="audit")


def prepare_partner(settings: Settings, progress: Progress | None = None) -> None:
    """Keys and tables for one partner (idempotent)."""
    from connector.identity.keys import KeyRing
    from connector.partnerdata.prepare import prepare_partner_data

    KeyRing.ensure(settings.resolved_data_dir)
    task = progress.add_task(settings.partner, total=None) if progress else None

    def step(msg: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, description=msg)

    entries = prepare_partner_data(
        settings.partner,
        settings.resolved_data_dir,
        settings.bologna_dir,
        settings.synthetic_seed,
        step,
    )
    if progress is not None and task is not None:
        n = len(entries)
        progress.update(
            task,
            description=f"{settings.partner}: {n} table{'s' * (n != 1)} ready",
            total=1,
            completed=1,
        )


def init_dataspace(
    home: Path | None, partners: tuple[str, ...] = PARTNERS, quiet: bool = False
) -> list[Settings]:
    """Create each partner's data dir (keys, tables) and the signed trust list."""
    from connector.identity.setup import establish_trust

    home = (home or default_home()).resolve()
    all_settings = [settings_for(p, home) for p in partners]
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=False,
    ) as progress:
        for settings in all_settings:
            prepare_partner(settings, progress)
    establish_trust(home, all_settings)
    return all_settings


@app.command()
def init(
    home: HomeOpt = None,
    partner: Annotated[list[str] | None, typer.Option(help="only these partners")] = None,
) -> None:
    """Create the local dataspace: per-partner keys and tables, and the signed trust list."""
    partners = tuple(partner or PARTNERS)
    try:
        done = init_dataspace(home, partners)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    for s in done:
        out.print(f"[green]✓[/] {s.partner:7} {s.resolved_data_dir}")


@connector_app.command("serve")
def serve(
    partner: Annotated[str, typer.Option(help="partner id: comune, cineca, unibo or fbk")],
    home: HomeOpt = None,
    host: Annotated[str | None, typer.Option(help="override the configured host")] = None,
    port: Annotated[int | None, typer.Option(help="override the configured port")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    workers: Annotated[
        int | None,
        typer.Option(help="server processes (default: serve_workers in the settings, 1)"),
    ] = None,
    init: Annotated[
        bool,
        typer.Option(
            "--init",
            help="create the connector's identity (key) and tables in data_dir if it has none",
        ),
    ] = False,
) -> None:
    """Serve one partner's connector over HTTP until stopped."""
    import os

    import uvicorn

    from connector.app import create_app
    from connector.identity.keys import KeyRing
    from connector.storage import DatabaseUnreachable, open_database
    from connector.system import running

    settings = settings_for(
        partner, home, serving=True, host=host, port=port, serve_workers=workers
    )
    data_dir = settings.resolved_data_dir
    if not init and not KeyRing.exists(data_dir):
        # A typo in data_dir once started a connector with a new key no member trusts, an
        # empty database and regenerated tables, on the usual port, without a word.
        raise fail(
            f"{data_dir} holds no signing key of {partner}: it is not an initialised connector "
            f"(is data_dir right?). Create it with `gemello init --partner {partner}`, or "
            "start with --init to create it here"
        )
    server = running.running(settings)
    if server is not None and server.pid != os.getpid():
        raise fail(f"the {partner} connector already runs from {data_dir} (pid {server.pid})")
    try:  # migrate once here, and say on one line if the database cannot be opened
        open_database(settings.db_url).dispose()
    except DatabaseUnreachable as exc:
        raise database_failure(settings, exc) from None
    prepare_partner(settings)
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    # What the server does by itself (the worker, the job runner, the reaper) is the
    # connector's act, not the operator's who started it.
    from connector.audit import recorder

    recorder.current.set(recorder.connector_actor(settings.partner, participant_of(settings)))
    common: dict[str, object] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": log_level,
        "timeout_graceful_shutdown": 5,
    }
    if settings.serve_workers == 1:
        asgi = create_app(settings, freeze_heap=True, serving=True)
        uvicorn.run(asgi, **common)  # type: ignore[arg-type]
        return
    # Several processes: each worker builds its app from the same settings (uvicorn imports
    # the factory in every process).
    os.environ |= {
        "GEMELLO_SERVE_PARTNER": settings.partner,
        "GEMELLO_HOME": str(settings.home),
        "GEMELLO_HOST": settings.host,
        "GEMELLO_PORT": str(settings.port),
        "GEMELLO_SERVE_WORKERS": str(settings.serve_workers),
    }
    uvicorn.run(
        "connector.app:served_app",
        factory=True,
        workers=settings.serve_workers,
        **common,  # type: ignore[arg-type]
    )


@app.command()
def demo(
    home: HomeOpt = None,
    keep_running: Annotated[
        bool, typer.Option(help="leave the connectors up until Ctrl-C")
    ] = False,
    urls_file: Annotated[Path | None, typer.Option(help="write partner base URLs as JSON")] = None,
    keep_state: Annotated[
        bool,
        typer.Option(
            help="continue from the last run's databases (by default each run starts with "
            "empty ones in var/: budgets, contracts, jobs, audit logs; keys and tables are kept)"
        ),
    ] = False,
) -> None:
    """Start the four partner connectors and run every model federated, baseline and scenario.

    The connectors listen on free loopback ports. The demo prints what each partner holds, the
    federated catalogue, a contract negotiation and transfer, a differentially private query,
    each model's federated run, the audit logs as replayed, and where the HTML reports are."""
    from connector.demo import run_demo

    try:
        code = run_demo(
            home, keep_running=keep_running, urls_file=urls_file, console=out, keep_state=keep_state
        )
    except ConfigError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)


@app.command()
def bench(
    output: Annotated[Path, typer.Option(help="markdown file to write")] = Path(
        "docs/benchmarks.md"
    ),
    repeat: Annotated[int, typer.Option(min=3, help="repetitions per measurement")] = 7,
) -> None:
    """Measure start-up, request latency and storage speed; write docs/benchmarks.md."""
    from connector.bench import run_bench

    run_bench(output, repeat, out)


@app.command()
def version() -> None:
    """Print the Gemello version."""
    from connector import __version__

    out.print(__version__)


def main() -> None:
    """Console-script entry point. What the CLI changes in a connector's database is audited
    like a request: host-level acts (users, tokens, keys) with the operator — the account
    running the command — as actor; a steward's acts as the steward whose token they pass."""
    from connector.audit import recorder
    from connector.storage import DatabaseUnreachable

    recorder.install()
    recorder.current.set(recorder.operator_actor())
    try:
        app()
    except DatabaseUnreachable as exc:  # a command that opened it without saying which setting
        err.print(f"[bold red]error:[/] {exc} (check database_url / GEMELLO_DATABASE_URL)")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
