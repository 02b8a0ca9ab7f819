"""The API docs page in a real browser: served locally, and usable with a bearer token.

Headless Chromium (Debian's package; `make test` installs it when it can) driven by Playwright
against a real uvicorn connector on loopback. Skips with the reason when either is missing.
"""

from __future__ import annotations

import shutil

import pytest

from connector.federation import RunningConnector
from tests.e2e.conftest import Federation

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags for a closed network: no background calls to Google that would be refused or stall.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def connector(shared_federation: Federation) -> tuple[RunningConnector, str]:
    """unibo's connector of the session's federation, and a researcher's token there."""
    fed = shared_federation
    token = fed.user("unibo", "researcher", "browser-user")
    return next(c for c in fed.conns if c.settings.partner == "unibo"), token


def test_swagger_ui_authorizes_and_calls_an_endpoint(
    connector: tuple[RunningConnector, str],
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("no Chromium here (Debian package 'chromium'; make test installs it)")
    conn, token = connector
    requested: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda req: requested.append(req.url))
            page.goto(f"{conn.url}/docs")
            page.get_by_text("Gemello connector").first.wait_for(timeout=20_000)

            page.locator("button.authorize").first.click()
            page.locator(".modal-ux input").first.fill(token)
            page.locator(".modal-ux button.authorize").click()
            page.locator(".modal-ux button.btn-done").click()

            op = page.locator("#operations-identity-whoami_identity_whoami_get")
            op.locator(".opblock-summary").click()
            op.locator("button.try-out__btn").click()
            op.locator("button.execute").click()
            body = op.locator(".live-responses-table .response-col_description pre").first
            body.wait_for(timeout=20_000)
            text = body.inner_text()
        finally:
            browser.close()
    assert '"role": "researcher"' in text
    assert '"name": "unibo-browser-user"' in text
    # everything the page loaded came from the connector itself: no CDN
    assert requested
    assert all(url.startswith(conn.url) for url in requested), requested
