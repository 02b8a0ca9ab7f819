"""The steward's console over HTTP, against a real unibo app (SQLite, in process): the policy
editor places every problem at its field, runs the test cases on the draft and refuses to save
while one fails, saves a new revision that the history explains, and shows what stewards wrote
as text. (The journey in a real browser: tests/e2e/test_console_steward.py.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from connector.app import create_app
from connector.identity.schemas import Role
from connector.settings import Settings
from tests.conftest import client_for
from tests.connector.test_console import form_token, sign_in

pytestmark = pytest.mark.anyio
EDIT = "/console/steward/policies/bike-counters/edit"
EVIL = '<script>alert("x")</script>'


@pytest.fixture
async def steward(
    unibo_settings: Settings, user_tokens: dict[Role, str]
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(unibo_settings)
    async for client in client_for(app):
        await sign_in(client, user_tokens[Role.steward])
        yield client


def _form(csrf: str, count: str, cases: str, step: str, note: str = "") -> dict[str, object]:
    return {
        "csrf": csrf,
        "uid": "urn:gemello:policy:unibo:bike-counters:1",
        "rules": "1",
        "r0.kind": "permission",
        "r0.action": "aggregate",
        "r0.n": "2",
        "r0.c0.left": "purpose",
        "r0.c0.op": "eq",
        "r0.c0.v": "research",
        "r0.c1.left": "count",
        "r0.c1.op": "lteq",
        "r0.c1.v": count,
        "cases": cases,
        "note": note,
        "do": step,
    }


CASES = """[[case]]
name = "a third use is refused"
action = "aggregate"
purpose = "research"
organisation = "fbk"
uses = 2
expect = "deny"
"""


async def test_the_editor_checks_refuses_a_failing_case_and_saves_a_revision(
    steward: httpx.AsyncClient,
) -> None:
    opened = await steward.get(EDIT)
    assert opened.status_code == 200
    csrf = form_token(opened.text)
    # A count that is not a number: named at its field, nothing saved.
    bad = await steward.post(EDIT, data=_form(csrf, "two", CASES, "save"))
    assert bad.status_code == 422
    assert 'href="#r0-c1"' in bad.text
    assert "a number is needed" in bad.text
    # A case that fails blocks the save, and the table says which.
    failing = await steward.post(EDIT, data=_form(csrf, "3", CASES, "save"))
    assert failing.status_code == 422
    assert "Un caso di prova non passa" in failing.text
    assert "non passa" in failing.text
    history = await steward.get("/console/steward/policies/bike-counters")
    assert "Nessuna revisione" in history.text
    # Fixed, it saves as version 1, and the history says what changed, with the note as text.
    saved = await steward.post(EDIT, data=_form(csrf, "2", CASES, "save", note=EVIL))
    assert saved.status_code == 303, saved.text[:2000]
    page = await steward.get(saved.headers["location"])
    assert "Versione 1" in page.text
    assert "il numero di usi è al massimo 2" in page.text
    assert EVIL not in page.text
    assert "&lt;script&gt;" in page.text
    api = await steward.get("/console/steward/policies/bike-counters/edit")
    assert "urn:gemello:policy:unibo:bike-counters:2" in api.text  # the next revision's id


async def test_adding_and_removing_conditions_is_done_on_the_server(
    steward: httpx.AsyncClient,
) -> None:
    csrf = form_token((await steward.get(EDIT)).text)
    form = _form(csrf, "3", "", "add-constraint:0") | {"r0.new": "recipient"}
    added = await steward.post(EDIT, data=form)
    assert added.status_code == 200
    assert 'name="r0.c2.left" value="recipient"' in added.text
    assert "urn:gemello:bologna:cineca" in added.text  # members offered as values
    dropped = await steward.post(EDIT, data=_form(csrf, "3", "", "drop-constraint:0:0"))
    assert 'name="r0.c0.left" value="count"' in dropped.text
    unknown = await steward.post(
        EDIT, data=_form(csrf, "3", "", "add-constraint:0") | {"r0.new": "x"}
    )
    assert 'name="r0.c2.left"' not in unknown.text
