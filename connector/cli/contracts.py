"""`gemello approvals ...` and `gemello agreements ...`: the steward's side of contracts.

They work on the connector's database and keys directly, so they also work while the server is
down; a running server delivers the resulting protocol messages within a second. Acts are the
steward's own: they pass their API token (--token or GEMELLO_TOKEN), and the audit log and the
record name them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from connector.cli.kit import HomeOpt, PartnerOpt, TokenOpt, act_as, fail, out, settings_for

approvals_app = typer.Typer(
    help="Negotiations waiting for a steward (policies with the duty obtainApproval).",
    no_args_is_help=True,
)
agreements_app = typer.Typer(help="Contract agreements granted and held.", no_args_is_help=True)
ReasonOpt = Annotated[str, typer.Option("--reason", help="why (sent to the other side, kept)")]
STEWARDS = ("steward", "admin")


@contextmanager
def _unit(partner: str, home: Path | None) -> Iterator[tuple[Any, Any]]:
    from connector.errors import GemelloError
    from connector.runtime import connector_for
    from connector.storage import session_scope

    with connector_for(settings_for(partner, home)) as conn:
        try:
            with session_scope(conn.engine, write=True) as session:
                yield conn.contracts, session
        except GemelloError as exc:
            raise fail(exc.detail, 1) from None


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


@approvals_app.command("list")
def list_approvals(partner: PartnerOpt, home: HomeOpt = None) -> None:
    """Negotiations waiting for approval, oldest first."""
    from connector.contracts.approvals import pending_approvals

    with _unit(partner, home) as (_rt, session):
        rows = [
            [r.id, r.counterparty, r.dataset_id, r.purpose, r.requested_role, str(r.created_at)]
            for r in pending_approvals(session)
        ]
    _table(
        f"Waiting for approval on {partner}",
        ["negotiation", "organisation", "dataset", "purpose", "role", "requested"],
        rows,
    )


def _decide(partner: str, home: Path | None, token: str | None, act: Callable[..., Any]) -> Any:
    """Run `act(rt, session, who)` as the steward whose token this is."""
    who = act_as(settings_for(partner, home), token, *STEWARDS)
    with _unit(partner, home) as (rt, session):
        return act(rt, session, who.name)


@approvals_app.command("approve")
def approve(
    negotiation: Annotated[str, typer.Argument(help="negotiation id")],
    partner: PartnerOpt,
    token: TokenOpt = None,
    home: HomeOpt = None,
) -> None:
    """Approve: the agreement is signed and sent to the consumer."""
    from connector.contracts import approvals

    row = _decide(
        partner,
        home,
        token,
        lambda rt, s, by: approvals.approve(s, rt.policies, rt.me(), rt.trust(), negotiation, by),
    )
    out.print(f"[green]✓[/] approved; agreement {row.agreement_id} ({row.state})")


@approvals_app.command("reject")
def reject(
    negotiation: Annotated[str, typer.Argument(help="negotiation id")],
    partner: PartnerOpt,
    reason: ReasonOpt,
    token: TokenOpt = None,
    home: HomeOpt = None,
) -> None:
    """Reject with a reason: the negotiation is terminated and the consumer told why."""
    from connector.contracts import approvals

    _decide(
        partner,
        home,
        token,
        lambda rt, s, by: approvals.reject(s, rt.trust(), negotiation, by, reason),
    )
    out.print(f"[green]✓[/] rejected {negotiation}")


@agreements_app.command("list")
def list_agreements(partner: PartnerOpt, home: HomeOpt = None) -> None:
    """Agreements granted (provider) and held (consumer), newest first."""
    from connector.contracts.repository import ContractRepository

    with _unit(partner, home) as (_rt, session):
        rows = [
            [
                a.id,
                a.role,
                a.consumer if a.role == "provider" else a.provider,
                a.dataset_id,
                a.purpose,
                str(a.use_count),
                "revoked" if a.revoked_at else "valid",
            ]
            for a in ContractRepository(session).agreements()
        ]
    _table(
        f"Agreements on {partner}",
        ["agreement", "side", "other party", "dataset", "purpose", "uses", "status"],
        rows,
    )


@agreements_app.command("revoke")
def revoke(
    agreement: Annotated[str, typer.Argument(help="agreement id")],
    partner: PartnerOpt,
    reason: ReasonOpt,
    token: TokenOpt = None,
    block: Annotated[
        bool,
        typer.Option(
            help="refuse new agreements for that organisation on the dataset until a steward "
            "lifts the block (`gemello agreements unblock`)"
        ),
    ] = True,
    home: HomeOpt = None,
) -> None:
    """Revoke an agreement this connector granted: later uses are denied at once, the
    consumer's connector is told, and by default its organisation is blocked from a new one."""
    from connector.contracts import approvals

    row = _decide(
        partner,
        home,
        token,
        lambda rt, s, by: approvals.revoke(s, rt.trust(), agreement, by, reason, block),
    )
    blocked = f"; {row.consumer} blocked from new agreements on {row.dataset_id}" if block else ""
    out.print(f"[green]✓[/] revoked {agreement}{blocked}")


@agreements_app.command("blocks")
def list_blocks(
    partner: PartnerOpt,
    all_: Annotated[bool, typer.Option("--all", help="lifted blocks too")] = False,
    home: HomeOpt = None,
) -> None:
    """Organisations blocked from new agreements on a dataset after a revocation."""
    from connector.contracts.repository import ContractRepository

    with _unit(partner, home) as (_rt, session):
        rows = [
            [
                str(b.id),
                b.organisation,
                b.dataset_id,
                b.agreement_id,
                b.reason,
                f"lifted by {b.lifted_by}" if b.lifted_at else "in force",
            ]
            for b in ContractRepository(session).blocks(active_only=not all_)
        ]
    _table(
        f"Agreement blocks on {partner}",
        ["block", "organisation", "dataset", "revoked agreement", "reason", "status"],
        rows,
    )


@agreements_app.command("unblock")
def unblock(
    block: Annotated[int, typer.Argument(help="block number (`gemello agreements blocks`)")],
    partner: PartnerOpt,
    reason: ReasonOpt,
    token: TokenOpt = None,
    home: HomeOpt = None,
) -> None:
    """Lift a block: the organisation may negotiate for the dataset again."""
    from connector.contracts import approvals

    row = _decide(
        partner, home, token, lambda _rt, s, by: approvals.lift_block(s, block, by, reason)
    )
    out.print(f"[green]✓[/] {row.organisation} may ask for {row.dataset_id} again")
