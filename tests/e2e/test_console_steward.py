"""The steward's console in a real browser (Debian's Chromium) against the session's
four-connector federation.

A steward at fbk writes a policy for `trips` in the editor with no JSON typed: research only,
unibo only, at most 3 uses, a steward's approval, epsilon 2 in total. A test case fails (the
count was typed as 4), is shown failing, is fixed, and the policy is saved as a new revision;
the stored document is byte for byte what `gemello policy set` stores for the same choices. A
unibo researcher's request waits in the inbox and is approved; the steward resets unibo's
budget with a reason (an audited act); the researcher's fourth use is refused.

The shared federation's `trips` policy is put back at the end, whatever happens: the other
tests on this worker's federation (run one after another) expect its default offer.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import gemello
from tests.e2e.conftest import Federation
from tests.e2e.test_console_journeys import console
from tests.e2e.test_hardening import negotiate

pytestmark = pytest.mark.e2e
UNIBO = "urn:gemello:bologna:unibo"
CASES = """[[case]]
name = "unibo asks for research"
action = "aggregate"
purpose = "research"
organisation = "unibo"
uses = 2
epsilon = 0.1
expect = "allow"

[[case]]
name = "the fourth use is refused"
action = "aggregate"
purpose = "research"
organisation = "unibo"
uses = 3
epsilon = 0.1
expect = "deny"

[[case]]
name = "cineca is refused"
action = "aggregate"
purpose = "research"
organisation = "cineca"
epsilon = 0.1
expect = "deny"
"""


def _stored(fed: Federation) -> str:
    """The policy document of `trips` as fbk's database holds it (the JSON text)."""
    path = fed.settings("fbk").db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (text,) = db.execute(
            "SELECT document FROM usage_policy WHERE dataset_id = 'trips'"
        ).fetchone()
    return str(text)


def _ask(fed: Federation, token: str, agreement: str) -> Any:
    query = {"dataset": "trips", "aggregate": "count", "epsilon": 0.01}
    return fed.call("POST", "unibo", "/privacy/queries", token,
                    json={"agreement_id": agreement, "query": query})  # fmt: skip


def test_a_steward_writes_a_policy_approves_a_request_and_the_fourth_use_is_refused(
    shared_federation: Federation, tmp_path: Path
) -> None:
    fed = shared_federation
    steward = fed.user("fbk", "steward", "sara-steward")
    researcher = fed.user("unibo", "researcher", "ugo-researcher")
    before = fed.call("GET", "fbk", "/policies/trips", steward).json()
    # Something spent on trips under the policy in force, so a reset has something to reset.
    first = negotiate(fed, researcher, "fbk", "trips", "research")
    assert first["state"] == "FINALIZED", first
    assert _ask(fed, researcher, first["agreement_id"]).status_code == 200
    try:
        _journey(fed, steward, researcher, tmp_path)
    finally:
        if before["source"] == "default":
            fed.call("DELETE", "fbk", "/policies/trips", steward)
        else:
            fed.call("PUT", "fbk", "/policies/trips", steward, json=before["document"])


def _journey(fed: Federation, steward: str, researcher: str, tmp_path: Path) -> None:
    with console(fed, "fbk", tmp_path) as c:
        page = c.page
        c.sign_in(steward)
        page.get_by_role("navigation").get_by_role("link", name="Governo dei dati").click()
        c.check("steward-home")
        page.get_by_role("link", name="Modifica la politica: trips").click()
        page.get_by_role("heading", name="Editor della politica: trips").wait_for()
        while page.get_by_role("button", name=re.compile("^Togli la regola")).count():
            page.get_by_role("button", name=re.compile("^Togli la regola")).first.click()
        page.get_by_role("button", name="Aggiungi un permesso").click()
        page.get_by_label("Azione", exact=True).select_option("aggregate")
        for operand in ("purpose", "recipient", "count", "epsilonTotal"):
            page.get_by_label("Nuova condizione su").select_option(operand)
            page.get_by_role("button", name="Aggiungi la condizione").click()
        page.locator("input[name='r0.c0.v'][value=research]").check()
        page.locator(f"input[name='r0.c1.v'][value='{UNIBO}']").check()
        page.locator("select[name='r0.c2.op']").select_option("lteq")
        page.locator("input[name='r0.c2.v']").fill("4")  # a slip: the case below catches it
        page.locator("select[name='r0.c3.op']").select_option("lteq")
        page.locator("input[name='r0.c3.v']").fill("2")
        page.get_by_label("con l'approvazione di un responsabile dei dati del detentore").check()
        page.get_by_label("Casi (tabella TOML)").fill(CASES)
        page.get_by_role("button", name="Verifica").click()
        results = page.get_by_role("table", name="Esito dei casi sulla bozza")
        failing = results.locator("tr", has_text="the fourth use is refused")
        assert "non passa" in failing.inner_text()
        assert results.locator("tr", has_text="cineca is refused").inner_text().count("passa") == 1
        words = page.locator("section", has_text="La bozza in parole").inner_text()
        assert "il numero di usi è al massimo 4" in words
        assert "con l'approvazione di un responsabile dei dati del detentore" in words
        c.check("steward-case-fails")
        # Saving is refused while a case fails.
        page.get_by_role("button", name=re.compile("^Salva come versione")).click()
        assert "Un caso di prova non passa" in page.get_by_role("alert").first.inner_text()

        page.locator("input[name='r0.c2.v']").fill("3")
        page.get_by_role("button", name="Verifica").click()
        assert "non passa" not in results.inner_text()
        page.get_by_label("Nota sulla revisione").fill("Solo unibo, per ricerca, tre usi")
        page.get_by_role("button", name=re.compile("^Salva come versione")).click()
        page.get_by_role("status").wait_for()
        history = page.locator("section", has_text="Storia delle revisioni").inner_text()
        assert "Solo unibo, per ricerca, tre usi" in history
        assert "il numero di usi è al massimo 3" in history
        c.check("steward-policy-saved")

        # Byte for byte what `gemello policy set` stores for the same choices.
        from_editor = _stored(fed)
        document = json.loads(from_editor)
        choices = {
            "@id": document["@id"],
            "@type": "Offer",
            "permission": [{
                "action": "aggregate",
                "constraint": [
                    {"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"},
                    {"leftOperand": "recipient", "operator": "eq", "rightOperand": UNIBO},
                    {"leftOperand": "count", "operator": "lteq", "rightOperand": 3},
                    {"leftOperand": "epsilonTotal", "operator": "lteq", "rightOperand": 2},
                ],
                "duty": [{"action": "obtainApproval"}],
            }],
        }  # fmt: skip
        file = tmp_path / "trips-policy.json"
        file.write_text(json.dumps(choices, indent=2))
        cli = gemello(fed.home, "policy", "set", "trips", str(file), "--partner", "fbk",
                      "--token", steward)  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        assert _stored(fed) == from_editor

        # unibo's researcher asks; the request waits for a steward, who approves it.
        body = {"partner": "fbk", "dataset": "trips", "purpose": "research"}
        started = fed.call("POST", "unibo", "/contracts/negotiations", researcher, json=body)
        assert started.status_code == 201, started.text
        pid = started.json()["id"]
        page.get_by_role("navigation").get_by_role("link", name="Governo dei dati").click()
        page.get_by_role("link", name="Richieste e accordi").click()
        approve = page.get_by_role("button", name="Approva: unibo, trips")
        fed.until(lambda: (page.reload(), approve.count())[1], bool, "the request in the inbox")
        inbox = page.locator("section", has_text="Richieste da approvare").inner_text()
        assert "ricerca" in inbox
        assert "Uso passato" in inbox
        c.check("steward-inbox")
        approve.click()
        settled = fed.until(
            lambda: fed.call("GET", "unibo", f"/contracts/negotiations/{pid}", researcher).json(),
            lambda n: n["state"] in ("FINALIZED", "TERMINATED"),
            "the approved negotiation",
        )
        assert settled["state"] == "FINALIZED", settled
        agreement = settled["agreement_id"]

        # The steward resets unibo's budget on trips: a recorded act with its reason.
        page.get_by_role("navigation").get_by_role("link", name="Governo dei dati").click()
        page.get_by_role("link", name="Budget di privacy").click()
        page.get_by_label("Dataset", exact=True).select_option("trips")
        page.get_by_label("Membro", exact=True).select_option(UNIBO)
        page.get_by_role("radio", name="azzera").check()
        page.get_by_label("Motivo", exact=True).fill(
            "Nuovo progetto di ricerca approvato dal comitato etico"
        )
        page.get_by_role("button", name="Registra l'atto").click()
        page.get_by_text("Budget azzerato e atto registrato.").wait_for()
        acts = page.locator("section", has_text="Atti sui budget").inner_text()
        assert "Nuovo progetto di ricerca approvato dal comitato etico" in acts
        c.check("steward-budgets")

        # Three uses under the approved agreement; the fourth is refused.
        for _ in range(3):
            asked = _ask(fed, researcher, agreement)
            assert asked.status_code == 200, asked.text
        fourth = _ask(fed, researcher, agreement)
        assert fourth.status_code == 403, fourth.text
        assert "count '4' is above 3" in fourth.json()["detail"]
        page.get_by_role("navigation").get_by_role("link", name="Governo dei dati").click()
        page.get_by_role("link", name="Richieste e accordi").click()
        row = page.locator("tr", has_text="approvato da fbk-sara-steward")
        row.wait_for()  # the page the click opened, not the one before it
        cells = [row.locator("td").nth(i).inner_text() for i in range(row.locator("td").count())]
        assert cells[:3] == ["unibo", "trips", "ricerca"], cells
        assert cells[4:6] == ["3", "0"], cells  # three uses, none left
        assert cells[7] == "nessuna scadenza", cells
        c.check("steward-agreements")
        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", name="Requests and agreements").wait_for()
        c.check("steward-agreements-en")

    auditor = fed.user("fbk", "auditor", "fbk-budget-auditor")
    entries = fed.call("GET", "fbk", "/audit/entries", auditor,
                       params={"action": "privacy.budget", "dataset": "trips"}).json()  # fmt: skip
    assert any(
        e["reason"] == "Nuovo progetto di ricerca approvato dal comitato etico"
        and e["outcome"] == "reset"
        for e in entries
    ), entries
