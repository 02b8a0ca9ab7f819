"""The web console in a real browser (Debian's Chromium via Playwright) against the session's
four-connector federation: a planner at unibo signs in, searches the federated catalogue,
opens a dataset, asks the comune for access and follows the negotiation until it is agreed,
sees the agreement on the dataset page, switches to English and signs out. Every page passes
axe-core (no serious or critical violation), breaks no Content-Security-Policy rule, loads
nothing from elsewhere, and is saved as a screenshot (in the test's temp dir, path printed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.settings import source_root
from tests.e2e.conftest import Federation
from tests.e2e.test_docs_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

AXE = source_root() / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # devtools evaluation: the page's CSP stays as served
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_planner_signs_in_searches_opens_a_dataset_and_signs_out(
    shared_federation: Federation, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("no Chromium here (Debian package 'chromium'; make test installs it)")
    if not AXE.exists():
        pytest.skip("axe-core is not installed (`make test` installs it with npm)")
    fed = shared_federation
    unibo = next(c for c in fed.conns if c.settings.partner == "unibo")
    unibo_name = unibo.settings.legal_name or "unibo"
    token = fed.user("unibo", "researcher", "console-planner")
    refreshed = fed.client.post(
        f"{unibo.url}/federation/catalog/refresh", headers={"Authorization": f"Bearer {token}"}
    )
    assert refreshed.status_code == 200, refreshed.text

    shots: list[Path] = []
    problems: dict[str, list[dict[str, Any]]] = {}
    requested: list[str] = []
    csp_errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requested.append(r.url))
            page.on(
                "console",
                lambda m: (
                    csp_errors.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )

            def check(name: str) -> None:
                problems[name] = axe_violations(page)
                shot = tmp_path / f"console-{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                shots.append(shot)

            page.goto(f"{unibo.url}/console/")
            page.get_by_label("Token API").wait_for(timeout=20_000)  # Italian by default
            assert page.url.startswith(f"{unibo.url}/console/sign-in")
            check("sign-in")

            page.get_by_label("Token API").fill("gmo_not-a-token")  # a refusal, shown
            page.get_by_role("button", name="Accedi").click()
            page.get_by_role("alert").wait_for()
            assert "not known to this connector" in page.get_by_role("alert").inner_text()
            check("sign-in-refused")

            page.get_by_label("Token API").fill(token)
            page.get_by_role("button", name="Accedi").click()
            page.get_by_role("heading", name="Cerca nel catalogo federato").wait_for()
            assert "console-planner" in page.locator("header").inner_text()

            page.get_by_label("Parole").fill("traffico")
            page.get_by_role("button", name="Cerca").click()
            results = page.locator("table.grid").first
            results.wait_for()
            text = results.inner_text()
            assert "comune" in text
            check("discover")

            # the map of the 90 areas picks an area for the search, keeping the words
            assert page.locator("figure.map path.area").count() == 90
            page.locator("figure.map a[aria-label$='(Navile)']").first.click()
            page.locator("figure.map path.area.selected").first.wait_for()
            assert page.get_by_label("Parole").input_value() == "traffico"
            picked = page.get_by_label("Area statistica o quartiere").input_value()
            assert picked
            found = page.locator("table.grid").first.inner_text()
            assert "ring-road-counts" in found  # city-wide coverage overlaps every area
            check("discover-area")
            page.go_back()
            page.get_by_label("Parole").wait_for()

            page.get_by_role("link", name="Grafo stradale (archi stradali)").first.click()
            page.get_by_role("heading", name="Condizioni d'uso").wait_for()
            assert page.title() == "Grafo stradale (archi stradali) · " + unibo_name
            assert "road-graph" in page.locator("main").inner_text()
            check("dataset")

            # request access: a DSP negotiation with the comune, followed as it moves
            page.get_by_label("Finalità dichiarata").select_option("research")
            page.get_by_role("button", name="Chiedi l'accesso").click()
            page.get_by_role("heading", name="Richiesta di accesso").wait_for()
            page.get_by_text("Accordo concluso e firmato.").wait_for(timeout=30_000)
            agreement = page.locator("dd.id").last.inner_text()
            assert agreement
            check("negotiation")
            page.get_by_role("link", name="road-graph").click()
            page.get_by_role("heading", name="Accordi della mia organizzazione").wait_for()
            assert agreement in page.locator("main").inner_text()

            page.get_by_role("link", name="Il mio lavoro").click()
            page.get_by_role("heading", name="Le mie richieste di accesso").wait_for()
            work = page.locator("main").inner_text()
            assert "road-graph" in work
            assert agreement in work
            check("work")
            page.go_back()

            page.get_by_role("link", name="English").click()
            page.get_by_role("heading", name="Usage policy").wait_for()
            check("dataset-en")

            missing = page.goto(f"{unibo.url}/console/datasets/fbk/no-such-dataset")
            assert missing is not None
            assert missing.status == 404
            page.get_by_role("heading", name="Not found").wait_for()
            check("not-found")

            page.get_by_role("button", name="Sign out").click()
            page.get_by_text("You have signed out.").wait_for()
            page.goto(f"{unibo.url}/console/discover")
            page.get_by_label("API token").wait_for()  # signed out means signed out
        finally:
            browser.close()
    print("screenshots:", *shots, sep="\n  ")
    # what the planner did in the console is theirs in unibo's audit log, as over the API
    me = fed.client.get(
        f"{unibo.url}/identity/whoami", headers={"Authorization": f"Bearer {token}"}
    )
    auditor = fed.user("unibo", "auditor", "console-auditor")
    logged = fed.client.get(
        f"{unibo.url}/audit/entries",
        params={"dataset": "road-graph", "actor": me.json()["subject"], "limit": 1000},
        headers={"Authorization": f"Bearer {auditor}"},
    )
    assert logged.status_code == 200, logged.text
    assert logged.json(), "the console's access request is not the planner's in the audit log"
    assert all(not v for v in problems.values()), json.dumps(problems, indent=1)
    assert not csp_errors, csp_errors
    assert requested, requested
    assert all(u.startswith(unibo.url) for u in requested), requested
