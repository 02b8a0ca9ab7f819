"""`gemello query` (a researcher's DP query through their own connector) and `gemello budget`
(stewards and auditors read the epsilon ledger)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from connector.cli.kit import (
    HomeOpt,
    JsonOpt,
    PartnerOpt,
    TokenOpt,
    UrlOpt,
    YourPartnerOpt,
    connector_target,
    fail,
    out,
    partner_session,
    print_json,
)
from connector.terminal import show_answer

budget_app = typer.Typer(help="The epsilon ledger: privacy budgets and charges.")

AGGREGATES = "count, sum, mean, variance, histogram or quantile"


def _filters(items: list[str]) -> list[dict[str, Any]]:
    out_: list[dict[str, Any]] = []
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name or not values:
            raise fail(f"--filter '{item}': write DIMENSION=VALUE[,VALUE...]")
        out_.append({"dimension": name, "values": values.split(",")})
    return out_


def query(
    dataset: Annotated[str, typer.Argument(help="dataset id at the provider")],
    agreement: Annotated[str, typer.Option(help="the agreement your connector holds for it")],
    aggregate: Annotated[str, typer.Option(help=AGGREGATES)],
    epsilon: Annotated[float, typer.Option(help="privacy budget this query spends")],
    column: Annotated[str | None, typer.Option(help="bounded numeric column")] = None,
    group_by: Annotated[
        list[str] | None, typer.Option("--group-by", help="public dimension (repeatable)")
    ] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", help="DIMENSION=VALUE[,VALUE...] (repeatable)"),
    ] = None,
    quantile: Annotated[float, typer.Option(help="for --aggregate quantile")] = 0.5,
    bins: Annotated[int, typer.Option(help="for --aggregate histogram")] = 10,
    partner: YourPartnerOpt = "unibo",
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Ask a differentially private aggregate of another member's dataset.

    The query goes through your own connector, under an agreement. Every answer spends epsilon
    from your organisation's budget."""
    import httpx

    url, headers = connector_target(partner, url, token, home)
    body = {
        "agreement_id": agreement,
        "query": {
            "dataset": dataset,
            "aggregate": aggregate,
            "column": column,
            "group_by": group_by or [],
            "filters": _filters(filter_ or []),
            "epsilon": epsilon,
            "quantile": quantile,
            "bins": bins,
        },
    }
    try:
        resp = httpx.post(
            f"{url.rstrip('/')}/privacy/queries",
            json=body,
            headers=headers,
            timeout=120,
        )
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {url}: {exc}") from None
    try:
        answer = resp.json()
    except ValueError:
        raise fail(f"{url} answered {resp.status_code} without JSON") from None
    if resp.status_code != 200:
        raise fail(f"{answer.get('title', resp.status_code)}: {answer.get('detail')}", 3)
    if as_json:
        out.print_json(json.dumps(answer))
        return
    show_answer(answer)


@budget_app.command("show")
def show(
    partner: PartnerOpt,
    dataset: Annotated[str | None, typer.Option(help="only this dataset")] = None,
    charges: Annotated[int, typer.Option(help="also list the latest N charges")] = 0,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Every organisation's privacy budget on this connector's datasets.

    Read from its database, so it works while the connector is down."""
    from connector.privacy import service

    with partner_session(partner, home) as session:
        budgets = service.budgets(session, dataset)
        latest = service.charges(session, dataset, None, charges) if charges else []
    if as_json:
        print_json({"budgets": budgets, "charges": latest})
        return
    rows = [
        [
            c["created_at"].isoformat(timespec="seconds"),
            c["dataset_id"],
            c["organisation"],
            f"{c['epsilon']:g}",
            c["state"],
            c["kind"],
            escape(c["reason"] or ""),
        ]
        for c in latest
    ]
    table = Table(title=f"Privacy budgets on {partner}")
    for name in ("dataset", "organisation", "total ε", "spent", "held", "left", "releases"):
        table.add_column(name, justify="left" if name in {"dataset", "organisation"} else "right")
    for b in budgets:
        table.add_row(
            b["dataset_id"],
            b["organisation"],
            f"{b['total']:g}",
            f"{b['spent']:g}",
            f"{b['reserved']:g}",
            f"{b['remaining']:g}",
            str(b["queries"]),
        )
    out.print(table if budgets else f"no budget has been charged on {partner} yet")
    if rows:
        ct = Table(title="Latest charges")
        for name in ("when", "dataset", "organisation", "ε", "state", "kind", "reason"):
            ct.add_column(name)
        for row in rows:
            ct.add_row(*row)
        out.print(ct)
