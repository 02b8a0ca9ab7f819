"""Private questions in the console: a DP query builder for a dataset my organisation holds an
agreement on. The aggregates, columns, group-bys and filters offered are the ones the
dataset's published query profile allows; the expected error is shown for the chosen epsilon
before anything is spent (and again as the reader changes it); the answer comes back as a table
and a chart with its noise, its standard errors, the suppressed cells marked, and the budget left.

The query is asked through `connector.privacy.remote`, as `POST /privacy/queries` asks it: the
provider decides, charges and answers.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from catalog.dsp import G
from connector.contracts import consumer
from connector.errors import NotFound
from connector.gateway import index
from connector.identity.sessions import SignedIn
from connector.privacy import remote
from connector.runtime import get_connector
from connector.storage import session_scope
from connector.web import charts, i18n
from connector.web.security import PREFIX, console
from connector.web.shell import language, render, text
from privacy import Aggregate, AggregateQuery, expected_error, published_profile
from privacy.query import DatasetProfile

ask = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[console(*remote.QUERY_USERS)])
Q = Annotated[str, Query(max_length=60)]


def _dataset(request: Request, partner: str, dataset_id: str) -> tuple[Any, DatasetProfile | None]:
    conn = get_connector(request)
    rows = index.find(conn.engine, dataset_id, partner)
    if not rows:
        raise NotFound(f"the federated catalogue has no dataset '{dataset_id}' of '{partner}'")
    published = rows[0].document.get(G + "queryProfile")
    return rows[0], published_profile(dataset_id, published) if published else None


def _agreements(request: Request, partner: str, dataset_id: str) -> list[Any]:
    conn = get_connector(request)
    provider = conn.contracts.trust().by_handle.get(partner)
    if provider is None:
        return []
    with session_scope(conn.engine) as session:
        return [
            a
            for a in consumer.held_agreements(session, provider.participant_id, dataset_id)
            if a.revoked_at is None
        ]


def _query(
    dataset_id: str,
    aggregate: str,
    column: str,
    group_by: list[str],
    filter_dim: str,
    filter_values: list[str],
    epsilon: str,
    quantile: str,
    bins: str,
) -> tuple[AggregateQuery | None, dict[str, str]]:
    """The query the form describes, or the errors by field (the query's own schema decides)."""
    body: dict[str, Any] = {
        "dataset": dataset_id,
        "aggregate": aggregate,
        "column": column or None,
        "group_by": [g for g in group_by if g],
        "epsilon": epsilon.replace(",", ".") or "0",
    }
    if filter_dim and filter_values:
        body["filters"] = [{"dimension": filter_dim, "values": filter_values}]
    if aggregate == "quantile" and quantile:
        body["quantile"] = quantile.replace(",", ".")
    if aggregate == "histogram" and bins:
        body["bins"] = bins
    try:
        return AggregateQuery.model_validate(body), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else "aggregate"
            message = str(e["msg"]).removeprefix("Value error, ")
            errors[field] = f"{errors[field]}; {message}" if field in errors else message
        return None, errors


def _preview(query: AggregateQuery, profile: DatasetProfile, lang: str) -> dict[str, Any]:
    """The expected error in words: per cell, or for groups of 100 and 1,000 rows."""
    t = i18n.translator(lang)
    exp = expected_error(query, profile)
    unit = query.column or t("ask.rows")
    if exp.sd is None:
        return {"lines": [t("ask.preview.quantile")], "sd": None}

    def sd(value: float) -> str:  # three significant figures, as the reader writes them
        return i18n.number(float(f"{value:.3g}"), max(0, 2 - math.floor(math.log10(value))), lang)

    if exp.per_row:
        lines = [
            t("ask.preview.group").format(n=i18n.number(n, 0, lang), sd=sd(exp.sd / n), unit=unit)
            for n in (100, 1000, 10000)
        ]
    else:
        lines = [t("ask.preview.cell").format(sd=sd(exp.sd), unit=unit)]
    lines.append(t("ask.preview.ci"))
    return {"lines": lines, "sd": exp.sd}


@ask.get("/ask/{partner}/{dataset_id}")
def ask_page(
    request: Request,
    partner: str,
    dataset_id: str,
    agreement: Q = "",
    aggregate: Q = "mean",
    column: Q = "",
    group_by: Annotated[list[str], Query(max_length=2)] = [],  # noqa: B006
    filter_dim: Q = "",
    filter_values: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006
    epsilon: Q = "0.5",
    quantile: Q = "0.5",
    bins: Q = "10",
    fragment: bool = False,
) -> Response:
    """The query builder; with `fragment`, only the error preview (the page asks for it as
    the reader changes the form)."""
    form = {
        "agreement": agreement,
        "aggregate": aggregate,
        "column": column,
        "group_by": group_by,
        "filter_dim": filter_dim,
        "filter_values": filter_values,
        "epsilon": epsilon,
        "quantile": quantile,
        "bins": bins,
    }
    return _builder(request, partner, dataset_id, form, {}, fragment=fragment)


def _builder(
    request: Request,
    partner: str,
    dataset_id: str,
    form: dict[str, Any],
    more_errors: dict[str, str],
    status: int = 200,
    fragment: bool = False,
) -> Response:
    lang = language(request)
    row, profile = _dataset(request, partner, dataset_id)
    held = _agreements(request, partner, dataset_id)
    form["agreement"] = form["agreement"] or (held[0].id if held else "")
    if not form["column"] and profile is not None:
        form["column"] = next(iter(profile.bounds), "")
    preview: dict[str, Any] | None = None
    errors: dict[str, str] = {}
    if profile is not None:
        query, errors = _query(dataset_id, **{k: v for k, v in form.items() if k != "agreement"})
        if query is not None:
            preview = _preview(query, profile, lang)
    errors |= more_errors
    if fragment:
        return render(request, "ask_preview.html", preview=preview, errors=errors)
    conn = get_connector(request)
    with session_scope(conn.engine) as session:
        budget = remote.last_budget(session, partner, dataset_id)
    return render(
        request,
        "ask.html",
        status=status,
        holder=partner,
        dataset_id=dataset_id,
        title=text(row.document.get("dct:title"), lang) or row.title,
        profile=profile,
        agreements=[
            {"id": a.id, "label": f"{i18n.purpose_label(a.purpose, lang)} · {a.id[:18]}…"}
            for a in held
        ],
        aggregates=[(a.value, i18n.MESSAGES[f"agg.{a.value}"][lang]) for a in Aggregate],
        form=form,
        preview=preview,
        errors=errors,
        budget=budget,
    )


@ask.post("/ask/{partner}/{dataset_id}")
async def ask_now(request: Request, partner: str, dataset_id: str) -> Response:
    """Ask the holder; the answer (or its refusal, with the reason) is kept and shown."""
    form = await request.form()
    values = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}

    def one(name: str, default: str = "") -> str:
        return (values.get(name) or [default])[-1].strip()

    lang = language(request)
    _, profile = _dataset(request, partner, dataset_id)
    query, errors = _query(
        dataset_id, one("aggregate"), one("column"), values.get("group_by", []),
        one("filter_dim"), values.get("filter_values", []), one("epsilon"),
        one("quantile", "0.5"), one("bins", "10"),
    )  # fmt: skip
    agreement = one("agreement")
    if not agreement:
        errors["agreement"] = i18n.MESSAGES["ask.noagreement"][lang]
    if errors or query is None or profile is None:
        again: dict[str, Any] = {
            "agreement": agreement, "aggregate": one("aggregate"), "column": one("column"),
            "group_by": values.get("group_by", []), "filter_dim": one("filter_dim"),
            "filter_values": values.get("filter_values", []), "epsilon": one("epsilon"),
            "quantile": one("quantile", "0.5"), "bins": one("bins", "10"),
        }  # fmt: skip
        return _builder(request, partner, dataset_id, again, errors, status=400)
    conn = get_connector(request)
    signed: SignedIn = request.state.signed_in
    body = query.model_dump(mode="json")
    status, payload, holder = await remote.ask_provider(  # the agreement names the holder
        conn.contracts, conn.peer_client(), signed.principal, agreement, body
    )
    row = await run_in_threadpool(
        remote.record_asked, conn.engine, signed.principal.subject, holder, agreement, body,
        status, payload,
    )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/queries/{row.id}", status_code=303)


def _group(cell: dict[str, Any]) -> str:
    group = cell.get("group") or {}
    label = ", ".join(f"{k} {v}" for k, v in group.items()) or "—"
    if cell.get("bin"):
        lo, hi = cell["bin"]
        label = f"{label} [{lo:g}, {hi:g})" if group else f"[{lo:g}, {hi:g})"
    return label


@ask.get("/queries/{query_id}")
def query_page(request: Request, query_id: str) -> Response:
    """A query and its answer: cells with noise and standard errors, suppressed ones marked,
    the chart, and the budget left; or the refusal and its reason."""
    conn = get_connector(request)
    lang = language(request)
    signed: SignedIn = request.state.signed_in
    with session_scope(conn.engine) as session:
        row = remote.my_query(session, query_id, signed.principal.subject)
        session.expunge(row)
    answer = row.answer
    refused = row.status >= 400
    cells = [
        {
            "group": _group(c),
            "value": c.get("value"),
            "count": c.get("count"),
            "stderr": c.get("stderr"),
            "suppressed": c.get("suppressed") or "",
        }
        for c in answer.get("cells") or []
    ]
    return render(
        request,
        "answer.html",
        status=200,
        row=row,
        q=row.query,
        aggregate=i18n.MESSAGES[f"agg.{row.query.get('aggregate', 'count')}"][lang],
        refused=refused,
        problem={"title": answer.get("title", ""), "detail": answer.get("detail", "")},
        cells=cells,
        mechanisms=answer.get("mechanisms") or [],
        budget=answer.get("budget") or {},
        chart=any(c["value"] is not None or c["count"] is not None for c in cells),
    )


@ask.get("/queries/{query_id}/chart.svg")
def query_chart(request: Request, query_id: str) -> Response:
    """The answer as bars with ±1.96 standard errors (suppressed cells left empty)."""
    conn = get_connector(request)
    lang = language(request)
    signed: SignedIn = request.state.signed_in
    with session_scope(conn.engine) as session:
        row = remote.my_query(session, query_id, signed.principal.subject)
        answer, query = dict(row.answer), dict(row.query)
    cells = (answer.get("cells") or [])[:60]
    values = [c.get("value") if c.get("value") is not None else c.get("count") for c in cells]
    errors = [1.96 * float(c.get("stderr") or 0) if v is not None else 0.0
              for c, v in zip(cells, values, strict=True)]  # fmt: skip
    aggregate = i18n.MESSAGES[f"agg.{query.get('aggregate', 'count')}"][lang]
    what = f"{aggregate} {query.get('column') or ''}"
    svg = charts.bars_with_errors(
        [_group(c) for c in cells],
        values,
        errors,
        f"{what.strip()} — ±1.96 SE",
        what.strip(),
        i18n.MESSAGES["ask.suppressed"][lang],
    )
    return Response(svg, media_type="image/svg+xml", headers=charts.SVG_HEADERS)
