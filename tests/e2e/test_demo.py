"""The four-partner federation as `gemello demo` runs it: real uvicorn processes on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.demo_run import keep_running_demo

pytestmark = pytest.mark.e2e
PARTNERS = {"comune", "cineca", "unibo", "fbk"}


def test_demo_runs_non_interactively_and_exits_0(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connector.cli", "demo", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for partner in PARTNERS:
        assert partner in result.stdout
    assert result.stdout.count("✓ accepted") == len(PARTNERS)  # signed calls to every member
    assert "CC BY 4.0" in result.stdout
    assert "agreed, signed" in result.stdout
    assert "pulled" in result.stdout
    assert "refused:" in result.stdout
    # every audit log replays, each co-signed by the three other members
    assert result.stdout.count("✓ intact") == len(PARTNERS)
    assert "not every log was co-signed" not in result.stdout


def test_keep_running_serves_real_http_and_stops_cleanly_on_sigterm(home: Path) -> None:
    with keep_running_demo(home) as run:
        urls = run.urls
        assert set(urls) == PARTNERS
        with httpx.Client(timeout=10) as client:
            for partner, url in urls.items():
                assert client.get(f"{url}/health").json()["partner"] == partner
                assert client.get(f"{url}/ready").status_code == 200
                # every data endpoint wants credentials; the refusal is a problem document
                anon = client.get(f"{url}/datasets")
                assert anon.status_code == 401
                assert anon.headers["content-type"] == "application/problem+json"
                assert anon.json()["reason"] == "no_token"
    assert run.proc.returncode == 0, run.log.read_text()
    assert "stopping connectors" in run.log.read_text()
    # every connector is gone: its port refuses connections
    for url in urls.values():
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/health", timeout=2)
    assert not os.environ.get("GEMELLO_HOME")  # the test did not leak configuration
