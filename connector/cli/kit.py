"""Shared pieces of the command line: consoles, common options, one-line failures, settings,
who acts, and `--json` output.

Everything heavy (pydantic, SQLAlchemy, FastAPI, the domain) is imported inside the functions
that need it: `gemello --help` and `gemello version` load typer and rich only (decision 0020).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from connector import PARTNERS

if TYPE_CHECKING:
    from connector.settings import Settings
    from connector.storage import Session

__all__ = ["PARTNERS"]

err = Console(stderr=True, soft_wrap=True)  # error lines stay whole (copy, grep)
# Pipes and CI logs get a fixed width so tables stay readable.
out = Console(width=None if sys.stdout.isatty() else 130)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home", help="dataspace home (holds deploy/); env GEMELLO_HOME", show_default=False
    ),
]
PartnerOpt = Annotated[str, typer.Option(help="partner id: comune, cineca, unibo or fbk")]
YourPartnerOpt = Annotated[
    str, typer.Option("--partner", help="your organisation (whose connector you call)")
]
UrlOpt = Annotated[
    str | None, typer.Option(help="your connector's URL (default: its URL on the trust list)")
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="your API token (env GEMELLO_TOKEN): the act is recorded as yours",
        show_default=False,
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="print JSON (for scripts) instead of a table")
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one red line to stderr; return the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def audited() -> None:
    """Record what this process changes in a connector's database in its audit log, with the
    operator (the account running the command) as actor unless someone else acts."""
    from connector.audit import recorder

    recorder.install()
    if recorder.current.get() is None:
        recorder.current.set(recorder.operator_actor())


def settings_for(
    partner: str,
    home: Path | None,
    serving: bool = False,
    database: bool = True,
    **overrides: object,
) -> Settings:
    """A partner's settings, or exit 2 with the configuration problem on one line. A command
    that opens the partner's `database` is audited, and (unless it is the server, `serving`)
    must use the database a running server of the partner uses."""
    from connector.settings import ConfigError, load_settings

    try:
        settings = load_settings(
            partner, home, **{k: v for k, v in overrides.items() if v is not None}
        )
        if database and not serving:
            from connector.system.running import check_same_database

            check_same_database(settings)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if database:
        audited()
    return settings


def database_failure(settings: Settings, exc: Exception) -> typer.Exit:
    """One line for a database that cannot be opened, naming the setting it came from."""
    from connector.settings import database_source

    return fail(f"{settings.partner}: {exc} (the database comes from {database_source(settings)})")


@contextmanager
def partner_session(partner: str, home: Path | None) -> Iterator[Session]:
    """A committed unit of work on a partner's database (migrated first).

    Domain errors (conflict, not found) exit 1 with their detail; config errors exit 2.
    """
    from connector.errors import GemelloError
    from connector.storage import DatabaseUnreachable, migrated_session

    settings = settings_for(partner, home)
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with migrated_session(settings.db_url) as session:
            yield session
    except GemelloError as exc:
        raise fail(exc.detail, 1) from None
    except DatabaseUnreachable as exc:
        raise database_failure(settings, exc) from None


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
        url = _listening_url(settings_for(partner, home, database=False))
    return url.rstrip("/"), {"Authorization": f"Bearer {token}"}


def _listening_url(s: Settings) -> str:
    """Where a partner's connector listens: its URL on the trust list (the demo moves a
    connector whose configured port is taken, and says so there), else its configured port."""
    from connector.identity.trustlist import load_trust_list
    from connector.settings import ConfigError

    try:
        return load_trust_list(s.trust_list_path).member(s.partner).connector_url
    except (ConfigError, OSError):
        return f"http://{s.host}:{s.port}"


def act_as(settings: Settings, token: str | None, *roles: str) -> str:
    """The name of the connector's user behind the API token of the person at the terminal,
    who must hold one of `roles` (decision 0006: a steward's act through the CLI is theirs, as
    through the API). The audit log names them; a missing, unknown or revoked token, or
    another role, exits 2 naming the problem."""
    import os

    from connector.audit import recorder
    from connector.errors import GemelloError
    from connector.identity.service import authenticate_token
    from connector.storage import DatabaseUnreachable, migrated_session

    token = token or os.environ.get("GEMELLO_TOKEN")
    if not token:
        raise fail(
            f"this act is recorded as its author's: pass your API token with --token or "
            f"GEMELLO_TOKEN (a user with role {' or '.join(roles)} on {settings.partner}; "
            "see `gemello user add`)"
        )
    try:
        with migrated_session(settings.db_url) as session:
            principal = authenticate_token(
                session, token, participant_of(settings), settings.partner
            )
    except GemelloError as exc:
        raise fail(f"{exc.detail} ({settings.partner})") from None
    except DatabaseUnreachable as exc:
        raise database_failure(settings, exc) from None
    if principal.role.value not in roles:
        raise fail(
            f"user {principal.name} is a {principal.role.value}; this act needs a "
            f"{' or '.join(roles)}"
        )
    recorder.install()
    recorder.current.set(
        recorder.Actor(principal.subject, principal.organisation, principal.role.value)
    )
    assert principal.name is not None, "a token authenticated here is a local user's"
    return principal.name


def participant_of(settings: Settings) -> str:
    """A partner's participant id, from the trust list (its handle when there is none yet)."""
    from connector.identity.trustlist import load_trust_list
    from connector.settings import ConfigError

    try:
        return load_trust_list(settings.trust_list_path).member(settings.partner).participant_id
    except ConfigError:  # no trust list yet: the handle stands in
        return settings.partner


def print_json(value: Any) -> None:
    """JSON on stdout, whole (no wrapping, no colour): what `--json` prints."""
    import json

    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def unique_prefix(given: str, candidates: Sequence[str], what: str) -> str:
    """The one candidate `given` is a prefix of (ids are long: a few characters after the
    last ':' are enough). None matching exits 1 (like any unknown id); several exit 2 (say more)."""
    if given in candidates:
        return given
    matches = [c for c in candidates if c.startswith(given) or _tail(c).startswith(given)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise fail(f"no {what} starts with '{given}'", 1)
    shown = ", ".join(_tail(m)[:12] for m in matches[:5])
    raise fail(f"'{given}' could name any of {len(matches)} ({shown}…): give more characters")


def _tail(identifier: str) -> str:
    return identifier.rsplit(":", 1)[-1]


def short(identifier: str | None, width: int = 8) -> str:
    """An id as a table shows it: the start of its last part (enough to name it uniquely)."""
    return _tail(identifier)[:width] if identifier else "—"


def show_records(
    title: str,
    columns: Sequence[tuple[str, str]],
    records: Sequence[dict[str, Any]],
    as_json: bool,
    ids: Sequence[str] = (),
) -> None:
    """Records as a table (the `ids` columns shortened to a unique prefix: any command takes
    it back), or with `as_json` as a JSON list of whole records."""
    if as_json:
        print_json(list(records))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    for _key, header in columns:
        table.add_column(header, overflow="fold")
    for record in records:
        cells = []
        for key, _header in columns:
            value = record.get(key)
            text = short(str(value)) if key in ids and value else _cell(value)
            cells.append(escape(text))
        table.add_row(*cells)
    out.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
