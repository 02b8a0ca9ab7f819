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

from connector.cli.kit import (
    HomeOpt,
    JsonOpt,
    PartnerOpt,
    TokenOpt,
    UrlOpt,
    YourPartnerOpt,
    act_as,
    err,
    fail,
    out,
    print_json,
    settings_for,
    short,
    show_records,
    unique_prefix,
)

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


@approvals_app.command("list")
def list_approvals(partner: PartnerOpt, as_json: JsonOpt = False, home: HomeOpt = None) -> None:
    """Negotiations waiting for approval, oldest first."""
    from connector.contracts.approvals import pending_approvals

    with _unit(partner, home) as (_rt, session):
        records = [
            {
                "negotiation": r.id,
                "organisation": r.counterparty,
                "dataset": r.dataset_id,
                "purpose": r.purpose,
                "role": r.requested_role,
                "requested": r.created_at.isoformat(timespec="seconds"),
            }
            for r in pending_approvals(session)
        ]
    columns = [(k, k) for k in ("negotiation", "organisation", "dataset", "purpose", "role")]
    show_records(
        f"Waiting for approval on {partner}",
        [*columns, ("requested", "requested (UTC)")],
        records,
        as_json,
        ids=("negotiation",),
    )


def _pending_id(session: Any, given: str) -> str:
    from connector.contracts.approvals import pending_approvals

    return unique_prefix(
        given, [r.id for r in pending_approvals(session)], "negotiation waiting for approval"
    )


def _granted_id(session: Any, given: str) -> str:
    from connector.contracts.repository import ContractRepository

    granted = [a.id for a in ContractRepository(session).agreements(role="provider")]
    return unique_prefix(given, granted, "agreement granted here")


def _decide(partner: str, home: Path | None, token: str | None, act: Callable[..., Any]) -> Any:
    """Run `act(rt, session, who)` as the steward whose token this is."""
    who = act_as(settings_for(partner, home), token, *STEWARDS)
    with _unit(partner, home) as (rt, session):
        return act(rt, session, who)


@approvals_app.command("approve")
def approve(
    negotiation: Annotated[str, typer.Argument(help="negotiation id (or its first characters)")],
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
        lambda rt, s, by: approvals.approve(
            s, rt.policies, rt.me(), rt.trust(), _pending_id(s, negotiation), by
        ),
    )
    out.print(f"[green]✓[/] approved; agreement {row.agreement_id} ({row.state})")


@approvals_app.command("reject")
def reject(
    negotiation: Annotated[str, typer.Argument(help="negotiation id (or its first characters)")],
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
        lambda rt, s, by: approvals.reject(s, rt.trust(), _pending_id(s, negotiation), by, reason),
    )
    out.print(f"[green]✓[/] rejected {negotiation}")


@agreements_app.command("list")
def list_agreements(partner: PartnerOpt, as_json: JsonOpt = False, home: HomeOpt = None) -> None:
    """Agreements granted (provider) and held (consumer), newest first."""
    from connector.contracts.repository import ContractRepository

    with _unit(partner, home) as (_rt, session):
        records = [
            {
                "agreement": a.id,
                "side": a.role,
                "other_party": a.consumer if a.role == "provider" else a.provider,
                "dataset": a.dataset_id,
                "purpose": a.purpose,
                "uses": a.use_count,
                "status": "revoked" if a.revoked_at else "valid",
                "agreed_at": a.agreed_at.isoformat(timespec="seconds"),
            }
            for a in ContractRepository(session).agreements()
        ]
    show_records(
        f"Agreements on {partner}",
        [("agreement", "agreement"), ("side", "side"), ("other_party", "other party"),
         ("dataset", "dataset"), ("purpose", "purpose"), ("uses", "uses"),
         ("status", "status")],
        records,
        as_json,
        ids=("agreement",),
    )  # fmt: skip


@agreements_app.command("revoke")
def revoke(
    agreement: Annotated[str, typer.Argument(help="agreement id (or its first characters)")],
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
        lambda rt, s, by: approvals.revoke(
            s, rt.trust(), _granted_id(s, agreement), by, reason, block
        ),
    )
    blocked = f"; {row.consumer} blocked from new agreements on {row.dataset_id}" if block else ""
    out.print(f"[green]✓[/] revoked {agreement}{blocked}")


@agreements_app.command("blocks")
def list_blocks(
    partner: PartnerOpt,
    all_: Annotated[bool, typer.Option("--all", help="lifted blocks too")] = False,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Organisations blocked from new agreements on a dataset after a revocation."""
    from connector.contracts.repository import ContractRepository

    with _unit(partner, home) as (_rt, session):
        records = [
            {
                "block": b.id,
                "organisation": b.organisation,
                "dataset": b.dataset_id,
                "revoked_agreement": b.agreement_id,
                "reason": b.reason,
                "status": f"lifted by {b.lifted_by}" if b.lifted_at else "in force",
            }
            for b in ContractRepository(session).blocks(active_only=not all_)
        ]
    show_records(
        f"Agreement blocks on {partner}",
        [("block", "block"), ("organisation", "organisation"), ("dataset", "dataset"),
         ("revoked_agreement", "revoked agreement"), ("reason", "reason"),
         ("status", "status")],
        records,
        as_json,
        ids=("revoked_agreement",),
    )  # fmt: skip


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


# --- a researcher's side: ask for an agreement, pull a dataset (over HTTP, own connector) -----


def _http(method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
    """A call to your connector; a problem becomes one line and exit 3 (refused) or 2."""
    import httpx

    try:
        resp = httpx.request(method, url, headers=headers, timeout=30, **kw)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {url}: {exc}") from None
    if resp.status_code >= 400:
        try:
            problem = resp.json()
            detail = f"{problem.get('title', resp.status_code)}: {problem.get('detail')}"
        except ValueError:
            detail = f"{resp.status_code}: {resp.text[:200]}"
        raise fail(detail, 3 if resp.status_code in (403, 404, 409, 422, 502) else 2)
    return resp


def negotiate(
    provider: Annotated[str, typer.Argument(help="the member holding the data, e.g. cineca")],
    dataset: Annotated[str, typer.Argument(help="its dataset id, e.g. rainfall-daily")],
    purpose: Annotated[str, typer.Option(help="why: research, public-policy, planning...")],
    partner: YourPartnerOpt = "unibo",
    url: UrlOpt = None,
    token: TokenOpt = None,
    wait: Annotated[float, typer.Option(help="seconds to wait for the answer")] = 20,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Ask another member for an agreement on a dataset, and wait for the answer.

    Through your own connector (DSP). Agreed: exit 0, with the agreement. Refused: exit 3, with
    the provider's reasons. No answer within --wait: exit 0, still waiting, most likely for a
    steward of the provider to approve (its policy has the duty obtainApproval)."""
    import time

    from rich.status import Status

    from connector.cli.kit import connector_target

    base, headers = connector_target(partner, url, token, home)
    body = {"partner": provider, "dataset": dataset, "purpose": purpose}
    row = _http("POST", f"{base}/contracts/negotiations", headers, json=body).json()
    deadline = time.monotonic() + wait
    doing = f"negotiating with {provider} for {dataset} ({purpose})"
    with Status(f"{doing}: {row['state']} …", console=err) as status:
        while row["state"] not in ("FINALIZED", "TERMINATED") and time.monotonic() < deadline:
            time.sleep(0.25)
            row = _http("GET", f"{base}/contracts/negotiations/{row['id']}", headers).json()
            status.update(f"{doing}: {row['state']} …")
    if as_json:
        print_json(row)
    elif row["state"] == "FINALIZED":
        out.print(f"[green]✓ agreed[/] with {provider}: agreement {row['agreement_id']}")
        out.print(f"  pull it: gemello pull {short(row['agreement_id'])} -o {dataset}.parquet")
    elif row["state"] == "TERMINATED":
        out.print(f"[red]✗ refused[/] by {provider}: {row['reason']}")
    else:
        out.print(
            f"[yellow]… waiting[/]: {provider} has not decided yet (state {row['state']}); its "
            f"policy may need a steward's approval. Negotiation {row['id']}"
        )
    if row["state"] == "TERMINATED":
        raise typer.Exit(3)


def pull(
    agreement: Annotated[
        str,
        typer.Argument(
            help="an agreement you hold (or its first characters), or a dataset id: your "
            "newest live agreement on it"
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="the file to write (Parquet)")],
    partner: YourPartnerOpt = "unibo",
    url: UrlOpt = None,
    token: TokenOpt = None,
    wait: Annotated[float, typer.Option(help="seconds to wait for the provider")] = 60,
    home: HomeOpt = None,
) -> None:
    """Pull a dataset under an agreement you hold, into a file.

    The provider decides again (action read) and gives a short-lived data address; the file is
    written and the transfer completed."""
    import time

    import httpx
    from rich.status import Status

    from connector.cli.kit import connector_target

    base, headers = connector_target(partner, url, token, home)
    held = _http("GET", f"{base}/contracts/agreements", headers, params={"role": "consumer"})
    live = [a for a in held.json() if not a["revoked_at"]]
    on_dataset = sorted(
        (a for a in live if a["dataset_id"] == agreement), key=lambda a: a["agreed_at"]
    )
    agreement_id = (
        on_dataset[-1]["id"]
        if on_dataset
        else unique_prefix(agreement, [a["id"] for a in held.json()], "agreement you hold")
    )
    body = {"agreement_id": agreement_id}
    row = _http("POST", f"{base}/contracts/transfers", headers, json=body).json()
    deadline = time.monotonic() + wait
    with Status(
        f"pulling under agreement {short(agreement_id)}: the provider decides …", console=err
    ):
        while row["state"] == "REQUESTED" and time.monotonic() < deadline:
            time.sleep(0.25)
            row = _http("GET", f"{base}/contracts/transfers/{row['id']}", headers).json()
    if row["state"] != "STARTED" or not row.get("data_address"):
        raise fail(
            f"no data: the transfer is {row['state']} ({row.get('reason') or 'no reason'})", 3
        )
    address = row["data_address"]
    props = {p["name"]: p["value"] for p in address.get("endpointProperties", [])}
    written = 0
    with (
        httpx.stream(
            "GET", address["endpoint"], headers={"Authorization": props["authorization"]},
            timeout=120,
        ) as resp,
        output.open("wb") as fh,
    ):  # fmt: skip
        if resp.status_code != 200:
            raise fail(f"the provider refused the data: {resp.status_code}", 3)
        for chunk in resp.iter_bytes():
            fh.write(chunk)
            written += len(chunk)
    _http("POST", f"{base}/contracts/transfers/{row['id']}/complete", headers)
    out.print(f"[green]✓[/] {written:,} bytes of {row['dataset_id']} in {output}")
