"""DP queries between two real connectors over HTTP.

unibo's researcher negotiates an agreement on fbk's trips (personal data, aggregate-only) over
DSP, then asks aggregates through unibo's own connector, which forwards them signed to fbk. The
CLI does the same as a researcher would; fbk's steward reads the ledger with the CLI while the
server runs. No answer carries a row or a pseudonym. fbk runs two server processes
(`serve_workers = 2`), so requests land on either and one of them runs the outbox.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.federation import RunningConnector, federation
from connector.settings import load_settings
from tests.clirun import gemello

pytestmark = pytest.mark.e2e
MEAN = {"dataset": "trips", "aggregate": "mean", "column": "distance_km", "epsilon": 0.5}


@dataclass
class Pair:
    home: Path
    fbk: RunningConnector
    unibo: RunningConnector
    researcher: str
    client: httpx.Client
    agreement: str = ""

    def ask(self, query: dict[str, Any], agreement: str | None = None) -> httpx.Response:
        return self.client.post(
            f"{self.unibo.url}/privacy/queries",
            json={"agreement_id": agreement or self.agreement, "query": query},
            headers={"Authorization": f"Bearer {self.researcher}"},
        )


@pytest.fixture(scope="module")
def pair(fresh_home_module: Callable[..., Path]) -> Iterator[Pair]:
    home = fresh_home_module("privacy")
    fbk_toml = home / "deploy" / "partners" / "fbk.toml"
    fbk_toml.write_text(fbk_toml.read_text() + "\nserve_workers = 2\n")
    settings = [load_settings(p, home) for p in ("unibo", "fbk")]
    made = gemello(
        home,
        "user",
        "add",
        "--partner",
        "unibo",
        "--role",
        "researcher",
        "--name",
        "ada",
        "--token-only",
    )
    assert made.returncode == 0, made.stderr
    with federation(home, settings) as conns, httpx.Client(timeout=60) as client:
        by = {c.settings.partner: c for c in conns}
        p = Pair(home, by["fbk"], by["unibo"], made.stdout.strip(), client)
        p.agreement = _agreement(p)
        yield p


def _agreement(p: Pair) -> str:
    headers = {"Authorization": f"Bearer {p.researcher}"}
    body = {"partner": "fbk", "dataset": "trips", "purpose": "research"}
    started = p.client.post(f"{p.unibo.url}/contracts/negotiations", json=body, headers=headers)
    assert started.status_code == 201, started.text
    pid = started.json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = p.client.get(f"{p.unibo.url}/contracts/negotiations/{pid}", headers=headers).json()
        if row["state"] == "FINALIZED":
            return str(row["agreement_id"])
        assert row["state"] != "TERMINATED", row
        time.sleep(0.1)
    raise AssertionError(f"negotiation {pid} did not finish:\n{p.fbk.log_tail()}")


def test_a_researcher_queries_another_members_data_through_their_connector(pair: Pair) -> None:
    resp = pair.ask(MEAN | {"group_by": ["mode"]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["budget"]["organisation"] == "urn:gemello:bologna:unibo"
    assert body["budget"]["spent"] == 0.5
    assert any(c.get("value") for c in body["cells"])
    assert "psn_" not in resp.text  # no pseudonym, let alone a row, leaves fbk


def test_refusals_come_back_as_the_providers_problems(pair: Pair) -> None:
    ident = pair.ask(MEAN | {"column": "person_id"})
    assert ident.status_code == 422
    assert ident.headers["content-type"] == "application/problem+json"
    assert "personal identifier" in ident.json()["detail"]
    unknown = pair.ask(MEAN, agreement="urn:gemello:agreement:nope")
    assert unknown.status_code == 404
    assert "holds no agreement" in unknown.json()["detail"]


def test_two_server_processes_share_one_ledger(pair: Pair) -> None:
    workers = [
        p
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _parent(p) == pair.fbk.process.pid and b"spawn_main" in _cmdline(p)
    ]
    assert len(workers) >= 2, "fbk should run two server processes"
    spent = [pair.ask(MEAN | {"epsilon": 0.01}).json()["budget"]["spent"] for _ in range(8)]
    assert spent == sorted(spent)  # one ledger, whichever process answered
    assert len(set(spent)) == 8


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def _parent(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def test_the_cli_queries_and_the_steward_reads_the_ledger(pair: Pair) -> None:
    asked = gemello(
        pair.home,
        "query",
        "trips",
        "--agreement",
        pair.agreement,
        "--aggregate",
        "count",
        "--group-by",
        "mode",
        "--filter",
        "purpose=work,study",
        "--epsilon",
        "0.25",
        "--url",
        pair.unibo.url,
        "--token",
        pair.researcher,
    )
    assert asked.returncode == 0, asked.stderr
    assert "count of rows in trips" in asked.stdout
    assert "bike" in asked.stdout
    assert "geometric mechanism" in asked.stdout
    refused = gemello(
        pair.home,
        "query",
        "trips",
        "--agreement",
        pair.agreement,
        "--aggregate",
        "mean",
        "--column",
        "distance_km",
        "--epsilon",
        "5",
        "--url",
        pair.unibo.url,
        "--token",
        pair.researcher,
    )
    assert refused.returncode == 3
    assert "above the 1 one query may spend" in refused.stderr
    ledger = gemello(pair.home, "budget", "show", "--partner", "fbk", "--charges", "5")
    assert ledger.returncode == 0, ledger.stderr
    assert "urn:gemello:bologna:unibo" in ledger.stdout
    assert "committed" in ledger.stdout
    assert "refused" in ledger.stdout
