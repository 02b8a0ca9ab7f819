"""What the terminal shows of Gemello's answers: a job's progress and headline figures, a DP
answer, and the audit logs as replayed. Shared by the command line and the demo (tools floor:
no production module imports it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from connector.settings import Settings
    from connector.storage import Session

# Pipes and CI logs get a fixed width so tables stay readable.
out = Console(width=None if sys.stdout.isatty() else 130)

STATE_STYLE = {
    "succeeded": "[green]✓ succeeded[/]",
    "failed": "[red]✗ failed[/]",
    "partial": "[yellow]◐ partial[/]",
    "running": "[cyan]… running[/]",
    "negotiating": "[cyan]… negotiating[/]",
    "pending": "[dim]pending[/]",
    "cancelled": "[red]cancelled[/]",
}


def _get(url: str, headers: dict[str, str], **kw: Any) -> Any:
    import httpx

    resp = httpx.get(url, headers=headers, timeout=60, **kw)
    resp.raise_for_status()
    return resp.json()


def progress_table(job: dict[str, Any]) -> Table:
    """One row per stage and partner, as the job reports them."""
    table = Table(title=f"{job['model']} — {STATE_STYLE.get(job['state'], job['state'])}")
    for name in ("stage", "partner", "state", "seconds", "bytes", "note"):
        table.add_column(name, justify="right" if name in {"seconds", "bytes"} else "left")
    for h in job["holders"]:
        table.add_row(
            h["stage"],
            h["partner"],
            STATE_STYLE.get(h.get("state", ""), h.get("state", "")),
            "" if h.get("seconds") is None else f"{h['seconds']:.1f}",
            "" if h.get("bytes") is None else f"{h['bytes']:,}",
            escape((h.get("error") or "")[:80]),
        )
    return table


def follow(
    base: str, headers: dict[str, str], job_id: str, console: Console = out
) -> dict[str, Any]:
    """Poll a job, redrawing the per-partner table, until it ends."""
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        while True:
            # A long poll: the answer comes when the job ends, or after 0.4 s to redraw.
            job: dict[str, Any] = _get(f"{base}/jobs/{job_id}", headers, params={"wait": 0.4})
            live.update(progress_table(job))
            if job["state"] != "running":
                break
    console.print()
    return job


def show_summary(job: dict[str, Any], console: Console = out) -> None:
    """Headline figures, or why there are none."""
    if job.get("error"):
        style = "yellow" if job["state"] == "partial" else "red"
        console.print(f"[{style}]{escape(job['error'])}[/]")
    summary = job.get("summary")
    if summary:
        from connector.gateway.headline import figure_grid

        table = Table(title="Result")
        table.add_column("figure")
        table.add_column("value", overflow="fold")
        wide: list[tuple[str, Any]] = []
        for key, value in summary.items():
            grid = figure_grid(value)
            if grid is not None and grid[0] is not None and len(grid[0]) > 3:
                wide.append((key, grid))  # a sweep's curve: a table of its own, full width
                continue
            table.add_row(key, figure_cell(value))
        console.print(table)
        for key, (headers, rows) in wide:
            curve = Table(title=key)
            for h in headers:
                curve.add_column(escape(h), overflow="fold")
            for r in rows:
                curve.add_row(*map(escape, r))
            console.print(curve)
    show_caveats(job, console)


def show_caveats(job: dict[str, Any], console: Console = out) -> None:
    """What a result rests on: its synthetic inputs, and the model's assumptions, limits and
    validation (sent with a finished job)."""
    caveats = job.get("caveats")
    if caveats is None:
        return
    synthetic = job.get("synthetic_inputs") or []
    if synthetic:
        console.print(
            f"[yellow]Synthetic inputs[/] (generated, not observed: the figures show what the "
            f"model does, not what the city has): {escape(', '.join(synthetic))}"
        )
    else:
        console.print("Inputs: all observed data (none synthetic).")
    for kind, title in (("assumptions", "Assumptions"), ("limits", "Limits"),
                        ("validation", "Validation")):  # fmt: skip
        for phrase in caveats.get(kind) or []:
            console.print(f"[bold]{title}:[/] {escape(phrase['en'])}")


def figure_cell(value: Any) -> RenderableType:
    """A headline figure for a table cell: the report's small table (`figure_grid`) as a
    borderless rich table, or its text."""
    from connector.gateway.headline import figure_grid, figure_text

    grid = figure_grid(value)
    if grid is None:
        return escape(figure_text(value))
    headers, rows = grid
    inner = Table(show_header=headers is not None, box=None, pad_edge=False)
    for h in headers or [""] * len(rows[0]):
        inner.add_column(escape(h))
    for r in rows:
        inner.add_row(*map(escape, r))
    return inner


def show_answer(answer: dict[str, Any], console: Console = out) -> None:
    """A release as a table, with how it was made and the budget left."""
    groups = answer.get("group_by") or []
    table = Table(
        title=f"{answer['aggregate']} of {answer.get('column') or 'rows'} "
        f"in {answer['dataset']} (ε = {answer['epsilon']:g})"
    )
    for name in groups:
        table.add_column(name)
    if answer["aggregate"] == "histogram":
        table.add_column("bin")
    for name in ("value", "± std. error", "noisy count", "note"):
        table.add_column(name, justify="right" if name != "note" else "left")
    for cell in answer["cells"]:
        row = [str(cell["group"].get(g, "")) for g in groups]
        if answer["aggregate"] == "histogram":
            lo, hi = cell["bin"]
            row.append(f"[{lo:g}, {hi:g})")
        row += [
            "—" if cell.get("value") is None else f"{cell['value']:,}",
            "" if cell.get("stderr") is None else f"{cell['stderr']:g}",
            "" if cell.get("count") is None else f"{cell['count']:,}",
            escape(cell.get("suppressed", "")),
        ]
        table.add_row(*row)
    console.print(table)
    for m in answer["mechanisms"]:
        scale = f", noise scale {m['scale']:.3g}" if m.get("scale") is not None else ""
        console.print(
            f"  {m['measures']}: {m['mechanism']} mechanism, ε = {m['epsilon']:g}, "
            f"sensitivity {m['sensitivity']:g}{scale}"
        )
    if answer.get("contributor_limit"):
        console.print(f"  at most {answer['contributor_limit']} rows per contributor")
    b = answer["budget"]
    console.print(
        f"  budget of {b['organisation']} on {b['dataset_id']}: spent {b['spent']:g} of "
        f"{b['total']:g}, {b['remaining']:g} left  (query {answer['query_id']})"
    )


# --- the audit logs, read from each partner's database ----------------------------------------


@contextmanager
def audit_unit(settings: Settings) -> Iterator[Session]:
    """A unit of work on a partner's database in which the events actions queued already have
    their places in the log (what the connector's sequencer does); a tree too damaged to
    extend is left to `verify` to name."""
    from connector.audit import repository as store
    from connector.storage import migrated_session

    with migrated_session(settings.db_url) as session:
        try:
            with session.begin_nested():
                store.integrate_pending(session)
        except Exception as exc:
            out.print(f"[yellow]queued events not integrated: {escape(str(exc))[:200]}[/]")
        yield session


def witnessed_heads(partner: str, members: Sequence[Settings]) -> list[dict[str, Any]]:
    """What the other members of this home co-signed for `partner`'s log."""
    from connector.audit import repository as store

    heads: list[dict[str, Any]] = []
    for other in members:
        if other.partner == partner:
            continue
        try:
            with audit_unit(other) as session:
                rows = store.witnessed(session, partner)
                heads += [
                    {"size": r.size, "root": r.root, "witness": other.partner} for r in rows[:50]
                ]
        except Exception:
            continue
    return heads


def log_keys(settings: Settings) -> tuple[str, dict[str, Any]]:
    """A member's log id (its participant id) and public keys, from the verified trust list
    (TrustListInvalid or KeyError when it cannot be had)."""
    from connector.identity.trustlist import TrustStore

    trust = TrustStore(settings.trust_list_path, settings.trust_anchor_path).current()
    member = trust.by_handle[settings.partner]
    return member.participant_id, {k.kid: k.public_key() for k in member.keys}
