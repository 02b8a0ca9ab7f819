"""The four-partner federation as `gemello demo` runs it: real uvicorn processes on loopback."""

from __future__ import annotations

import os
import shutil
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
    # the licence's attribution, only where its data was used
    synthetic = "shared/ not found — every table is synthetic" in result.stdout
    assert ("CC BY 4.0" in result.stdout) != synthetic
    assert "agreed, signed" in result.stdout
    assert "pulled" in result.stdout
    assert "refused:" in result.stdout
    # every audit log replays, each co-signed by the three other members
    assert result.stdout.count("✓ intact") == len(PARTNERS)
    assert "not every log was co-signed" not in result.stdout
    assert "A fresh start" not in result.stdout  # nothing to empty the first time

    # Run again on the same home: budgets are finite, so this works only because the demo
    # starts from empty databases (the first run spent most of comune's epsilon on trips).
    again = subprocess.run(
        [sys.executable, "-m", "connector.cli", "demo", "--home", str(home)],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "A fresh start: emptied privacy budgets and charges" in again.stdout
    assert "budget-exhausted" not in again.stdout
    assert again.stdout.count("✓ intact") == len(PARTNERS)


def test_fresh_databases_empties_only_sqlite_files_in_var(home: Path) -> None:
    import sqlite3

    from connector.demo import fresh_databases
    from connector.settings import load_settings

    outside = home / "elsewhere.db"
    settings = []
    for partner in sorted(PARTNERS):
        env = {}
        if partner == "fbk":
            env["GEMELLO_DATABASE_URL"] = f"sqlite:///{outside}"
        if partner == "cineca":
            env["GEMELLO_DATABASE_URL"] = "postgresql+psycopg://u@/db?host=/nowhere"
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            settings.append(load_settings(partner, home))
    files = []
    for s in settings:
        if s.db_url.startswith("sqlite"):
            db = Path(s.db_url.removeprefix("sqlite:///"))
            db.parent.mkdir(parents=True, exist_ok=True)
            sqlite3.connect(db).execute("create table t (x)").connection.commit()
            db.with_name(db.name + "-wal").write_bytes(b"")
            files.append(db)
    assert len(files) == 3
    deleted = fresh_databases(home, settings)
    assert sorted(deleted) == sorted(f for f in files if f != outside)
    assert outside.exists()  # a database outside var/ is never touched
    for f in deleted:
        assert not f.exists()
        assert not f.with_name(f.name + "-wal").exists()


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


def test_a_port_in_time_wait_is_free_and_a_listening_one_is_not() -> None:
    import socket

    from connector.federation import port_is_free

    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end goes to TIME_WAIT
        client.recv(1)
        client.close()
    if shutil.which("ss"):  # the set-up is what a stopped demo leaves
        states = subprocess.run(["ss", "-tan"], capture_output=True, text=True).stdout
        assert any(f"127.0.0.1:{port} " in ln and "TIME-WAIT" in ln for ln in states.splitlines())
    assert port_is_free("127.0.0.1", port)  # a restarted connector can bind it again
