"""The auditor's console pages in a real browser (Debian's Chromium) against the session's
four-connector federation: an auditor at fbk finds everything unibo did with `trips` and why,
follows a federated job across the members it touched, and verifies the log now: intact and
witnessed; after an entry is altered directly in the database, "Verify now" names it.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import Federation
from tests.e2e.test_console_journeys import console
from tests.e2e.test_hardening import negotiate

pytestmark = pytest.mark.e2e


def test_an_auditor_finds_what_unibo_did_follows_a_job_and_verifies_the_log(
    shared_federation: Federation, tmp_path: Path
) -> None:
    fed = shared_federation
    researcher = fed.user("unibo", "researcher", "audited-researcher")
    agreement = negotiate(fed, researcher, "fbk", "trips", "research")
    assert agreement["state"] == "FINALIZED", agreement
    query = {"dataset": "trips", "aggregate": "count", "group_by": ["mode"], "epsilon": 0.01}
    asked = fed.call("POST", "unibo", "/privacy/queries", researcher,
                     json={"agreement_id": agreement["agreement_id"], "query": query})  # fmt: skip
    assert asked.status_code == 200, asked.text
    # a small epsilon: the shared federation's budgets serve every test's runs
    made = fed.call("POST", "unibo", "/jobs", researcher, json={
        "model": "mobility-gravity", "purpose": "research", "epsilon": 0.05})  # fmt: skip
    assert made.status_code == 202, made.text
    job = fed.call("GET", "unibo", f"/jobs/{made.json()['id']}?wait=30", researcher).json()
    assert job["state"] == "succeeded", job

    auditor = fed.user("fbk", "auditor", "fbk-auditor")
    with console(fed, "fbk", tmp_path) as c:
        page = c.page
        c.sign_in(auditor)
        page.get_by_role("link", name="Registro di audit").click()
        page.get_by_label("Organizzazione").fill("unibo")
        page.get_by_label("Dataset").fill("trips")
        page.get_by_role("button", name="Filtra").click()
        rows = page.locator("#entries tbody tr")
        rows.first.wait_for()
        text = page.locator("#entries").inner_text()
        assert "policy.aggregate" in text  # the decision, allowed, and why (the purpose)
        assert "privacy.charge" in text
        assert "research" in text
        assert "compute.run" in text or "policy.compute" in text  # the gravity job's stage
        assert all("unibo" in rows.nth(i).inner_text() for i in range(min(rows.count(), 20)))
        c.check("audit-log")

        page.get_by_role("link", name="Verifica ora").click()
        page.get_by_role("heading", name="✓ Registro integro").wait_for()
        witnesses = page.locator("section", has_text="Testimoni").inner_text()
        assert re.search(r"(comune|cineca|unibo)\s+ok\s+[1-9]", witnesses), witnesses
        c.check("audit-verify")

        # an entry altered directly in the database: verify names it, then it is put back
        db = Path(fed.settings("fbk").db_url.removeprefix("sqlite:///"))
        with sqlite3.connect(db) as raw:
            seq, reason = raw.execute(
                "SELECT seq, reason FROM audit_entry WHERE dataset = 'trips' ORDER BY seq LIMIT 1"
            ).fetchone()
            raw.execute("UPDATE audit_entry SET reason = ? WHERE seq = ?", ("edited", seq))
        try:
            page.reload()
            page.get_by_role("heading", name="✗ Il registro non si verifica").wait_for()
            alert = page.get_by_role("alert").inner_text()
            assert f"Prima voce alterata: {seq}" in alert
            assert f"entry {seq} was changed" in alert
            c.check("audit-verify-broken")
        finally:
            with sqlite3.connect(db) as raw:
                raw.execute("UPDATE audit_entry SET reason = ? WHERE seq = ?", (reason, seq))
        page.reload()
        page.get_by_role("heading", name="✓ Registro integro").wait_for()

        # The audit report: charts, tables, and each table as CSV.
        page.get_by_role("link", name="Registro di audit").first.click()
        page.get_by_role("link", name="Rapporto di audit").click()
        page.get_by_role("heading", name=re.compile("^Decisioni per dataset")).wait_for()
        page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
        for i in range(page.locator("main img").count()):
            assert page.locator("main img").nth(i).evaluate("i => i.naturalWidth > 0")
        accesses = page.locator("section[aria-labelledby=rt-accesses]").inner_text()
        assert "trips" in accesses
        c.check("audit-report")
        with page.expect_download() as got:
            page.get_by_role("link", name=re.compile("Scarica in CSV: Decisioni per")).click()
        csv_text = Path(got.value.path()).read_text()
        assert csv_text.startswith("dataset,organisation,outcome,decisions")
        assert "trips,urn:gemello:bologna:unibo,allowed," in csv_text

    # unibo's auditor follows the job across the members it touched: unibo drove it, fbk ran
    # its stage on trips (and shows unibo only what concerns unibo)
    unibo_auditor = fed.user("unibo", "auditor", "unibo-auditor")
    with console(fed, "unibo", tmp_path / "unibo") as c:
        page = c.page
        c.sign_in(unibo_auditor)
        page.goto(f"{c.url}/console/audit?correlation={job['id']}")
        page.locator("#entries a", has_text=job["id"][:40]).first.click()
        page.get_by_role("heading", name="Un atto in tutti i registri").wait_for()
        sections = {
            page.locator("main section h2").nth(i).inner_text().split()[0]: page.locator(
                "main section"
            )
            .nth(i)
            .inner_text()
            for i in range(page.locator("main section").count())
        }
        assert "compute.job" in sections["unibo"]
        assert "compute.run" in sections.get("fbk", ""), sections
        fbk = page.locator("main section").filter(has=page.get_by_role("heading", name="fbk"))
        fbk_rows = fbk.locator("tbody tr")
        assert fbk_rows.count() > 0
        for i in range(fbk_rows.count()):  # fbk shows unibo what concerns unibo, nothing else
            assert fbk_rows.nth(i).locator("td").nth(4).inner_text() == "unibo"
        c.check("audit-follow")


def test_an_admin_creates_a_user_whose_token_works_and_revokes_it(
    shared_federation: Federation, tmp_path: Path
) -> None:
    fed = shared_federation
    admin = fed.user("cineca", "admin", "cineca-admin")
    with console(fed, "cineca", tmp_path) as c:
        page = c.page
        c.sign_in(admin)
        page.get_by_role("link", name="Amministrazione").click()
        members = page.locator("section", has_text="Membri del dataspace").inner_text()
        assert all(m in members for m in ("comune", "cineca", "unibo", "fbk"))
        c.check("admin")

        page.get_by_label("Nome utente").fill("Not A Name!")  # refused, with the reason
        page.get_by_role("button", name="Crea l'utente e il suo token").click()
        page.get_by_role("alert").wait_for()
        assert "name" in page.get_by_role("alert").inner_text()

        page.get_by_label("Nome utente").fill("giada-newcomer")
        page.get_by_label("Ruolo").select_option("researcher")
        page.get_by_role("button", name="Crea l'utente e il suo token").click()
        page.get_by_role("heading", name="Nuovo token per giada-newcomer").wait_for()
        token = page.locator("#issued-token").input_value()
        token_id = page.locator("div.ok p.id").inner_text()
        assert token.startswith("gmo_")
        c.check("admin-token-shown")
        who = fed.call("GET", "cineca", "/identity/whoami", token)
        assert who.status_code == 200, who.text
        assert who.json()["name"] == "giada-newcomer"

        page.goto(f"{c.url}/console/admin")
        assert token not in page.content()  # shown once: never again
        page.get_by_role("button", name=f"Revoca {token_id}").click()
        page.wait_for_url(re.compile(r".*/console/admin.*"))
        row = page.locator("tr", has_text=token_id)
        assert "revocato" in row.inner_text().lower()
        refused = fed.call("GET", "cineca", "/identity/whoami", token)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]

        # Keys: rotated with an overlap; the trust list carries both, the new one signs.
        before = page.locator("section", has_text="Chiavi di firma").locator("tbody tr").count()
        page.get_by_label("Sovrapposizione (secondi)").fill("900")
        page.get_by_role("button", name="Ruota la chiave").click()
        page.get_by_text("Nuova chiave di firma in uso:").wait_for()
        new_kid = page.locator("div.ok span.id").inner_text()
        keys = page.locator("section", has_text="Chiavi di firma").locator("tbody tr")
        assert keys.count() == before + 1
        assert "in uso" in keys.filter(has_text=new_kid).inner_text()
        c.check("admin-keys-rotated")
        jwks = fed.client.get(f"{c.url}/.well-known/jwks.json").json()
        assert new_kid in {k["kid"] for k in jwks["keys"]}
        assert len(jwks["keys"]) >= 2  # the old key, in its overlap, too

        page.get_by_role("link", name="Salute del connettore").click()
        parts = page.locator("section", has_text="Parti").inner_text()
        for part in ("Base dati", "Motore delle politiche", "Esecutore dei modelli",
                     "Messaggi in uscita", "Registro di audit"):  # fmt: skip
            assert part in parts
        assert re.search(r"schema \d{4} \(attuale\)", parts), parts
        # Asked now with the new key: every other member accepts the signed call.
        witnesses = page.locator("section", has_text="Testimoni del registro").inner_text()
        for member in ("comune", "unibo", "fbk"):
            assert re.search(rf"{member}\s+ok\s", witnesses), witnesses
        c.check("admin-health")
