"""The public transparency portal in a real browser (Debian's Chromium) against the session's
four-connector federation, as an anonymous citizen: the algorithm register, then the
`mobility-ctm` record, whose code hash is the one `gemello models` prints; and, on fbk's
portal, the epsilon unibo spent on its trips. In Italian and in English, each page passing
axe-core, the strict Content-Security-Policy, and loading nothing
from elsewhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Federation
from tests.e2e.test_console_journeys import console
from tests.e2e.test_hardening import negotiate

pytestmark = pytest.mark.e2e


def test_a_citizen_reads_the_algorithm_register(
    shared_federation: Federation, tmp_path: Path
) -> None:
    fed = shared_federation
    listed = subprocess.run([sys.executable, "-m", "connector.cli", "models", "--json"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    hashes = {m["name"]: m["hash"] for m in json.loads(listed.stdout)}
    with console(fed, "comune", tmp_path) as c:
        page = c.page
        page.goto(f"{c.url}/public")
        page.get_by_role("heading", name="Trasparenza del gemello digitale").wait_for()
        c.check("portal-home")
        page.get_by_role("link", name="Registro degli algoritmi").first.click()
        table = page.locator("table").inner_text()
        for name, code in hashes.items():
            assert name in table
            assert code in table
        c.check("portal-algorithms")
        page.get_by_role("link", name="Traffico stradale (modello a celle)").click()
        page.get_by_role("heading", name="Traffico stradale (modello a celle)").wait_for()
        shown = page.locator("dl.fields dd.id").inner_text()
        assert shown == hashes["mobility-ctm"]
        left = page.locator("section", has_text="Campi che una persona deve ancora scrivere")
        assert "senior_responsible_owner" in left.inner_text()
        c.check("portal-record")
        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", name="Fields a person must still write").wait_for()
        c.check("portal-record-en")


def test_a_citizen_sees_the_epsilon_unibo_spent_on_fbks_trips(
    shared_federation: Federation, tmp_path: Path
) -> None:
    fed = shared_federation
    researcher = fed.user("unibo", "researcher", "portal-researcher")
    agreement = negotiate(fed, researcher, "fbk", "trips", "research")
    assert agreement["state"] == "FINALIZED", agreement
    query = {"dataset": "trips", "aggregate": "count", "epsilon": 0.01}
    asked = fed.call("POST", "unibo", "/privacy/queries", researcher,
                     json={"agreement_id": agreement["agreement_id"], "query": query})  # fmt: skip
    assert asked.status_code == 200, asked.text
    with console(fed, "fbk", tmp_path) as c:
        page = c.page
        page.goto(f"{c.url}/public/data-use")
        trips = page.locator("section", has=page.get_by_role("heading", name="trips", exact=True))
        row = trips.locator("tr", has_text="unibo").filter(has_text="ricerca")
        cells = [row.locator("td").nth(i).inner_text() for i in range(row.locator("td").count())]
        assert cells[0] == "unibo", cells
        assert float(cells[4].replace(".", "").replace(",", ".")) > 0, cells  # ε spent
        assert "portal-researcher" not in page.content()
        c.check("portal-data-use")
