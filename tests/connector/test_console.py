"""The web console's guards over HTTP, against a real unibo app (SQLite, in process): sign-in
with an API token, server-side sessions that expire and end, role rules on every route, CSRF
on every state-changing request, strict browser headers, and what users wrote shown as text.
The pages in a real browser: tests/e2e/test_console_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connector.app import create_app
from connector.identity import service as users
from connector.identity.schemas import Role
from connector.settings import Settings
from connector.storage import migrated_session
from connector.storage.tables import FederatedEntry
from connector.web import i18n
from connector.web.security import COOKIE, CSP, ConsoleAccess
from tests.conftest import client_for, path_operations

pytestmark = pytest.mark.anyio


class MovingClock:
    """A clock the test moves (sessions expire by it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock()


@pytest.fixture
def console_app(unibo_settings: Settings, clock: MovingClock) -> FastAPI:
    return create_app(unibo_settings, clock=clock)


@pytest.fixture
async def browser(console_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client with no bearer token: what a browser sends."""
    async for c in client_for(console_app):
        yield c


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str, next_: str = "") -> httpx.Response:
    form = await client.get("/console/sign-in")
    assert form.status_code == 200
    return await client.post(
        "/console/sign-in",
        data={"token": token, "csrf": form_token(form.text), "next": next_},
    )


async def test_sign_in_opens_a_server_side_session_and_sign_out_ends_it(
    browser: httpx.AsyncClient, user_tokens: dict[Role, str], unibo_settings: Settings
) -> None:
    first = await browser.get("/console/discover")
    assert first.status_code == 303
    assert first.headers["location"].startswith("/console/sign-in?next=/console/discover")

    signed = await sign_in(browser, user_tokens[Role.researcher], "/console/discover?q=traffico")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/console/discover?q=traffico"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Path=/console" in cookie
    secret = browser.cookies[COOKIE]
    assert user_tokens[Role.researcher] not in cookie  # the API token never reaches the browser

    page = await browser.get("/console/discover")
    assert page.status_code == 200
    assert "researcher" in page.text
    # the session is kept server-side only as a digest of the cookie
    from sqlmodel import select

    from connector.storage.tables import ConsoleSession

    with migrated_session(unibo_settings.db_url) as session:
        rows = session.exec(select(ConsoleSession)).all()
    assert len(rows) == 1
    assert rows[0].secret_sha256 != secret
    assert len(rows[0].secret_sha256) == 64

    out = await browser.post("/console/sign-out", data={"csrf": form_token(page.text)})
    assert out.status_code == 303
    # the old cookie, replayed, no longer opens anything
    browser.cookies.set(COOKIE, secret, path="/console")
    again = await browser.get("/console/discover")
    assert again.status_code == 303
    assert "why=expired" in again.headers["location"]


async def test_a_wrong_token_is_refused_with_the_reason_and_logged(
    browser: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="gemello.security"):
        refused = await sign_in(browser, "gmo_not-a-real-token")
    assert refused.status_code == 401
    assert "not known to this connector" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert COOKIE not in browser.cookies
    assert any("token_unknown" in r.getMessage() or "not known" in r.getMessage()
               for r in caplog.records)  # fmt: skip


async def test_sign_in_without_its_form_token_is_refused(
    browser: httpx.AsyncClient, user_tokens: dict[Role, str]
) -> None:
    await browser.get("/console/sign-in")
    forged = await browser.post(
        "/console/sign-in", data={"token": user_tokens[Role.researcher], "csrf": "guess"}
    )
    assert forged.status_code == 403
    assert COOKIE not in browser.cookies


async def test_sessions_expire_when_idle_and_at_their_absolute_end(
    browser: httpx.AsyncClient,
    user_tokens: dict[Role, str],
    clock: MovingClock,
    unibo_settings: Settings,
) -> None:
    await sign_in(browser, user_tokens[Role.researcher])
    assert (await browser.get("/console/discover")).status_code == 200
    clock.now += timedelta(minutes=unibo_settings.console_idle_minutes - 1)
    assert (await browser.get("/console/discover")).status_code == 200  # use renews it
    clock.now += timedelta(minutes=unibo_settings.console_idle_minutes + 1)
    idle = await browser.get("/console/discover")
    assert idle.status_code == 303
    assert "why=expired" in idle.headers["location"]

    await sign_in(browser, user_tokens[Role.researcher])
    for _ in range(int(unibo_settings.console_session_hours * 60 / 20) + 1):
        clock.now += timedelta(minutes=20)  # active all along, but not past the absolute end
        response = await browser.get("/console/discover")
        if response.status_code != 200:
            break
    assert response.status_code == 303
    assert "why=expired" in response.headers["location"]


async def test_revoking_the_api_token_ends_its_console_sessions(
    browser: httpx.AsyncClient, unibo_settings: Settings
) -> None:
    with migrated_session(unibo_settings.db_url) as session:
        issued = users.add_user(session, "leaving", Role.researcher)
    await sign_in(browser, issued.token)
    assert (await browser.get("/console/discover")).status_code == 200
    with migrated_session(unibo_settings.db_url) as session:
        users.revoke_token(session, issued.token_id)
    assert (await browser.get("/console/discover")).status_code == 303


def console_routes(app: FastAPI) -> list[Any]:
    return [r for r in path_operations(app) if r.path.startswith("/console")]


def admitted(route: Any) -> frozenset[Role] | None:
    """The roles a console route admits (None: a public route)."""
    rules = [d.dependency for d in route.dependencies if isinstance(d.dependency, ConsoleAccess)]
    return rules[0].roles if rules else None


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def test_every_console_route_refuses_no_session_a_wrong_role_and_no_csrf(
    console_app: FastAPI, user_tokens: dict[Role, str]
) -> None:
    routes = [(r, m) for r in console_routes(console_app) for m in r.methods if m != "HEAD"]
    guarded = [(r, m) for r, m in routes if admitted(r) is not None]
    assert {r.path for r, _ in guarded} >= {"/console/discover", "/console/sign-out"}
    async for anon in client_for(console_app):
        for route, method in guarded:
            response = await anon.request(method, concrete(route.path))
            assert response.status_code in (303, 401), (method, route.path)
            if method == "GET":
                assert "/console/sign-in" in response.headers["location"]
    for role in Role:
        async for client in client_for(console_app):
            await sign_in(client, user_tokens[role])
            page = await client.get("/console/discover")
            csrf = form_token(page.text) if page.status_code == 200 else "none"
            for route, method in guarded:
                roles = admitted(route)
                assert roles is not None
                if role not in roles:
                    response = await client.request(method, concrete(route.path))
                    assert response.status_code == 403, (role, method, route.path)
                elif method == "POST" and route.path != "/console/sign-out":
                    bare = await client.post(concrete(route.path), data={})
                    wrong = await client.post(concrete(route.path), data={"csrf": "x" + csrf})
                    assert bare.status_code == wrong.status_code == 403, (role, route.path)
            # sign-out last: without the token it is refused, and the session lives on
            assert (await client.post("/console/sign-out", data={})).status_code == 403
            assert (
                await client.post("/console/sign-out", data={"csrf": csrf[:-1]})
            ).status_code == 403
            assert (await client.get("/console/discover")).status_code == 200


async def test_console_responses_carry_a_strict_content_security_policy(
    browser: httpx.AsyncClient,
) -> None:
    for path in ("/console/sign-in", "/console/static/console.css", "/console/nowhere"):
        response = await browser.get(path)
        assert response.headers["content-security-policy"] == CSP, path
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert "'unsafe-inline'" not in CSP
    assert "script-src 'self'" in CSP
    missing = await browser.get("/console/nowhere")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    api = await browser.get("/health")
    assert "content-security-policy" not in api.headers  # the API is not a page


async def test_what_a_member_wrote_is_shown_as_text(
    browser: httpx.AsyncClient, user_tokens: dict[Role, str], unibo_settings: Settings
) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with migrated_session(unibo_settings.db_url) as session:
        session.add(
            FederatedEntry(
                partner="fbk",
                dataset_iri="urn:test:evil",
                dataset_id="evil",
                title=evil,
                themes="TRAN",
                privacy_class="open",
                search_text="evil",
                document={"@id": "urn:test:evil", "title": evil, "description": evil},
                fetched_at=datetime.now(UTC),
            )
        )
        session.commit()
    await sign_in(browser, user_tokens[Role.researcher])
    for path in ("/console/discover?q=evil", "/console/datasets/fbk/evil"):
        page = await browser.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


async def test_pages_speak_italian_by_default_and_english_on_request(
    browser: httpx.AsyncClient, user_tokens: dict[Role, str]
) -> None:
    await sign_in(browser, user_tokens[Role.researcher])
    italian = await browser.get("/console/discover")
    assert '<html lang="it">' in italian.text
    assert "Cerca nel catalogo federato" in italian.text
    english = await browser.get("/console/discover?lang=en")
    assert '<html lang="en">' in english.text
    assert "Search the federated catalogue" in english.text
    assert '<html lang="en">' in (await browser.get("/console/discover")).text  # remembered
    bad = await browser.get("/console/discover?start=yesterday")
    assert bad.status_code == 400
    assert "is not a date" in bad.text


def test_every_message_is_in_both_languages_and_every_template_id_exists() -> None:
    from pathlib import Path

    for key, texts in i18n.MESSAGES.items():
        assert set(texts) == set(i18n.LANGUAGES), key
    used: set[str] = set()
    for template in (Path(i18n.__file__).parent / "templates").glob("*.html"):
        used |= set(re.findall(r"""t\(["']([a-z.]+)["']\)""", template.read_text()))
    assert used, used - set(i18n.MESSAGES)
    assert used <= set(i18n.MESSAGES), used - set(i18n.MESSAGES)
    from connector.web.pages import STATE_KEYS

    assert set(STATE_KEYS.values()) <= set(i18n.MESSAGES)
    assert {"neg.agreed", "neg.refused", "neg.steward", "neg.moving"} <= set(i18n.MESSAGES)


def test_the_area_map_fits_its_frame_and_keeps_every_area() -> None:
    from catalog.model import BBox
    from connector.gateway.gazetteer import Area, Gazetteer
    from connector.web.maps import draw

    def square(code: int, x: float, y: float) -> Area:
        ring = (
            (x, y),
            (x + 0.01, y),
            (x + 0.01, y + 0.005),
            (x + 0.005, y + 0.01),
            (x, y + 0.01),
            (x, y),
        )
        box = BBox(west=x, south=y, east=x + 0.01, north=y + 0.01)
        return Area(code=code, name=f"A{code}", zone="z", district="d", bbox=box, outline=(ring,))

    city = draw(Gazetteer([square(1, 11.30, 44.49), square(2, 11.32, 44.50)]), width=200)
    assert [a.name for a in city.areas] == ["A1", "A2"]
    assert city.width == 200
    assert 0 < city.height < 200  # wider than tall at 44.5° N, as the areas are
    for area in city.areas:
        start = re.match(r"M(\d+),(\d+)l", area.d)
        assert start, area.d
        x, y = int(start[1]), int(start[2])
        for dx, dy in re.findall(r"(-?\d+),(-?\d+)", area.d[start.end() :]):
            x, y = x + int(dx), y + int(dy)
            assert 0 <= x <= city.width
            assert 0 <= y <= city.height
        assert area.d.endswith("z")
