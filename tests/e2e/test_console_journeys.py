"""Two of the console's journeys in a real browser (Debian's Chromium via Playwright) against
the session's four-connector federation, each ending on a saved screenshot; every page passes
axe-core with no serious or critical violation, breaks no Content-Security-Policy rule, and
loads nothing from elsewhere. (The planner's journey is in test_console_planner.py, a module
of its own so that the suite's two workers share the journeys.)

- A researcher at unibo gets an agreement on fbk's trips, previews the error of a DP mean of
  distance by mode, asks, sees the budget go down, and is refused (with the reason) when a
  question asks for more than the holder lets one question spend. (Exhausting the whole
  budget is the ledger's tests' job: here it would starve the other tests on the shared
  federation.)
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

from connector.web.i18n import number
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
def console(
    fed: Federation,
    partner: str,
    tmp_path: Path,
    url: str | None = None,
    also: tuple[str, ...] = (),
) -> Iterator[Console]:
    """A browser on `partner`'s connector (or `url`) that checks every page it is asked to;
    `also`: other members' URLs the pages may load from (a journey across portals)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("no Chromium here (Debian package 'chromium'; make test installs it)")
    if not AXE.exists():
        pytest.skip("axe-core is not installed (`make test` installs it with npm)")
    url = url or fed.url(partner)
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
    elsewhere = [u for u in requested if not u.startswith((url, *also))]
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
        page.get_by_text("Un gruppo di 1.000 righe: errore standard ±1,70 distance_km").wait_for()
        page.get_by_label("ε", exact=True).fill("1")  # the preview follows, spending nothing
        page.get_by_text("Un gruppo di 1.000 righe: errore standard ±0,849 distance_km").wait_for()
        c.check("ask")

        def remaining() -> float:
            text = page.locator("p.ok").inner_text()  # "Budget rimasto: ε 4 su 5 …"
            found = re.search(r"ε ([0-9.]+) su", text)
            assert found, text
            return float(found.group(1))

        # The organisation's budget on trips is shared with other tests' queries (so this
        # journey spends little of it): each answer takes its epsilon from what was left.
        page.get_by_label("ε", exact=True).fill("0.5")
        page.get_by_role("button", name="Chiedi (spende ε)").click()
        page.get_by_role("heading", name=re.compile("Risposta: media distance_km")).wait_for()
        rows = page.locator("table.grid tbody tr")
        assert rows.count() == 6  # one per declared mode
        assert "±" in rows.first.inner_text()
        left = remaining()
        c.check("answer")
        page.go_back()
        page.get_by_role("button", name="Chiedi (spende ε)").click()
        page.get_by_role("heading", name=re.compile("Risposta")).wait_for()
        assert remaining() == pytest.approx(left - 0.5, abs=1e-3)  # the budget goes down
        # beyond what the holder lets one question spend: refused, with the reason shown
        page.go_back()
        page.get_by_label("ε", exact=True).fill("9")
        page.get_by_role("button", name="Chiedi (spende ε)").click()
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert "Domanda rifiutata" in alert.inner_text()
        assert "epsilon 9 is above the 1 one query may spend on 'trips'" in alert.inner_text()
        c.check("answer-refused")

        page.get_by_role("link", name="Il mio lavoro").click()
        queries = page.locator("section", has_text="Le mie domande private").inner_text()
        assert queries.count("trips") == 3
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
        page.wait_for_url(re.compile(r"figure=alarm-hours&show=scenario"))
        page.wait_for_load_state("load")
        assert page.locator(".choro path").count() == 90
        c.check("flood-result")
        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", name="Read before using these figures").wait_for()
        c.check("flood-result-en")
        # A sweep (decision 0033) from the form: a parameter, its first and last value and a
        # step; half of it is refused at its field, then its page shows every scenario, one
        # a row, in both languages.
        page.goto(f"{c.url}/console/models/flood-scs-nash/run?lang=it")
        page.get_by_label("Ultimo giorno").fill("2023-05-12")
        page.get_by_label("Parametro da variare").select_option(
            label="Moltiplicatore della pioggia"
        )
        page.get_by_label("Primo valore").fill("1")
        page.get_by_role("button", name="Avvia la simulazione federata").click()
        refused = page.locator("fieldset", has_text="Serie di scenari").locator(".field-error")
        assert "servono primo valore, ultimo valore e passo" in refused.inner_text()
        page.get_by_label("Ultimo valore").fill("1,5")
        page.get_by_label("Passo della serie").fill("0.25")
        c.check("scenario-sweep")
        page.get_by_role("button", name="Avvia la simulazione federata").click()
        _wait_for_result(c)
        table = page.locator("section", has_text="Serie di scenari").locator("table")
        assert table.locator("tbody tr").count() == 3
        assert "rain_multiplier" in table.locator("thead").inner_text()
        assert "1,25" in table.inner_text()  # Italian decimals
        c.check("sweep-result")
        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", name="Sweep: every scenario of the job").wait_for()
        assert "1.25" in page.locator("section", has_text="Sweep:").inner_text()
        c.check("sweep-result-en")

        # a run that fails says why on its page, and offers to run again with other values
        page.goto(f"{c.url}/console/models/mobility-ctm/run?lang=it")
        page.get_by_label("Ore simulate dalla mezzanotte").fill("1")
        page.locator("#f-closures-0-street").fill("VIA CHE NON C'E")
        page.get_by_role("button", name="Avvia la simulazione federata").click()
        failed = page.get_by_role("heading", name="La simulazione non è riuscita")
        failed.wait_for(timeout=RUN_S)
        assert "VIA CHE NON C'E" in page.get_by_role("alert").inner_text()
        rerun = page.get_by_role("link", name="Rilancia con altri parametri")
        assert "from=job-" in (rerun.get_attribute("href") or "")
        c.check("run-failed")


def test_sharing_with_another_organisation_follows_every_input_holders_policy(
    shared_federation: Federation,
) -> None:
    fed = shared_federation
    token = fed.user("unibo", "researcher", "sara-sharer")

    def finished(model: str, params: dict[str, Any]) -> str:
        body = {"model": model, "params": params, "purpose": "research", "epsilon": 0.05}
        r = fed.call("POST", "unibo", "/jobs", token, json=body)  # small: budgets are shared
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
    # publishing it for anyone is refused too, for the same reason, and nothing is published
    published = fed.call("POST", "unibo", f"/jobs/{gravity}/publications", token,
                         json={"title": "Flows by gravity", "note": "for everyone"})  # fmt: skip
    assert published.status_code == 403, published.text
    detail = published.json()["detail"]
    assert "fbk's 'trips'" in detail
    assert "prohibition" in detail
    assert "publish" in detail
    listed = httpx.get(f"{fed.url('unibo')}/public/results", timeout=30).text
    assert "Flows by gravity" not in listed
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
        assert number(reno, 1, "it") in page.text  # in Italian: 85,5
    # the run's progress, as the console's page follows it (server-sent events): a finished
    # run sends its last state, at 100 %, then `done`
    with httpx.Client(base_url=fed.url("unibo"), timeout=30) as browser:
        form = browser.get("/console/sign-in")
        nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert nonce is not None
        browser.post("/console/sign-in", data={"token": token, "csrf": nonce.group(1)})
        events = browser.get(f"/console/runs/{flood}/events")
        assert events.headers["content-type"].startswith("text/event-stream")
        first = json.loads(events.text.split("\n", 1)[0].removeprefix("data: "))
        assert first["percent"] == 100
        assert [s["name"] for s in first["stages"]] == ["rain", "catchments"]
        assert events.text.rstrip().endswith("event: done\ndata: {}")
    # both sides' audit logs have it
    for partner, action in (("unibo", "share.run"), ("comune", "share.received")):
        auditor = fed.user(partner, "auditor", f"{partner}-auditor")
        log = fed.call("GET", partner, "/audit/entries", auditor,
                       params={"action": action, "limit": 100})  # fmt: skip
        assert log.status_code == 200, log.text
        assert any(e.get("correlation") in (flood, gravity) for e in log.json()), log.json()
