"""The planner's journey in the console, in a real browser (Debian's Chromium via Playwright)
against the session's four-connector federation: a planner at unibo finds the road graph, runs
the 30 km/h city, watches its progress, reads the map and every area, compares it with a
baseline run, and shares it with a named colleague, who signs in and sees it. Every page passes
axe-core, breaks no Content-Security-Policy rule and loads nothing from elsewhere; each is saved
as a screenshot. (The researcher's and the flood journeys: test_console_journeys.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import Federation
from tests.e2e.test_console_journeys import _refresh, _wait_for_result, console

pytestmark = pytest.mark.e2e


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

        def run(street: str, minor: str) -> str:
            page.goto(f"{c.url}/console/models/mobility-ctm/run")
            page.locator("#f-speed_limits-street").fill(street)
            page.locator("#f-speed_limits-minor").fill(minor)
            page.get_by_label("Ore simulate dalla mezzanotte").fill("6")
            page.get_by_role("button", name="Avvia la simulazione federata").click()
            page.wait_for_url(re.compile(r".*/console/runs/job-.*"))
            return str(page.url).rsplit("/", 1)[-1]

        # a wrong value is refused at its field, and nothing runs; what was chosen stays
        page.goto(f"{c.url}/console/models/mobility-ctm/run")
        junction = page.get_by_label("Modello degli incroci")
        assert junction.input_value() == ""  # the default, named as such
        assert "Predefinito: per quote di svolta" in junction.inner_text()
        junction.select_option(label="per svolta, con risalita delle code")
        page.locator("#f-speed_limits-street").fill("300")
        page.get_by_role("button", name="Avvia la simulazione federata").click()
        page.get_by_role("heading", name="Lo scenario non è valido").wait_for()
        assert "5 to 130 km/h" in page.locator("fieldset.has-error").inner_text()
        assert page.get_by_label("Modello degli incroci").input_value() == "turns"
        c.check("scenario-error")

        baseline = run("", "")
        _wait_for_result(c)
        job = run("30", "30")
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
        # the planner's question: how long from Navile to the centre at the peak, both runs
        districts = page.locator("section", has_text="Totali per quartiere")
        assert "tempo di viaggio verso il centro" in districts.inner_text()
        assert page.locator("img[src*='/charts/minutes-to-centre.svg']").evaluate(
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
        page.get_by_label("Nota", exact=True).fill("guarda Navile")
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
