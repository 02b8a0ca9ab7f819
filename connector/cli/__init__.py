"""The `gemello` command line: set up the local dataspace, run connectors, run the demo.

Every command's module imports only typer and rich at the top; what a command needs it imports
when it runs, so `gemello --help` answers in a blink (decision 0020). This package is the top
floor: nothing in the connector imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from connector.cli.audit import audit_app
from connector.cli.catalog import catalog_app
from connector.cli.contracts import agreements_app, approvals_app, negotiate, pull
from connector.cli.harvest import harvest_app
from connector.cli.identity import dataspace_app, keys_app, token_app, user_app
from connector.cli.jobs import jobs_app
from connector.cli.jobs import models as models_command
from connector.cli.jobs import run as run_command
from connector.cli.kit import (
    PARTNERS,
    HomeOpt,
    database_failure,
    err,
    fail,
    out,
    participant_of,
    settings_for,
)
from connector.cli.policy import policy_app
from connector.cli.privacy import budget_app
from connector.cli.privacy import query as query_command
from connector.cli.validate import validate as validate_command

app = typer.Typer(
    help="Gemello: the federated data space of the Bologna city digital twin.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",  # docstrings reflow: a line break inside a paragraph is a space
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
app.command("negotiate")(negotiate)
app.command("pull")(pull)
app.command("run")(run_command)
app.command("models")(models_command)
app.command("validate")(validate_command)
app.add_typer(jobs_app, name="jobs")
app.add_typer(audit_app, name="audit")


@app.command()
def init(
    home: HomeOpt = None,
    partner: Annotated[list[str] | None, typer.Option(help="only these partners")] = None,
) -> None:
    """Create the local dataspace: per-partner keys and tables, and the signed trust list."""
    from connector.dataspace import init_dataspace
    from connector.settings import ConfigError

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
    import logging
    import os

    from connector.dataspace import prepare_partner
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
    # The app (seconds of imports) only once the settings, the key and the database passed:
    # a broken configuration is refused at once.
    import uvicorn

    from connector.app import create_app

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
            help="continue from the last run's records (by default a run empties what runs "
            "record in var/: budgets, contracts, decisions, jobs, audit logs; users, their "
            "tokens, stewards' policies, keys and tables are kept)"
        ),
    ] = False,
    reset_all: Annotated[
        bool, typer.Option(help="start afresh with no users and no stewards' policies either")
    ] = False,
) -> None:
    """Start the four partner connectors and run every model federated, baseline and scenario.

    The connectors listen on free loopback ports. The demo prints what each partner holds, the
    federated catalogue, a contract negotiation and transfer, a differentially private query,
    each model's federated run, the audit logs as replayed, and where the HTML reports are."""
    from connector.demo import run_demo
    from connector.settings import ConfigError

    try:
        code = run_demo(
            home,
            keep_running=keep_running,
            urls_file=urls_file,
            console=out,
            keep_state=keep_state,
            reset_all=reset_all,
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
    only: Annotated[
        str | None,
        typer.Option(
            help="re-measure one section and replace it in the file: 'sweeps' "
            "(~10 minutes, against ~30 for everything)"
        ),
    ] = None,
) -> None:
    """Measure start-up, request latency and storage speed; write docs/benchmarks.md."""
    from connector.bench import run_bench, run_section

    if only is None:
        run_bench(output, repeat, out)
        return
    try:
        run_section(output, only, out)
    except ValueError as exc:
        raise fail(str(exc)) from None


@app.command()
def version() -> None:
    """Print the Gemello version."""
    from connector import __version__

    out.print(__version__)


def main() -> None:
    """Console-script entry point. What the CLI changes in a connector's database is audited
    like a request (kit.audited): host-level acts (users, tokens, keys) with the operator — the
    account running the command — as actor; a steward's acts as the steward whose token they
    pass."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a database opened without naming its setting (storage is loaded)
        storage = sys.modules.get("connector.storage.migrate")
        if storage is None or not isinstance(exc, storage.DatabaseUnreachable):
            raise
        err.print(f"[bold red]error:[/] {exc} (check database_url / GEMELLO_DATABASE_URL)")
        sys.exit(2)


if __name__ == "__main__":
    main()
