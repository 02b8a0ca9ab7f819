"""The four-partner federation as `gemello demo` runs it: real uvicorn processes on loopback.

The demo runs once for the whole suite (issue 25): one `gemello demo --keep-running` serves
this module. Its printed summary is checked, the README's first session is run against it line
by line, and the last test stops it and checks what a later run starts from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.settings import load_settings, source_root
from tests.clirun import gemello
from tests.e2e.demo_run import DemoRun, keep_running_demo

pytestmark = pytest.mark.e2e
PARTNERS = {"comune", "cineca", "unibo", "fbk"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """`gemello demo --keep-running` on a home of its own (its own keys, made by the demo's
    init), up once its summary is printed and its URLs file written."""
    home = tmp_path_factory.mktemp("demo")
    shutil.copytree(source_root() / "deploy", home / "deploy")
    with keep_running_demo(home) as run:
        yield run


def test_demo_prints_every_section_and_keeps_running(demo: DemoRun) -> None:
    printed = demo.log.read_text()
    assert demo.proc.poll() is None, printed  # still up after its summary
    for partner in PARTNERS:
        assert partner in printed
    assert printed.count("✓ accepted") == len(PARTNERS)  # signed calls to every member
    # the licence's attribution, only where its data was used
    synthetic = "shared/ not found — every table is synthetic" in printed
    assert ("CC BY 4.0" in printed) != synthetic
    assert "agreed, signed" in printed
    assert "pulled" in printed
    assert "refused:" in printed
    # every audit log replays, each co-signed by the three other members
    assert printed.count("✓ intact") == len(PARTNERS)
    assert "not every log was co-signed" not in printed
    assert "A fresh start" not in printed  # nothing to empty the first time
    assert "Connectors are up" in printed


def test_every_demo_report_says_which_inputs_are_synthetic(demo: DemoRun) -> None:
    """Issue 29: each report the demo writes has its caveats; the tables that are synthetic
    by nature (building stock, sub-catchments, trips) are named where a model read them."""
    reports = demo.log.parent / "var" / "reports"
    pages = {p.stem: p.read_text() for p in reports.glob("*.html")}
    assert set(pages) == {"mobility-ctm", "mobility-gravity", "energy-5r1c", "flood-scs-nash"}
    must = {"energy-5r1c": "building-stock", "flood-scs-nash": "sub-catchments",
            "mobility-gravity": "trips"}  # fmt: skip
    for name, page in pages.items():
        caveats = page.split('<dl id="caveats">')[1].split("</dl>")[0]
        said = caveats.split("<dt>Synthetic inputs</dt>")[1].split("</dd>")[0]
        if name in must:
            assert must[name] in said, (name, said)
        assert "<dt>Validation</dt>" in caveats
        assert "<dt>Limits</dt>" in caveats
    # and so does each summary the demo prints, after the figures
    printed = demo.log.read_text()
    said = printed.count("Synthetic inputs") + printed.count("Inputs: all observed data")
    assert said == len(pages), printed[-3000:]
    assert printed.count("Validation:") >= len(pages)
    assert "Limits:" in printed


def test_keep_running_serves_real_http(demo: DemoRun) -> None:
    assert set(demo.urls) == PARTNERS
    with httpx.Client(timeout=10) as client:
        for partner, url in demo.urls.items():
            assert client.get(f"{url}/health").json()["partner"] == partner
            assert client.get(f"{url}/ready").status_code == 200
            # every data endpoint wants credentials; the refusal is a problem document
            anon = client.get(f"{url}/datasets")
            assert anon.status_code == 401
            assert anon.headers["content-type"] == "application/problem+json"
            assert anon.json()["reason"] == "no_token"
        # the web console it prints opens with the demo planner's token
        printed = demo.log.read_text()
        found = re.search(r"Web console: (\S+)/console .* with (gmo_\S+) ", printed)
        assert found, printed[-2000:]
        url, token = found.groups()
        assert url == demo.urls["unibo"]
        form = client.get(f"{url}/console/sign-in")
        nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert nonce
        signed = client.post(
            f"{url}/console/sign-in",
            data={"token": token, "csrf": nonce.group(1), "next": "/console/discover"},
        )
        assert signed.status_code == 303, signed.text
        page = client.get(f"{url}/console/discover")
        assert "demo-planner" in page.text


def readme_first_session() -> list[str]:
    """The shell lines of the README's 'A first session', continuations joined."""
    text = (source_root() / "README.md").read_text()
    section = text.split("## A first session", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's first session has no sh block"
    joined = re.sub(r"\\\n\s*", "", block.group(1))
    return [ln for ln in joined.splitlines() if ln.strip()]


def test_the_readmes_first_session_works_line_by_line(demo: DemoRun, tmp_path: Path) -> None:
    """Issue 25: the README's first session once emptied the databases right after the user
    it told you to add. Run it as written (its first line is this module's demo), in one
    shell, against the running demo: every line must succeed."""
    lines = readme_first_session()
    assert lines[0].startswith(".venv/bin/gemello demo --keep-running &"), lines[0]
    venv_bin = Path(sys.executable).parent
    script = ["set -u"]
    for n, line in enumerate(lines[1:], start=2):
        command = line.replace(".venv/bin/", f"{venv_bin}/")
        script += [
            f"echo '>>> line {n}'",
            command,
            f'rc=$?; if [ $rc -ne 0 ]; then echo "line {n} failed ($rc)" >&2; exit $rc; fi',
        ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEMELLO_")}
    env["GEMELLO_HOME"] = str(demo.log.parent)
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "✓ agreed" in said
    pulled = next(tmp_path.glob("*.parquet"))  # the dataset, as a file ada can open
    import pyarrow.parquet as pq

    assert pq.read_table(pulled).num_rows > 0
    report = (tmp_path / "flood.html").read_text()
    assert "prov" in report.lower()  # the report carries the run's provenance
    assert "flood-scs-nash" in said
    assert "succeeded" in said
    assert "intact" in said  # `audit verify`


def test_stop_then_a_fresh_start_keeps_users_and_refills_budgets(demo: DemoRun) -> None:
    """SIGTERM stops the demo cleanly; a later demo run starts from emptied run records (the
    first run spent most of comune's epsilon on fbk's trips) and keeps the users."""
    from connector.demo import describe_fresh_start, fresh_start
    from connector.settings import ConfigError

    home = demo.log.parent
    settings = [load_settings(p, home) for p in sorted(PARTNERS)]
    kept = gemello(home, "user", "add", "--partner", "unibo", "--role", "researcher",
                   "--name", "added-while-running", "--token-only")  # fmt: skip
    assert kept.returncode == 0, kept.stderr
    with pytest.raises(ConfigError, match="is running"):  # never under a running connector
        fresh_start(home, settings)
    spent = json.loads(gemello(home, "budget", "show", "--partner", "fbk", "--json").stdout)
    assert any(b["spent"] > 0 for b in spent["budgets"]), spent

    demo.stop()
    assert demo.proc.returncode == 0, demo.log.read_text()
    assert "stopping connectors" in demo.log.read_text()
    for url in demo.urls.values():  # every connector is gone: its port refuses connections
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/health", timeout=2)
    assert not os.environ.get("GEMELLO_HOME")  # the tests did not leak configuration

    report = fresh_start(home, settings)
    said = describe_fresh_start(report, everything=False)
    assert said.startswith("A fresh start: emptied privacy budgets, charges, raises"), said
    assert "Kept: users and their tokens, stewards' policies" in said
    for kind in ("privacy budgets", "policy decisions", "audit logs"):
        assert sum(next(v for k, v in report.items() if k.startswith(kind)).values()) > 0
    after = json.loads(gemello(home, "budget", "show", "--partner", "fbk", "--json").stdout)
    assert after == {"budgets": [], "charges": []}  # every budget whole again
    users = json.loads(gemello(home, "user", "list", "--partner", "unibo", "--json").stdout)
    assert "added-while-running" in {u["name"] for u in users}
    for partner in sorted(PARTNERS):  # each log restarts empty and verifies
        verified = gemello(home, "audit", "verify", "--partner", partner)
        assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_fresh_start_touches_only_sqlite_files_in_var(fresh_home: object, tmp_path: Path) -> None:
    """Databases outside the home's var/ (PostgreSQL, or a file elsewhere) are never opened;
    `--reset-all` also empties users."""
    from sqlmodel import select

    from connector.demo import fresh_start
    from connector.storage import migrated_session
    from connector.storage.tables import UserAccount

    home = fresh_home("fresh")  # type: ignore[operator]
    outside = tmp_path / "elsewhere.db"
    settings = []
    for partner in sorted(PARTNERS):
        with pytest.MonkeyPatch.context() as mp:
            if partner == "fbk":
                mp.setenv("GEMELLO_DATABASE_URL", f"sqlite:///{outside}")
            if partner == "cineca":  # any attempt to open it would fail
                mp.setenv("GEMELLO_DATABASE_URL", "postgresql+psycopg://u@/db?host=/nowhere")
            settings.append(load_settings(partner, home))
    for s in settings:
        if s.partner != "cineca":
            made = gemello(home, "user", "add", "--partner", s.partner, "--role", "auditor",
                           "--name", "someone", env={"GEMELLO_DATABASE_URL": s.db_url})  # fmt: skip
            assert made.returncode == 0, made.stderr

    def names(s: object) -> list[str]:
        with migrated_session(s.db_url) as session:  # type: ignore[attr-defined]
            return [u.name for u in session.exec(select(UserAccount))]

    report = fresh_start(home, settings, everything=True)
    assert set(report["users and their tokens"]) == {"comune", "unibo"}  # in var/ only
    assert report["users and their tokens"]["comune"] == 2  # the user and their token
    by_partner = {s.partner: s for s in settings}
    assert names(by_partner["comune"]) == names(by_partner["unibo"]) == []
    assert names(by_partner["fbk"]) == ["someone"]  # a database outside var/ is never touched


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
