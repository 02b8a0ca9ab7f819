"""`gemello approvals ...` and `gemello agreements ...`: the steward's side of contracts.

They work on the connector's database and keys directly, so they also work while the server is
down; a running server delivers the resulting protocol messages within a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from connector.clikit import HomeOpt, PartnerOpt, fail, out, settings_for
from connector.errors import GemelloError

approvals_app = typer.Typer(
    help="Negotiations waiting for a steward (policies with the duty obtainApproval).",
    no_args_is_help=True,
)
agreements_app = typer.Typer(help="Contract agreements granted and held.", no_args_is_help=True)
ReasonOpt = Annotated[str, typer.Option("--reason", help="why (sent to the other side, kept)")]
ByOpt = Annotated[str, typer.Option("--by", help="steward name kept with the decision")]


@contextmanager
def _unit(partner: str, home: Path | None) -> Iterator[tuple[Any, Any]]:
    from connector.contracts.worker import offline_runtime
    from connector.storage import session_scope

    with offline_runtime(settings_for(partner, home)) as rt:
        try:
            with session_scope(rt.engine, write=True) as session:
                yield rt, session
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
    from connector.contracts.service import pending_approvals

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


def _decide(partner: str, home: Path | None, act: Callable[..., Any]) -> Any:
    with _unit(partner, home) as (rt, session):
        return act(rt, session)


@approvals_app.command("approve")
def approve(
    negotiation: Annotated[str, typer.Argument(help="negotiation id")],
    partner: PartnerOpt,
    by: ByOpt = "steward",
    home: HomeOpt = None,
) -> None:
    """Approve: the agreement is signed and sent to the consumer."""
    from connector.contracts import service

    row = _decide(
        partner,
        home,
        lambda rt, s: service.approve(s, rt.policies, rt.me(), rt.trust(), negotiation, by),
    )
    out.print(f"[green]✓[/] approved; agreement {row.agreement_id} ({row.state})")


@approvals_app.command("reject")
def reject(
    negotiation: Annotated[str, typer.Argument(help="negotiation id")],
    partner: PartnerOpt,
    reason: ReasonOpt,
    by: ByOpt = "steward",
    home: HomeOpt = None,
) -> None:
    """Reject with a reason: the negotiation is terminated and the consumer told why."""
    from connector.contracts import service

    _decide(partner, home, lambda rt, s: service.reject(s, rt.trust(), negotiation, by, reason))
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
    by: ByOpt = "steward",
    home: HomeOpt = None,
) -> None:
    """Revoke an agreement this connector granted: later uses are denied at once."""
    from connector.contracts import service

    _decide(partner, home, lambda rt, s: service.revoke(s, rt.trust(), agreement, by, reason))
    out.print(f"[green]✓[/] revoked {agreement}")
