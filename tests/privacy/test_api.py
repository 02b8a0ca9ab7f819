"""`POST /privacy/queries` on fbk's connector over HTTP: other members ask under agreements.

Refusals are problem+json that say why; every request, answered or refused, is on record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connector.identity.schemas import Role
from connector.settings import Settings
from tests.conftest import bearer, peer_headers

pytestmark = pytest.mark.anyio
MEAN = {"dataset": "trips", "aggregate": "mean", "column": "distance_km", "epsilon": 0.5}


async def ask(
    client: httpx.AsyncClient, settings: Settings, agreement: str, query: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        "/privacy/queries",
        json={"agreement_id": agreement, "query": query},
        headers=peer_headers(settings.home, "unibo", "fbk"),
    )


async def test_a_member_gets_noisy_cells_under_its_agreement(
    fbk: httpx.AsyncClient, fbk_settings: Settings, grant: Callable[..., str]
) -> None:
    agreement = grant()
    resp = await ask(fbk, fbk_settings, agreement, MEAN | {"group_by": ["mode"]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [c["group"]["mode"] for c in body["cells"]] == [
        "bike",
        "bus",
        "car",
        "motorbike",
        "tram",
        "walk",
    ]
    released = [c for c in body["cells"] if "suppressed" not in c]
    assert released, body["cells"]
    assert all(0 <= c["value"] <= 60 and c["stderr"] > 0 for c in released)
    assert body["contributor_limit"] == 10  # a person, not a trip, is what is protected
    assert {m["mechanism"] for m in body["mechanisms"]} == {"geometric", "snapping (Laplace)"}
    assert body["budget"] == {
        "dataset_id": "trips",
        "organisation": "urn:gemello:bologna:unibo",
        "total": 5.0,
        "spent": 0.5,
        "reserved": 0.0,
        "credit": 0.0,
        "remaining": 4.5,
        "queries": 1,
    }
    # No row-level value leaves: nothing that looks like a person or trip id.
    assert "psn_" not in resp.text
    assert '"T0' not in resp.text


async def test_small_groups_are_suppressed_with_a_reason(
    fbk: httpx.AsyncClient, fbk_settings: Settings, grant: Callable[..., str]
) -> None:
    query = MEAN | {"aggregate": "count", "column": None, "group_by": ["origin_area", "hour"]}
    resp = await ask(fbk, fbk_settings, grant(), query)
    assert resp.status_code == 200, resp.text
    cells = resp.json()["cells"]
    assert len(cells) == 90 * 24
    suppressed = [c for c in cells if "suppressed" in c]
    assert suppressed  # night hours in small areas hold a handful of trips
    assert all(c["suppressed"] == "fewer than 10 rows" and c["value"] is None for c in suppressed)


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        (MEAN | {"column": "person_id"}, 422, "personal identifier and never leaves"),
        (MEAN | {"column": "origin_area"}, 422, "no declared bounds"),
        (MEAN | {"group_by": ["person_id"]}, 422, "not a public dimension"),
        (MEAN | {"epsilon": 3}, 403, "above the 1 one query may spend"),
        (MEAN | {"dataset": "nothing-here"}, 404, "no published dataset"),
        (MEAN | {"colour": "red"}, 422, "colour"),
    ],
)
async def test_bad_queries_are_refused_before_anything_is_spent(
    fbk: httpx.AsyncClient,
    fbk_settings: Settings,
    grant: Callable[..., str],
    query: dict[str, Any],
    status: int,
    words: str,
) -> None:
    resp = await ask(fbk, fbk_settings, grant(), query)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert words in resp.text


async def test_no_agreement_or_a_disallowed_purpose_is_denied_and_recorded(
    fbk: httpx.AsyncClient,
    fbk_settings: Settings,
    fbk_tokens: dict[Role, str],
    grant: Callable[..., str],
) -> None:
    none = await ask(fbk, fbk_settings, "urn:gemello:agreement:invented", MEAN)
    assert none.status_code == 403
    assert "no agreement 'urn:gemello:agreement:invented'" in none.json()["detail"]
    commercial = await ask(fbk, fbk_settings, grant(purpose="commercial"), MEAN)
    assert commercial.status_code == 403
    assert "purpose 'commercial' not in [research, public-policy, planning]" in commercial.text
    other_dataset = await ask(fbk, fbk_settings, grant(dataset="trips"), MEAN | {"dataset": "x"})
    assert other_dataset.status_code == 404
    auditor = bearer(fbk_tokens[Role.auditor])
    decisions = (await fbk.get("/decisions", headers=auditor)).json()
    aggregate = [d for d in decisions if d["labels"]["context"] == "aggregate"]
    assert len(aggregate) == 2
    assert not any(d["result"]["allow"] for d in aggregate)
    charges = (await fbk.get("/privacy/charges", headers=auditor)).json()
    assert [c["state"] for c in charges] == ["refused", "refused"]


async def test_an_exhausted_budget_is_a_403_naming_what_is_left(
    fbk: httpx.AsyncClient,
    fbk_settings: Settings,
    fbk_tokens: dict[Role, str],
    grant: Callable[..., str],
) -> None:
    agreement = grant()
    for _ in range(5):
        assert (await ask(fbk, fbk_settings, agreement, MEAN | {"epsilon": 0.9})).status_code == 200
    spent = await ask(fbk, fbk_settings, agreement, MEAN | {"epsilon": 0.9})
    assert spent.status_code == 403
    problem = spent.json()
    assert problem["type"] == "urn:gemello:problem:budget-exhausted"
    assert problem["epsilon_remaining"] == pytest.approx(0.5)
    assert "0.5 epsilon left" in problem["detail"]
    steward = bearer(fbk_tokens[Role.steward])
    [budget] = (await fbk.get("/privacy/budgets", headers=steward)).json()
    assert budget["spent"] == pytest.approx(4.5)
    assert budget["queries"] == 5
    researcher = bearer(fbk_tokens[Role.researcher])
    assert (await fbk.get("/privacy/budgets", headers=researcher)).status_code == 403


async def test_local_researchers_need_an_agreement_this_connector_holds(
    fbk: httpx.AsyncClient, fbk_tokens: dict[Role, str], grant: Callable[..., str]
) -> None:
    # An agreement fbk *granted* is not one a local user can query through (it holds no data
    # elsewhere under it): the forward needs a consumer-side agreement.
    resp = await fbk.post(
        "/privacy/queries",
        json={"agreement_id": grant(), "query": MEAN},
        headers=bearer(fbk_tokens[Role.researcher]),
    )
    assert resp.status_code == 404
    assert "holds no agreement" in resp.json()["detail"]


@pytest.mark.parametrize("aggregate", ["count", "sum", "mean", "variance", "histogram", "quantile"])
async def test_every_aggregate_is_answered_over_http(
    fbk: httpx.AsyncClient, fbk_settings: Settings, grant: Callable[..., str], aggregate: str
) -> None:
    query = MEAN | {"aggregate": aggregate, "group_by": ["weekday"], "epsilon": 0.2}
    if aggregate == "count":
        query["column"] = None
    resp = await ask(fbk, fbk_settings, grant(), query)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    expected = 7 * (10 if aggregate == "histogram" else 1)
    assert len(body["cells"]) == expected
    assert body["epsilon"] == 0.2
    assert sum(m["epsilon"] for m in body["mechanisms"]) == pytest.approx(0.2)


async def test_a_replayed_token_is_refused_and_changes_nothing(
    fbk: httpx.AsyncClient,
    fbk_settings: Settings,
    fbk_tokens: dict[Role, str],
    grant: Callable[..., str],
) -> None:
    """The query route records the token id inside its one write transaction: a second use
    of a token is refused there and rolls back everything that request would have done."""
    agreement = grant()
    headers = peer_headers(fbk_settings.home, "unibo", "fbk")
    body = {"agreement_id": agreement, "query": MEAN}
    first = await fbk.post("/privacy/queries", json=body, headers=headers)
    assert first.status_code == 200, first.text
    again = await fbk.post("/privacy/queries", json=body, headers=headers)
    assert again.status_code == 401, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["reason"] == "replayed"
    assert again.headers["www-authenticate"].startswith("Bearer ")
    auditor = bearer(fbk_tokens[Role.auditor])
    charges = (await fbk.get("/privacy/charges", headers=auditor)).json()
    assert [c["state"] for c in charges] == ["committed"]
    decisions = (await fbk.get("/decisions", headers=auditor)).json()
    assert len([d for d in decisions if d["labels"]["context"] == "aggregate"]) == 1
    refused = (
        await fbk.get("/audit/entries", headers=auditor, params={"action": "auth.refused"})
    ).json()
    assert [e["details"]["reason"] for e in refused] == ["replayed"]
    # A replay on a route that records tokens up front is refused the same way.
    assert (await fbk.get("/privacy/budgets", headers=headers)).status_code == 401
