"""The `gemello` command line: set up the local dataspace, run connectors, run the demo."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from connector.identity.keys import PublicKeyInfo
from connector.settings import ConfigError, Settings, default_home, load_settings

PARTNERS = ("comune", "cineca", "unibo", "fbk")

app = typer.Typer(
    help="Gemello: the federated data space of the Bologna city digital twin.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
connector_app = typer.Typer(help="Run a partner connector.", no_args_is_help=True)
app.add_typer(connector_app, name="connector")

err = Console(stderr=True)
# Pipes and CI logs get a fixed width so the demo table stays readable.
out = Console(width=None if sys.stdout.isatty() else 130)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home", help="dataspace home (holds deploy/); env GEMELLO_HOME", show_default=False
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _settings(partner: str, home: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(partner, home, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def prepare_partner(settings: Settings, progress: Progress | None = None) -> PublicKeyInfo:
    """Keys and tables for one partner (idempotent). Returns the partner's public key."""
    from connector.identity.keys import ensure_signing_key
    from connector.partnerdata.prepare import prepare_partner_data

    key = ensure_signing_key(settings.resolved_data_dir)
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
    return key


def init_dataspace(
    home: Path | None, partners: tuple[str, ...] = PARTNERS, quiet: bool = False
) -> list[Settings]:
    """Create each partner's data dir (keys, tables) and var/dataspace.toml with public keys."""
    from connector.dataspace import load_dataspace, template_path, write_dataspace

    home = (home or default_home()).resolve()
    space = load_dataspace(template_path(home))
    all_settings = [_settings(p, home) for p in partners]
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
            key = prepare_partner(settings, progress)
            space.member(settings.partner).public_keys = [key.jwk()]
    write_dataspace(space, home / "var" / "dataspace.toml")
    return all_settings


@app.command()
def init(
    home: HomeOpt = None,
    partner: Annotated[list[str] | None, typer.Option(help="only these partners")] = None,
) -> None:
    """Create the local dataspace: per-partner keys and data tables, and var/dataspace.toml."""
    partners = tuple(partner or PARTNERS)
    try:
        done = init_dataspace(home, partners)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    for s in done:
        out.print(f"[green]✓[/] {s.partner:7} {s.resolved_data_dir}")


@connector_app.command("serve")
def serve(
    partner: Annotated[str, typer.Option(help="partner id: comune, cineca, unibo or fbk")],
    home: HomeOpt = None,
    host: Annotated[str | None, typer.Option(help="override the configured host")] = None,
    port: Annotated[int | None, typer.Option(help="override the configured port")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve one partner's connector over HTTP until stopped."""
    import uvicorn

    from connector.app import create_app

    settings = _settings(partner, home, host=host, port=port)
    prepare_partner(settings)
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=5,
    )


@app.command()
def demo(
    home: HomeOpt = None,
    keep_running: Annotated[
        bool, typer.Option(help="leave the connectors up until Ctrl-C")
    ] = False,
    urls_file: Annotated[Path | None, typer.Option(help="write partner base URLs as JSON")] = None,
) -> None:
    """Start the four partner connectors on free loopback ports and show what each holds."""
    from connector.demo import run_demo

    try:
        code = run_demo(home, keep_running=keep_running, urls_file=urls_file, console=out)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
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
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
