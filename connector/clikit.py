"""Shared pieces of the command line: consoles, the --home option, one-line failures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from connector.errors import GemelloError
from connector.settings import ConfigError, Settings, load_settings
from connector.storage import Session

PARTNERS = ("comune", "cineca", "unibo", "fbk")

err = Console(stderr=True)
# Pipes and CI logs get a fixed width so tables stay readable.
out = Console(width=None if sys.stdout.isatty() else 130)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home", help="dataspace home (holds deploy/); env GEMELLO_HOME", show_default=False
    ),
]
PartnerOpt = Annotated[str, typer.Option(help="partner id: comune, cineca, unibo or fbk")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one red line to stderr; return the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings_for(partner: str, home: Path | None, **overrides: object) -> Settings:
    """A partner's settings, or exit 2 with the configuration problem on one line."""
    try:
        return load_settings(partner, home, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise fail(str(exc)) from None


@contextmanager
def partner_session(partner: str, home: Path | None) -> Iterator[Session]:
    """A committed unit of work on a partner's database (migrated first).

    Domain errors (conflict, not found) exit 1 with their detail; config errors exit 2.
    """
    from connector.storage import migrated_session

    settings = settings_for(partner, home)
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with migrated_session(settings.db_url) as session:
            yield session
    except GemelloError as exc:
        raise fail(exc.detail, 1) from None


def connector_target(
    partner: str, url: str | None, token: str | None, home: Path | None
) -> tuple[str, dict[str, str]]:
    """The base URL of your organisation's connector and the auth header for your API token
    (`--token`, else GEMELLO_TOKEN); exits with a hint when there is no token."""
    import os

    token = token or os.environ.get("GEMELLO_TOKEN")
    if not token:
        raise fail("no API token: pass --token or set GEMELLO_TOKEN (see `gemello user add`)")
    if url is None:
        s = settings_for(partner, home)
        url = f"http://{s.host}:{s.port}"
    return url.rstrip("/"), {"Authorization": f"Bearer {token}"}
