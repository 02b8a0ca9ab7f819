"""A steward raises or resets a budget: a recorded act with a reason, audited, refused with a
clear problem when it makes no sense, and only for stewards."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from connector.identity.schemas import Role
from tests.conftest import bearer, client_for

pytestmark = pytest.mark.anyio
CINECA = "urn:gemello:bologna:cineca"
ACTS = "/privacy/budgets/acts"


async def test_a_raise_is_recorded_audited_and_spendable(
    app: FastAPI, user_tokens: dict[Role, str]
) -> None:
    async for client in client_for(app):
        steward = bearer(user_tokens[Role.steward])
        act = {"dataset_id": "bike-counters", "organisation": CINECA, "kind": "raise",
               "epsilon": 1.5, "reason": "Studio sulle ciclabili approvato"}  # fmt: skip
        made = await client.post(ACTS, json=act, headers=steward)
        assert made.status_code == 201, made.text
        assert made.json()["remaining_after"] == made.json()["remaining_before"] + 1.5
        budgets = await client.get("/privacy/budgets?dataset=bike-counters", headers=steward)
        (row,) = [b for b in budgets.json() if b["organisation"] == CINECA]
        assert row["credit"] == 1.5
        assert row["remaining"] == row["total"] + 1.5
        listed = await client.get(ACTS, headers=bearer(user_tokens[Role.auditor]))
        assert [a["reason"] for a in listed.json()] == [act["reason"]]
        audit = await client.get("/audit/entries", params={"action": "privacy.budget"},
                                 headers=bearer(user_tokens[Role.auditor]))  # fmt: skip
        (entry,) = audit.json()
        assert entry["outcome"] == "raised"
        assert entry["reason"] == act["reason"]
        assert entry["target"] == CINECA


async def test_bad_acts_are_refused_with_a_problem_and_change_nothing(
    app: FastAPI, user_tokens: dict[Role, str]
) -> None:
    async for client in client_for(app):
        steward = bearer(user_tokens[Role.steward])
        base = {"dataset_id": "bike-counters", "organisation": CINECA,
                "reason": "Nuovo anno di progetto, budget da ripartire"}  # fmt: skip
        nothing = await client.post(ACTS, json=base | {"kind": "reset"}, headers=steward)
        assert nothing.status_code == 400
        assert nothing.headers["content-type"] == "application/problem+json"
        assert "nothing to reset" in nothing.json()["detail"]
        terse = base | {"kind": "raise", "epsilon": 1, "reason": "ok"}
        short = await client.post(ACTS, headers=steward, json=terse)
        assert short.status_code == 422
        stranger = await client.post(ACTS, headers=steward,
                                     json=base | {"kind": "raise", "epsilon": 1,
                                                  "organisation": "urn:x:nobody"})  # fmt: skip
        assert stranger.status_code == 400
        assert "not a member" in stranger.json()["detail"]
        missing = await client.post(ACTS, headers=steward,
                                    json=base | {"kind": "raise", "epsilon": 1,
                                                 "dataset_id": "no-such"})  # fmt: skip
        assert missing.status_code == 404
        researcher = await client.post(ACTS, json=base | {"kind": "raise", "epsilon": 1},
                                       headers=bearer(user_tokens[Role.researcher]))  # fmt: skip
        assert researcher.status_code == 403
        listed = await client.get(ACTS, headers=steward)
        assert listed.json() == []
