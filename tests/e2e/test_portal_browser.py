"""The public transparency portal against the session's four-connector federation.

- One anonymous citizen, in a real browser (Debian's Chromium), across three portals: the
  comune's algorithm register and the `mobility-ctm` record, whose code hash is the one
  `gemello models` prints; the comune's federation page; the flood result a planner published
  with `gemello jobs publish` on unibo's portal, with its map, and "verify", which checks its
  audit entries' inclusion proofs in the browser against the head the other members
  co-signed; the flood record's runs verified the same way; on fbk's portal, the epsilon unibo
  spent on its trips, and that row verified; and the browser's RFC 9162 check run on the log's
  own proofs, right and wrong.
- A copy of unibo's connector over a copy of its database with one audit entry altered: the
  same page, and the auditors' script, report the failure.
- Over HTTP: the published page shows exactly the released values; the console's publish form;
  the publication is a DCAT-AP dataset derived from its inputs; no /public route reveals a
  user's name, token, query or an unpublished run.

Each page passes axe-core and the strict Content-Security-Policy, and loads nothing from
outside the federation, in Italian and in English.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from rdflib import Graph, URIRef

from connector.federation import free_port, start_connector, stop, wait_ready
from connector.gateway import readable
from connector.gateway.gazetteer import Gazetteer
from connector.settings import source_root
from tests.clirun import run_cli
from tests.e2e.conftest import Federation
from tests.e2e.test_console_journeys import console
from tests.e2e.test_hardening import negotiate

pytestmark = pytest.mark.e2e


TITLE = "Pioggia ×1,5: le aree sopra l'allerta"
NOTE = "Prima settimana di maggio 2023, con la pioggia aumentata della metà."
SCRIPT = source_root() / "docs" / "auditors" / "verify_proofs.py"


@pytest.fixture(scope="module")
def published(shared_federation: Federation) -> dict[str, Any]:
    """A flood run (rain x1.5) a planner at unibo published with the CLI."""
    fed = shared_federation
    planner = fed.user("unibo", "researcher", "portal-planner")
    body = {"model": "flood-scs-nash", "params": {"end": "2023-05-05", "rain_multiplier": 1.5},
            "purpose": "research", "epsilon": 0.05}  # fmt: skip
    made = fed.call("POST", "unibo", "/jobs", planner, json=body)
    assert made.status_code == 202, made.text
    job_id = made.json()["id"]
    done = fed.until(
        lambda: fed.call("GET", "unibo", f"/jobs/{job_id}", planner, params={"wait": 20}).json(),
        lambda j: j["state"] != "running",
        f"job {job_id}",
        timeout=240,
    )
    assert done["state"] == "succeeded", done
    cli = run_cli(["jobs", "publish", job_id[4:14], "--title", TITLE, "--note", NOTE,
                   "--url", fed.url("unibo"), "--token", planner, "--json"])  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    pub = json.loads(cli.stdout)
    assert pub["url"] == f"{fed.url('unibo')}/public/results/{pub['id']}"
    assert {d["partner"] for d in pub["decisions"]} == {"cineca", "unibo"}
    return {"job": job_id, "pub": pub, "planner": planner}


def _cosigned(fed: Federation, proofs_url: str) -> dict[str, Any]:
    """The proof bundle, once the other members have co-signed every entry in it."""
    return dict(
        fed.until(
            lambda: httpx.get(proofs_url, timeout=30).json(),
            lambda b: b["entries"] and not b["pending"] and len(b["checkpoint"]["cosigners"]) == 3,
            f"co-signed proofs at {proofs_url}",
            timeout=60,
        )
    )


def test_a_published_page_shows_exactly_what_was_released(
    shared_federation: Federation, published: dict[str, Any]
) -> None:
    fed = shared_federation
    url = published["pub"]["url"]
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200, page.text
    release = httpx.get(f"{url}/release.json", timeout=30).json()
    owner = fed.call("GET", "unibo", f"/jobs/{published['job']}/result", published["planner"])
    assert owner.status_code == 200, owner.text
    # the frozen copy is the released result itself, and its scenario
    assert release["run"]["result"]["outputs"] == owner.json()["outputs"]
    assert release["run"]["result"]["summary"] == owner.json()["summary"]
    assert release["run"]["params"] == owner.json()["params"]
    assert release["run"]["model_hash"] == owner.json()["model_hash"]
    # every figure in the districts' and areas' tables is a released value (or a district's
    # sum of them), and every released value is there
    reading = readable.read("flood-scs-nash", release["run"]["params"],
                            release["run"]["result"]["outputs"])  # fmt: skip
    areas = Gazetteer.cached(fed.settings("unibo")).areas
    cols = [k for k, _, _ in readable.columns(reading, "it")]
    expected = [r[k] for r in readable.by_district(reading, areas) for k in cols]
    expected += [r[k] for r in readable.area_rows(reading, areas) for k in cols]
    shown = re.findall(r'<td class="num" data-value="([^"]*)"', page.text)
    assert len(shown) == len(expected) > 90
    assert sorted(float(v) for v in shown if v) == pytest.approx(
        sorted(float(v) for v in expected if v is not None), rel=1e-12
    )
    # nothing names the planner, in the page, the release or its provenance
    for text in (page.text, json.dumps(release)):
        assert "portal-planner" not in text
        assert "requested_by" not in text
        assert "run_id" not in text


def test_the_console_publishes_a_run_with_the_planners_title_and_note(
    shared_federation: Federation, published: dict[str, Any]
) -> None:
    fed = shared_federation
    job = published["job"]
    with httpx.Client(base_url=fed.url("unibo"), timeout=60) as browser:
        form = browser.get("/console/sign-in")
        nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert nonce is not None
        browser.post("/console/sign-in", data={"token": published["planner"],
                                                "csrf": nonce.group(1)})  # fmt: skip
        page = browser.get(f"/console/runs/{job}")
        assert page.status_code == 200, page.text[:300]
        assert "Pubblica sul portale pubblico" in page.text
        assert published["pub"]["id"] in page.text  # the run's earlier publication is listed
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        short = browser.post(f"/console/runs/{job}/publish",
                             data={"title": "x", "note": "", "csrf": csrf.group(1)})  # fmt: skip
        assert short.status_code == 400, short.text[:300]
        assert "at least 5 characters" in short.text
        fields = {"title": "Seconda lettura", "note": "<b>non</b> è HTML", "csrf": csrf.group(1)}
        made = browser.post(f"/console/runs/{job}/publish", data=fields)
        assert made.status_code == 303, made.text[:300]
        where = made.headers["location"]
        assert where.startswith("/public/results/flood-scs-nash-")
    shown = httpx.get(fed.url("unibo") + where, timeout=30).text
    assert "Seconda lettura" in shown
    assert "&lt;b&gt;non&lt;/b&gt; è HTML" in shown


def test_a_publication_is_a_dataset_derived_from_its_inputs(
    shared_federation: Federation, published: dict[str, Any]
) -> None:
    fed = shared_federation
    pub = published["pub"]
    listed = fed.call("GET", "unibo", "/dcat/catalog", published["planner"])
    assert listed.status_code == 200, listed.text
    graph = Graph().parse(data=listed.text, format="turtle")
    ds = URIRef(f"urn:gemello:bologna:unibo:dataset:{pub['id']}")
    catalog = URIRef("urn:gemello:bologna:unibo:catalog")
    assert (catalog, URIRef("http://www.w3.org/ns/dcat#dataset"), ds) in graph
    derived = {
        str(o) for o in graph.objects(ds, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))
    }
    assert derived == {
        "urn:gemello:bologna:cineca:dataset:rainfall-daily",
        "urn:gemello:bologna:unibo:dataset:sub-catchments",
    }
    alone = Graph().parse(data=httpx.get(f"{pub['url']}/dcat", timeout=30).text, format="turtle")
    assert set(alone.objects(ds, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))) == {
        URIRef(i) for i in derived
    }


def _rfc_cases() -> list[tuple[int, int, str, list[str], str, bool]]:
    """Proofs from the log's own Merkle code for every leaf of every tree up to 40 leaves, and
    wrong ones: a flipped bit, the neighbouring leaf, the root of the tree with one more leaf."""
    from connector.audit import merkle

    cases = []
    for size in range(1, 41):
        leaves = [merkle.leaf_hash(bytes([i])) for i in range(size)]
        root = merkle.root(leaves).hex()
        grown = merkle.root([*leaves, merkle.leaf_hash(b"one more")]).hex()
        for index in range(size):
            proof = [h.hex() for h in merkle.inclusion_proof(index, leaves)]
            leaf = leaves[index].hex()
            cases.append((index, size, leaf, proof, root, True))
            if proof:
                bad = proof[0][:-1] + ("0" if proof[0][-1] != "0" else "1")
                cases.append((index, size, leaf, [bad, *proof[1:]], root, False))
            if size > 1:
                cases.append(((index + 1) % size, size, leaf, proof, root, False))
            cases.append((index, size, leaf, proof, grown, False))
    return cases


def _verified(page: Any, box: str) -> str:
    """Click the verify button that fills `box` and return its verdict's text."""
    page.locator(f'button[data-target="{box}"]').first.click()
    verdict = page.locator(f"#{box} p.ok, #{box} p.bad")
    verdict.wait_for()
    return str(verdict.inner_text()) + "\n" + str(page.locator(f"#{box}").inner_text())


def test_a_citizen_checks_the_register_a_published_result_and_the_data_use_herself(
    shared_federation: Federation, published: dict[str, Any], tmp_path: Path
) -> None:
    """One anonymous citizen, one browser, three members' portals: the comune's register and
    federation page, unibo's published result (verified in the browser), fbk's data use."""
    fed = shared_federation
    listed = run_cli(["models", "--json"])
    assert listed.returncode == 0, listed.stderr
    hashes = {m["name"]: m["hash"] for m in json.loads(listed.stdout)}
    researcher = fed.user("unibo", "researcher", "portal-researcher")
    agreement = negotiate(fed, researcher, "fbk", "trips", "research")
    assert agreement["state"] == "FINALIZED", agreement
    query = {"dataset": "trips", "aggregate": "count", "epsilon": 0.01}
    asked = fed.call("POST", "unibo", "/privacy/queries", researcher,
                     json={"agreement_id": agreement["agreement_id"], "query": query})  # fmt: skip
    assert asked.status_code == 200, asked.text
    pub = published["pub"]
    _cosigned(fed, f"{pub['url']}/proofs")
    others = (fed.url("unibo"), fed.url("fbk"))
    with console(fed, "comune", tmp_path, also=others) as c:
        page = c.page
        # the algorithm register, and a record whose code hash is the one the CLI prints
        page.goto(f"{c.url}/public")
        page.get_by_role("heading", name="Trasparenza del gemello digitale").wait_for()
        c.check("portal-home")
        page.get_by_role("link", name="Registro degli algoritmi").first.click()
        page.get_by_role("heading", name="Registro degli algoritmi").wait_for()
        table = page.locator("table").inner_text()
        for name, code in hashes.items():
            assert name in table
            assert code in table
        c.check("portal-algorithms")
        page.get_by_role("link", name="Traffico stradale (modello a celle)").click()
        page.get_by_role("heading", name="Traffico stradale (modello a celle)").wait_for()
        assert page.locator("dl.fields dd.id").inner_text() == hashes["mobility-ctm"]
        left = page.locator("section", has_text="Campi che una persona deve ancora scrivere")
        assert "senior_responsible_owner" in left.inner_text()
        c.check("portal-record")
        # the federation page: unibo's publication and fbk's trips, read from their portals
        page.get_by_role("navigation").get_by_role("link", name="La federazione").click()
        page.get_by_role("heading", name="La federazione").wait_for()
        fbk = page.locator("section", has=page.get_by_role("heading", name=re.compile("Kessler")))
        row = (
            fbk.locator("tr", has_text="trips").filter(has_text="unibo").filter(has_text="ricerca")
        )
        assert row.count() == 1, fbk.inner_text()
        c.check("portal-federation")
        unibo = page.locator("section", has=page.get_by_role("heading", name=re.compile("Univ")))
        link = unibo.get_by_role("link", name=TITLE)
        assert link.get_attribute("href") == pub["url"]
        # unibo's published result, with its map, verified in the browser
        link.click()
        page.get_by_role("heading", name=TITLE).wait_for()
        assert page.locator("figure.choro svg path").count() == 90
        assert NOTE in page.locator("main").inner_text()
        said = _verified(page, "verify-result")
        assert "Verificato: ogni voce (3)" in said, said
        assert "publish.run" in said
        c.check("portal-result-verified")
        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", name="Verify it yourself").wait_for()
        c.check("portal-result-en")
        # the register's count of the flood model's runs, verified the same way
        page.goto(f"{fed.url('unibo')}/public/algorithms/flood-scs-nash")
        said = _verified(page, "verify-runs")
        assert "Verified" in said, said
        assert "compute.job" in said
        c.check("portal-record-verified")
        # fbk's data use: the epsilon unibo spent on trips, and its entries verified
        page.goto(f"{fed.url('fbk')}/public/data-use?lang=it")
        trips = page.locator("section", has=page.get_by_role("heading", name="trips", exact=True))
        row = trips.locator("tr", has_text="unibo").filter(has_text="ricerca")
        cells = [row.locator("td").nth(i).inner_text() for i in range(row.locator("td").count())]
        assert cells[0] == "unibo", cells
        assert float(cells[4].replace(".", "").replace(",", ".")) > 0, cells  # ε spent
        assert "portal-researcher" not in page.content()
        said = _verified(page, "verify-trips")
        assert "Verificato" in said, said
        c.check("portal-data-use-verified")
        # the browser's RFC 9162 check agrees with the log's own proofs, and refuses wrong ones
        cases = _rfc_cases()
        got = page.evaluate(
            """async (cases) => {
                const out = [];
                for (const [i, n, leaf, proof, root] of cases) {
                    out.push(await verifyInclusion(i, n, leaf, proof, root));
                }
                return out;
            }""",
            [list(k[:5]) for k in cases],
        )
        wrong = [k[:2] + (k[5],) for k, g in zip(cases, got, strict=True) if g is not k[5]]
        assert not wrong, wrong[:10]
        assert sum(k[5] for k in cases) == sum(range(1, 41))


def test_an_altered_audit_entry_fails_the_check_in_the_browser_and_in_the_script(
    shared_federation: Federation, published: dict[str, Any], tmp_path: Path
) -> None:
    fed = shared_federation
    pub = published["pub"]
    bundle = _cosigned(fed, f"{pub['url']}/proofs")
    honest = subprocess.run([sys.executable, str(SCRIPT), f"{pub['url']}/proofs"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert honest.returncode == 0, honest.stdout + honest.stderr
    # a copy of unibo's data and database, with the publication's audit entry saying another
    # purpose, served by a second unibo connector
    live_dir = fed.settings("unibo").resolved_data_dir
    twin_dir = tmp_path / "unibo-twin"
    shutil.copytree(
        live_dir, twin_dir, ignore=shutil.ignore_patterns("connector.db*", "server.json")
    )
    with sqlite3.connect(live_dir / "connector.db") as live:
        with sqlite3.connect(twin_dir / "connector.db") as altered:
            live.backup(altered)
    seq = next(e["seq"] for e in bundle["entries"] if e["action"] == "publish.run")
    with sqlite3.connect(twin_dir / "connector.db") as altered:
        altered.execute("UPDATE audit_entry SET purpose = 'commercial' WHERE seq = ?", (seq,))
    url = f"http://127.0.0.1:{free_port()}"
    quiet = ("AUDIT_CHECKPOINT_SECONDS", "AUDIT_WITNESS_SECONDS", "CATALOG_REFRESH_SECONDS")
    env = {"GEMELLO_DATA_DIR": str(twin_dir), **{f"GEMELLO_{k}": "0" for k in quiet}}
    twin = start_connector(fed.settings("unibo"), fed.home, tmp_path, url, env=env)
    try:
        wait_ready(twin, fed.client, 60)
        proofs = f"{url}/public/results/{pub['id']}/proofs"
        script = subprocess.run([sys.executable, str(SCRIPT), proofs],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert script.returncode == 1, script.stdout + script.stderr
        assert f"BAD #{seq} " in script.stdout
        with console(fed, "unibo", tmp_path, url=url) as c:
            c.page.goto(f"{url}/public/results/{pub['id']}")
            c.page.get_by_role("button", name="Verifica nel tuo browser").click()
            verdict = c.page.locator("#verify-result p.bad", has_text="Verifica fallita")
            verdict.wait_for()
            assert "registro co-firmato: 1." in verdict.inner_text()
            assert f"✗ #{seq} " in c.page.locator("#verify-result").inner_text()
            c.check("portal-altered")
    finally:
        stop([twin])


def test_no_public_route_reveals_a_name_a_token_a_query_or_an_unpublished_run(
    shared_federation: Federation, published: dict[str, Any]
) -> None:
    """Every /public route, walked as anonymous at unibo (the publisher), fbk (the trips'
    holder) and the comune (the federation's page), after a named researcher asked fbk a
    question with a marked filter and ran a flood scenario nobody published."""
    from connector.web.portal import PUBLIC_DOWNLOADS, portal
    from models.registry import MODELS

    fed = shared_federation
    name = "unibo-walker-q"
    walker = fed.user("unibo", "researcher", "walker-q")
    agreement = negotiate(fed, walker, "fbk", "trips", "research")
    marker = "zz-private-query-marker"
    for query in (
        {"dataset": "trips", "aggregate": "count", "epsilon": 0.01, "group_by": ["mode"]},
        {"dataset": "trips", "aggregate": "count", "epsilon": 0.01,
         "filters": [{"dimension": "mode", "values": [marker]}]},
    ):  # fmt: skip
        fed.call("POST", "unibo", "/privacy/queries", walker,
                 json={"agreement_id": agreement["agreement_id"], "query": query})  # fmt: skip
    body = {"model": "flood-scs-nash", "params": {"end": "2023-05-02", "rain_multiplier": 1.7},
            "purpose": "research", "epsilon": 0.05}  # fmt: skip
    unpublished = fed.call("POST", "unibo", "/jobs", walker, json=body).json()["id"]
    fed.until(
        lambda: fed.call(
            "GET", "unibo", f"/jobs/{unpublished}", walker, params={"wait": 20}
        ).json(),
        lambda j: j["state"] != "running",
        f"job {unpublished}",
        timeout=240,
    )
    secrets = {
        name,
        "portal-planner",
        walker,
        published["planner"],
        marker,
        unpublished,
        unpublished.removeprefix("job-"),
    }
    routes = {r.path for r in portal.routes}  # type: ignore[attr-defined]
    walked: set[str] = set()
    pub_id = published["pub"]["id"]
    page = httpx.get(published["pub"]["url"], timeout=30).text
    values = {
        "model": sorted(MODELS),
        "publication_id": [pub_id],
        "key": sorted(set(re.findall(r"/charts/([^/\"]+)\.svg", page))),
        "kind": list(PUBLIC_DOWNLOADS),
    }
    with httpx.Client(timeout=60) as anonymous:
        for partner in ("unibo", "fbk", "comune"):
            base = fed.url(partner)
            rows = re.findall(r'data-proofs="(/public/data-use/proofs\?[^"]+)"',
                              anonymous.get(f"{base}/public/data-use").text)  # fmt: skip
            for path in sorted(routes):
                names = re.findall(r"{(\w+)}", path)
                unknown = [n for n in names if n not in values]
                assert not unknown, f"{path}: no values to walk {unknown} with"
                fills: list[str] = [path]
                for n in names:
                    fills = [f.replace("{" + n + "}", v) for f in fills for v in values[n]]
                if path.endswith("/data-use/proofs"):
                    fills = [r.replace("&amp;", "&") for r in rows] or [f"{path}?dataset=trips"]
                for url in fills:
                    r = anonymous.get(base + url)
                    elsewhere = (
                        ("{publication_id}" in path and partner != "unibo")
                        or (path.endswith("/federation") and partner != "comune")
                        or (path.endswith("/data-use/proofs") and not rows)
                    )
                    assert r.status_code == (404 if elsewhere else 200), (url, r.text[:300])
                    text = r.text.lower()
                    leaked = [s for s in secrets if s.lower() in text]
                    assert not leaked, f"{partner} {url} shows {leaked}"
                    assert "gmo_" not in r.text, f"{partner} {url} shows a token"
                walked.add(path)
    assert walked == routes
