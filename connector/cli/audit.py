"""`gemello audit`: verify a connector's log, follow it, search it, report on it.

These read the connector's database directly (they work while it is down). `verify` also
reads the heads the other members of this dataspace home witnessed for it, so a log that was
rolled back or rewritten — database and signing key both in the attacker's hands — still fails.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from connector.audit.report import summarise
from connector.cli.kit import (
    PARTNERS,
    HomeOpt,
    JsonOpt,
    PartnerOpt,
    fail,
    out,
    print_json,
    settings_for,
)

audit_app = typer.Typer(help="The tamper-evident audit log: verify, tail, search, report.")


def log_keys(partner: str, home: Path | None) -> tuple[str, dict[str, Any]]:
    """A partner's log id and public keys, from the verified trust list (or exit 2)."""
    from connector import terminal
    from connector.identity.trustlist import TrustListInvalid

    try:
        return terminal.log_keys(settings_for(partner, home))
    except TrustListInvalid as exc:
        raise fail(f"the trust list does not verify: {exc}") from None
    except KeyError:
        raise fail(f"'{partner}' is not a member of this dataspace") from None


@contextmanager
def audit_session(partner: str, home: Path | None) -> Iterator[Any]:
    """A unit of work on a partner's database, its queued events integrated first."""
    from connector import terminal

    settings = settings_for(partner, home)
    with terminal.audit_unit(settings) as session:
        yield session


def witnessed_heads(partner: str, home: Path | None) -> list[dict[str, Any]]:
    """What the other partners of this home co-signed for `partner`'s log."""
    from connector import terminal
    from connector.settings import ConfigError, load_settings

    members = []
    for other in PARTNERS:
        try:
            members.append(load_settings(other, home))
        except ConfigError:
            continue
    return terminal.witnessed_heads(partner, members)


@audit_app.command("verify")
def verify(partner: PartnerOpt, home: HomeOpt = None) -> None:
    """Replay a connector's whole log and check every hash and signature.

    Every entry's hash, every tree node, every checkpoint and its signature, and the heads other
    members witnessed. Exit 0 when intact; otherwise 1, naming the first bad entry."""
    from connector.audit import service

    log_id, keys = log_keys(partner, home)
    heads = witnessed_heads(partner, home)
    started = time.perf_counter()
    with audit_session(partner, home) as session:
        report = service.verify(session, log_id, keys, heads)
    took = time.perf_counter() - started
    if report.ok:
        out.print(
            f"[green]✓ intact[/]: {report.entries:,} entries, {report.checkpoints} checkpoint(s), "
            f"{report.witnessed} head(s) witnessed by other members, verified in {took:.1f} s"
        )
        return
    first = f" — first bad entry: {report.first_bad}" if report.first_bad is not None else ""
    out.print(f"[bold red]✗ the audit log of {partner} does not verify[/]{first}")
    for problem in report.problems:
        out.print(f"  • {escape(problem)}")
    raise typer.Exit(1)


def _table(rows: list[Any], title: str) -> Table:
    table = Table(title=title)
    for name in ("seq", "time", "action", "outcome", "organisation", "actor", "dataset", "purpose",
                 "correlation", "reason"):  # fmt: skip
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.seq), r.at.isoformat(timespec="seconds"), r.action, r.outcome, r.organisation,
            r.actor, r.dataset, r.purpose, r.correlation[:40], escape(r.reason[:80]),
        )  # fmt: skip
    return table


def _records(rows: list[Any]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") | {"details": r.detail_map} for r in rows]


@audit_app.command("tail")
def tail(
    partner: PartnerOpt,
    lines: Annotated[int, typer.Option("-n", help="how many entries")] = 20,
    follow: Annotated[bool, typer.Option(help="keep printing new entries")] = False,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """The latest entries of a connector's log (optionally following it)."""
    from connector.audit import repository as store

    with audit_session(partner, home) as session:
        rows = list(reversed(store.entries(session, limit=lines, newest_first=True)))
    if as_json:
        print_json(_records(rows))
        return
    out.print(_table(rows, f"Audit log of {partner}"))
    last = rows[-1].seq if rows else -1
    while follow:
        time.sleep(1)
        with audit_session(partner, home) as session:
            new = list(store.entries(session, after=last, limit=500))
        if new:
            out.print(_table(new, ""))
            last = new[-1].seq


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"'{text}' is not a date or time (YYYY-MM-DD or ISO 8601)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit_app.command("search")
def search(
    partner: PartnerOpt,
    actor: Annotated[str | None, typer.Option(help="pseudonymous user id")] = None,
    organisation: Annotated[str | None, typer.Option(help="participant id")] = None,
    dataset: Annotated[str | None, typer.Option()] = None,
    purpose: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option(help="e.g. policy.compute, privacy.charge")] = None,
    correlation: Annotated[str | None, typer.Option(help="job or agreement id")] = None,
    since: Annotated[str | None, typer.Option(help="from (ISO date/time)")] = None,
    until: Annotated[str | None, typer.Option(help="until, excluded")] = None,
    limit: Annotated[int, typer.Option()] = 200,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Entries by actor, organisation, dataset, purpose, action, correlation and time."""
    from connector.audit import repository as store

    filters = {
        k: v
        for k, v in {"actor": actor, "organisation": organisation, "dataset": dataset,
                     "purpose": purpose, "action": action, "correlation": correlation}.items()
        if v is not None
    }  # fmt: skip
    with audit_session(partner, home) as session:
        rows = list(
            store.entries(
                session, limit=limit, filters=filters, since=_when(since), until=_when(until)
            )
        )
    if as_json:
        print_json(_records(rows))
        return
    out.print(_table(rows, f"{len(rows)} entries of {partner}'s audit log"))


def _rows(
    partner: str, home: Path | None, since: datetime | None, until: datetime | None
) -> list[Any]:
    from connector.audit import repository as store

    with audit_session(partner, home) as session:
        return list(store.entries(session, limit=10_000_000, since=since, until=until))


@audit_app.command("report")
def report(
    partner: PartnerOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="folder for report.html and CSVs")],
    from_: Annotated[str | None, typer.Option("--from", help="first day (ISO)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="end, excluded (ISO)")] = None,
    home: HomeOpt = None,
) -> None:
    """An HTML report with charts, and CSV tables, of what the log holds.

    Accesses per dataset and organisation, purposes, denied attempts, epsilon spent, model runs
    and jobs."""
    since, until = _when(from_), _when(to)
    rows = _rows(partner, home, since, until)
    output.mkdir(parents=True, exist_ok=True)
    tables = summarise(rows)
    for name, (header, data) in tables.items():
        with (output / f"{name}.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(data)
    period = f"{from_ or 'the start'} to {to or 'now'}"
    (output / "report.html").write_text(render_report(partner, period, len(rows), tables))
    out.print(f"report of {len(rows):,} entries ({period}): {output / 'report.html'}")


def _chart(title: str, labels: list[str], values: list[float]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, max(2.0, 0.35 * len(labels) + 1)))
    ax.barh(labels or ["(none)"], values or [0])
    ax.set_title(title)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def render_report(partner: str, period: str, n: int, tables: dict[str, Any]) -> str:
    """The HTML report."""
    import html

    acc: Counter[str] = Counter()
    for dataset, org, _outcome, count in tables["accesses"][1]:
        acc[f"{dataset} — {org.rsplit(':', 1)[-1]}"] += count
    purposes = tables["purposes"][1]
    spent = tables["epsilon"][1]
    charts = [
        _chart("Decisions per dataset and organisation", list(acc), list(acc.values())),
        _chart("Purposes", [p for p, _ in purposes], [c for _, c in purposes]),
        _chart(
            "Epsilon spent",
            [f"{d} — {o.rsplit(':', 1)[-1]}" for d, o, _ in spent],
            [e for _, _, e in spent],
        ),
    ]
    sections = []
    for name, (header, data) in tables.items():
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
            for row in data[:500]
        )
        sections.append(
            f"<h2>{name.capitalize()} ({len(data)})</h2><table><tr>{head}</tr>{body}</table>"
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Audit report — {html.escape(partner)}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}</style>"
        f"</head><body><h1>Audit report: {html.escape(partner)}</h1>"
        f"<p>{n:,} entries, {html.escape(period)}. Verify the log itself with "
        f"<code>gemello audit verify --partner {html.escape(partner)}</code>.</p>"
        + "".join(f"<figure>{c}</figure>" for c in charts)
        + "".join(sections)
        + "</body></html>"
    )
