"""The console's three journeys in a real browser (Debian's Chromium via Playwright) against the
session's four-connector federation, each ending on a saved screenshot; every page passes
axe-core with no serious or critical violation, breaks no Content-Security-Policy rule, and
loads nothing from elsewhere.

- A planner at unibo runs the 30 km/h city, watches its progress, reads the map and the
  areas, compares it with a baseline run, and shares it with a named colleague, who signs in
  and sees it.
- A researcher at unibo gets an agreement on fbk's trips, previews the error of a DP mean of
  distance by mode, asks, sees the budget go down, and is refused (with the reason) beyond it.
- A flood run with rain x1.5 shows its hydrographs and the areas above the alarm level.

And, over HTTP: sharing with another organisation is decided by every input holder's policy
(refused for personal data, naming the dataset and the rule), and the recipient organisation
sees an allowed share in its own console.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Federation
from tests.e2e.test_console_browser import AXE, axe_violations
from tests.e2e.test_docs_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e
RUN_S = 240_000  # ms a federated run may take in the browser tests


class Console:
    """One browser on one connector's console, checking every page it is asked to."""

    def __init__(self, page: Any, url: str, tmp_path: Path) -> None:
        self.page, self.url, self.tmp = page, url, tmp_path
        self.problems: dict[str, list[dict[str, Any]]] = {}
        self.shots: list[Path] = []

    def sign_in(self, token: str) -> None:
        self.page.context.clear_cookies()
        self.page.goto(f"{self.url}/console/sign-in")
        self.page.get_by_label("Token API").fill(token)
        self.page.get_by_role("button", name="Accedi").click()
        self.page.get_by_role("heading", name="Cerca nel catalogo federato").wait_for()

    def check(self, name: str) -> None:
        self.problems[name] = axe_violations(self.page)
        shot = self.tmp / f"console-{name}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        self.shots.append(shot)


@contextmanager
def console(fed: Federation, partner: str, tmp_path: Path) -> Iterator[Console]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("no Chromium here (Debian package 'chromium'; make test installs it)")
    if not AXE.exists():
        pytest.skip("axe-core is not installed (`make test` installs it with npm)")
    url = fed.url(partner)
    requested: list[str] = []
    csp_errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.on("request", lambda r: requested.append(r.url))

            def on_console(m: Any) -> None:
                if "Content Security Policy" in m.text:
                    csp_errors.append(m.text)

            page.on("console", on_console)
            c = Console(page, url, tmp_path)
            yield c
        finally:
            browser.close()
    print("screenshots:", *c.shots, sep="\n  ")
    assert all(not v for v in c.problems.values()), json.dumps(c.problems, indent=1)
    assert not csp_errors, csp_errors
    elsewhere = [u for u in requested if not u.startswith(url)]
    assert not elsewhere, elsewhere


def _refresh(fed: Federation, partner: str, token: str) -> None:
    r = fed.call("POST", partner, "/federation/catalog/refresh", token)
    assert r.status_code == 200, r.text


def _wait_for_result(c: Console) -> None:
    c.page.get_by_role("heading", name="Da sapere prima di usare questi numeri").wait_for(
        timeout=RUN_S
    )
    deadline = time.monotonic() + 60  # the charts are drawn on the server: wait for them
    while not c.page.evaluate("() => Array.from(document.images).every(i => i.complete)"):
        assert time.monotonic() < deadline, "the result's charts did not load"
        time.sleep(0.1)


def test_a_planner_runs_the_30_kmh_city_compares_it_and_shares_it(
    shared_federation: Federation, tmp_path: Path
) -> None:
    fed = shared_federation
    token = fed.user("unibo", "researcher", "anna-planner")
    colleague = fed.user("unibo", "researcher", "marco-colleague")
    _refresh(fed, "unibo", token)
    with console(fed, "unibo", tmp_path) as c:
        page = c.page
        c.sign_in(token)
        page.get_by_label("Parole").fill("traffico")
        page.get_by_role("button", name="Cerca").click()
        page.get_by_role("link", name="Grafo stradale (archi stradali)").first.click()
        page.get_by_role("heading", name="Condizioni d'uso").wait_for()

        page.get_by_role("link", name="Scenari").click()
        page.get_by_role("heading", name="Traffico stradale (modello a celle)").wait_for()
        check_models = page.locator("main").inner_text()
        assert "Deflusso urbano e allagamenti" in check_models
        c.check("models")

        def run(street: str, minor: str, name: str) -> str:
            page.goto(f"{c.url}/console/models/mobility-ctm/run")
            page.locator("#f-speed_limits-street").fill(street)
            page.locator("#f-speed_limits-minor").fill(minor)
            page.get_by_label("Ore simulate dalla mezzanotte").fill("12")
            if name:
                c.check(name)
            page.get_by_role("button", name="Avvia la simulazione federata").click()
            page.wait_for_url(re.compile(r".*/console/runs/job-.*"))
            return str(page.url).rsplit("/", 1)[-1]

        # a wrong value is refused at its field, and nothing runs
        page.goto(f"{c.url}/console/models/mobility-ctm/run")
        page.locator("#f-speed_limits-street").fill("300")
        page.get_by_role("button", name="Avvia la simulazione federata").click()
        page.get_by_role("heading", name="Lo scenario non è valido").wait_for()
        assert "5 to 130 km/h" in page.locator("fieldset.has-error").inner_text()
        c.check("scenario-error")

        baseline = run("", "", "")
        _wait_for_result(c)
        job = run("30", "30", "scenario-form")
        progress = page.locator("#progress-percent")
        if progress.count():  # the run may already be over: then the result is shown
            assert re.fullmatch(r"\d+(\.\d)? %", progress.inner_text())
            assert "tempo trascorso" in page.locator("#progress").inner_text()
            c.check("run-progress")
        _wait_for_result(c)
        main = page.locator("main").inner_text()
        assert "Limiti di velocità per classe di strada: street 30, minor 30 km/h" in main
        assert "velocità media della rete" in main
        assert page.locator(".choro path").count() == 90
        assert page.locator("#areas tbody tr").count() == 90  # every area, not a top 10
        assert "Navile" in page.locator("section", has_text="Totali per quartiere").inner_text()
        page.locator(".choro path").nth(10).hover()
        assert "km/h" in page.locator("#readout").inner_text()
        # sortable: by the change in mean speed, lowest first
        page.locator("#areas thead button", has_text="velocità media, variazione").click()
        first = page.locator("#areas tbody tr").first.locator("td").nth(3)
        assert float(first.get_attribute("data-value") or "nan") <= 0
        assert page.locator("img[src*='/charts/speed-by-hour.svg']").evaluate(
            "img => img.complete && img.naturalWidth > 0"
        )
        csv = page.request.get(f"{c.url}/console/runs/{job}/download/areas.csv")
        assert csv.status == 200
        assert csv.text().count("\n") == 91
        c.check("result")

        # compare with the baseline: the difference map, figures and overlaid charts
        page.get_by_role("link", name="Confronta con un'altra simulazione").click()
        page.locator(f"input[name=run][value='{baseline}']").check()
        page.get_by_role("button", name="Confronta", exact=True).click()
        page.get_by_role("heading", name=re.compile("Mappa della differenza")).wait_for()
        assert page.locator(".choro path").count() == 90
        assert page.locator("img[src*='/compare/charts/speed-by-hour.svg']").count() == 1
        c.check("compare")

        # share it with a named colleague, who signs in and finds it
        page.goto(f"{c.url}/console/runs/{job}")
        page.get_by_label("Persona (nome utente)").fill("unibo-marco-colleague")
        page.get_by_label("Nota").fill("guarda Navile")
        page.get_by_role("button", name="Condividi", exact=True).click()
        page.wait_for_url(re.compile(r".*shared=1.*"))
        assert "marco-colleague" in page.locator("section", has_text="Condividi").inner_text()
        c.sign_in(colleague)
        page.get_by_role("link", name="Il mio lavoro").click()
        shared = page.locator("section", has_text="Condivise con me")
        assert "guarda Navile" in shared.inner_text()
        shared.get_by_role("link", name="Traffico stradale (modello a celle)").click()
        page.get_by_text("Condivisa da").wait_for()
        assert page.locator(".choro path").count() == 90
        assert "anna-planner" in page.locator("main").inner_text()
        c.check("shared-with-colleague")
        assert page.request.get(f"{c.url}/console/runs/{job}").status == 404  # not theirs


def test_a_researcher_asks_a_private_question_and_the_budget_runs_out(
    shared_federation: Federation, tmp_path: Path
) -> None:
    fed = shared_federation
    token = fed.user("unibo", "researcher", "rita-researcher")
    _refresh(fed, "unibo", token)
    with console(fed, "unibo", tmp_path) as c:
        page = c.page
        c.sign_in(token)
        page.goto(f"{c.url}/console/datasets/fbk/trips")
        page.get_by_label("Finalità dichiarata").select_option("research")
        page.get_by_role("button", name="Chiedi l'accesso").click()
        page.get_by_text("Accordo concluso e firmato.").wait_for()
        page.goto(f"{c.url}/console/datasets/fbk/trips")
        page.get_by_role("link", name="Fai una domanda privata").click()

        page.get_by_label("Aggregato").select_option("mean")
        page.get_by_label("Colonna").select_option("distance_km")
        page.locator("input[name=group_by][value=mode]").check()
        page.get_by_label("ε", exact=True).fill("0.5")
        page.get_by_text("Un gruppo di 1,000 righe: errore standard ±1.7 distance_km").wait_for()
        page.get_by_label("ε", exact=True).fill("1")  # the preview follows, spending nothing
        page.get_by_text("Un gruppo di 1,000 righe: errore standard ±0.849 distance_km").wait_for()
        c.check("ask")

        page.get_by_role("button", name="Chiedi (spende ε)").click()
        page.get_by_role("heading", name=re.compile("Risposta: media distance_km")).wait_for()
        rows = page.locator("table.grid tbody tr")
        assert rows.count() == 6  # one per declared mode
        assert "±" in rows.first.inner_text()
        budget = page.locator("p.ok").inner_text()
        assert "ε 4 su 5" in budget, budget
        c.check("answer")

        for _ in range(4):  # spend the rest of the budget
            page.go_back()
            page.get_by_role("button", name="Chiedi (spende ε)").click()
            page.get_by_role("heading", name=re.compile("Risposta")).wait_for()
        assert "ε 0 su 5" in page.locator("p.ok").inner_text()
        page.go_back()
        page.get_by_role("button", name="Chiedi (spende ε)").click()
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert "Domanda rifiutata" in alert.inner_text()
        assert "budget" in alert.inner_text().lower()
        c.check("answer-refused")

        page.get_by_role("link", name="Il mio lavoro").click()
        queries = page.locator("section", has_text="Le mie domande private").inner_text()
        assert queries.count("trips") == 6
        assert "rifiutata" in queries


def test_a_flood_run_shows_hydrographs_and_the_areas_above_the_alarm(
    shared_federation: Federation, tmp_path: Path
) -> None:
    fed = shared_federation
    token = fed.user("unibo", "researcher", "fabio-flood")
    with console(fed, "unibo", tmp_path) as c:
        page = c.page
        c.sign_in(token)
        page.goto(f"{c.url}/console/models/flood-scs-nash/run")
        page.get_by_label("Moltiplicatore della pioggia").fill("1.5")
        page.get_by_role("button", name="Avvia la simulazione federata").click()
        _wait_for_result(c)
        main = page.locator("main").inner_text()
        assert "Moltiplicatore della pioggia: 1.5" in main
        assert "aree sopra la soglia d'allarme" in main
        assert "rainfall-daily" in page.locator("aside.caveats").inner_text()
        heads = page.locator("section", has_text="Grafici").locator("img")
        names = [heads.nth(i).get_attribute("alt") for i in range(heads.count())]
        assert "Idrogramma: Reno" in names
        assert "Pioggia (scenario di base)" in names
        for i in range(heads.count()):
            assert heads.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
        page.get_by_role("link", name=re.compile("ore sopra la soglia.*scenario")).click()
        assert page.locator(".choro path").count() == 90
        c.check("flood-result")
        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", name="Read before using these figures").wait_for()
        c.check("flood-result-en")


def test_sharing_with_another_organisation_follows_every_input_holders_policy(
    shared_federation: Federation,
) -> None:
    fed = shared_federation
    token = fed.user("unibo", "researcher", "sara-sharer")

    def finished(model: str, params: dict[str, Any]) -> str:
        r = fed.call("POST", "unibo", "/jobs", token,
                     json={"model": model, "params": params, "purpose": "research"})  # fmt: skip
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        done = fed.call("GET", "unibo", f"/jobs/{job}?wait=30", token).json()
        assert done["state"] in ("succeeded", "partial"), done
        return str(job)

    # the gravity model reads fbk's trips, personal data: fbk's policy refuses the share
    gravity = finished("mobility-gravity", {})
    refused = fed.call("POST", "unibo", f"/jobs/{gravity}/shares", token,
                       json={"organisation": "comune", "note": "for the city"})  # fmt: skip
    assert refused.status_code == 403, refused.text
    detail = refused.json()["detail"]
    assert "fbk's 'trips'" in detail
    assert "prohibition" in detail
    assert "share" in detail
    # inside unibo it is always allowed
    inside = fed.call("POST", "unibo", f"/jobs/{gravity}/shares", token,
                      json={"organisation": "unibo", "user": "marco-colleague"})  # fmt: skip
    assert inside.status_code == 201, inside.text

    # the flood model reads rain and sub-catchments (about no one): both holders allow it
    flood = finished("flood-scs-nash", {"end": "2023-05-05"})
    note = {"organisation": "comune", "note": "per la protezione civile"}
    allowed = fed.call("POST", "unibo", f"/jobs/{flood}/shares", token, json=note)
    assert allowed.status_code == 201, allowed.text
    decisions = allowed.json()["decisions"]
    assert {d["partner"] for d in decisions} == {"cineca", "unibo"}
    assert all(d["allow"] and d["decision_id"] for d in decisions)

    # comune's users find it in their console, with the same released figures
    giulia = fed.user("comune", "researcher", "giulia-comune")
    with httpx.Client(base_url=fed.url("comune"), timeout=30) as browser:
        form = browser.get("/console/sign-in")
        nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert nonce is not None
        browser.post("/console/sign-in", data={"token": giulia, "csrf": nonce.group(1)})
        work = browser.get("/console/work")
        assert "per la protezione civile" in work.text
        link = re.search(r'href="(/console/shared/share-[^"]+)"', work.text)
        assert link is not None
        page = browser.get(link.group(1))
        assert page.status_code == 200
        assert "sara-sharer" in page.text
        peak = fed.call("GET", "unibo", f"/jobs/{flood}", token).json()["summary"]
        reno = peak["peak_m3s_base_scen"]["Reno"][1]
        assert f"{reno:,.1f}" in page.text
    # both sides' audit logs have it
    for partner, action in (("unibo", "share.run"), ("comune", "share.received")):
        auditor = fed.user(partner, "auditor", f"{partner}-auditor")
        log = fed.call("GET", partner, "/audit/entries", auditor,
                       params={"action": action, "limit": 100})  # fmt: skip
        assert log.status_code == 200, log.text
        assert any(e.get("correlation") in (flood, gravity) for e in log.json()), log.json()
