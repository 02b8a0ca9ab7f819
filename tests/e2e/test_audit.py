"""The audit log of a real connector process killed (SIGKILL) during a burst of audited
actions: after a restart its log verifies, and every action that took effect has its entry."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from connector.federation import federation, start_connector, wait_ready
from connector.settings import load_settings
from tests.clirun import gemello

pytestmark = pytest.mark.e2e
POLICY = {
    "@context": "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
    "@type": "Offer",
    "@id": "urn:gemello:policy:burst",
    "permission": [{"action": "read"}],
}


def test_a_killed_connector_restarts_with_a_log_that_verifies(
    fresh_home: Callable[..., Path],
) -> None:
    home = fresh_home("audit-crash")
    settings = [load_settings("comune", home)]
    made = gemello(home, "user", "add", "--partner", "comune", "--role", "steward", "--name",
                   "stella", "--token-only")  # fmt: skip
    assert made.returncode == 0, made.stderr
    auth = {"Authorization": f"Bearer {made.stdout.strip()}"}
    with federation(home, settings) as conns, httpx.Client(timeout=10) as client:
        comune = conns[0]
        url = f"{comune.url}/policies/road-graph"
        stop = threading.Event()
        answered: list[int] = []

        def burst() -> None:
            while not stop.is_set():
                try:
                    answered.append(client.put(url, json=POLICY, headers=auth).status_code)
                except httpx.HTTPError:
                    return  # the connector is gone

        threads = [threading.Thread(target=burst) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        comune.process.send_signal(signal.SIGKILL)
        comune.process.wait(10)
        comune.log_file.close()
        stop.set()
        for t in threads:
            t.join(15)
        assert answered.count(200) > 10, answered[:20]
        restarted = start_connector(comune.settings, home, home / "var" / "logs", comune.url)
        conns[0] = restarted
        wait_ready(restarted, client, 60)
        version = client.get(url, headers=auth).json()["version"]
        entries = client.get(
            f"{restarted.url}/audit/entries",
            headers=auth,
            params={"action": "admin.policy", "dataset": "road-graph", "limit": 1000},
        ).json()
    # every version the store reached has its entry, and no entry lacks its version
    assert version >= answered.count(200)
    assert sorted(e["details"]["version"] for e in entries) == list(range(1, version + 1))
    verified = gemello(home, "audit", "verify", "--partner", "comune")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout
