"""The e2e tests' shared pieces: a dataspace template built once, and one four-partner federation
for the whole session that read-mostly tests share.

Tests that kill, restart or reconfigure connectors start their own federation from a copy of the
template (`fresh_home`), so nothing they do reaches the shared one.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.federation import RunningConnector, federation
from connector.settings import Settings, load_settings, source_root
from tests.clirun import gemello

PARTNERS = ("comune", "cineca", "unibo", "fbk")


@pytest.fixture(scope="session")
def dataspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys, tables and the signed trust list of the four partners, made once per session."""
    from connector.dataspace import init_dataspace

    home = tmp_path_factory.mktemp("template")
    shutil.copytree(source_root() / "deploy", home / "deploy")
    for n, partner in enumerate(PARTNERS, start=1):  # ports of this worker's own (pytest-xdist)
        toml = home / "deploy" / "partners" / f"{partner}.toml"
        toml.write_text(re.sub(r"(?m)^port = \d+$", f"port = {worker_port_base() + n}",
                               toml.read_text()))  # fmt: skip
    init_dataspace(home, PARTNERS, quiet=True)
    return home


def worker_port_base() -> int:
    """Configured ports for this test worker's federations: 18400 + 100 per pytest-xdist
    worker, so two workers never both take a free configured port at once (the demo keeps
    its 840N; a port found taken falls back to a free one anyway)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 18400 + 100 * int(worker.removeprefix("gw") or 0)


def _home_maker(template: Path, factory: pytest.TempPathFactory) -> Callable[..., Path]:
    def make(name: str = "home", extra: str = "") -> Path:
        home = factory.mktemp(name)
        shutil.copytree(template, home, dirs_exist_ok=True)
        if extra:
            for partner in PARTNERS:
                toml = home / "deploy" / "partners" / f"{partner}.toml"
                toml.write_text(toml.read_text() + "\n" + extra + "\n")
        return home

    return make


@pytest.fixture
def fresh_home(
    dataspace_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    """A copy of the template to start a federation of one's own, with extra settings lines
    appended to every partner's TOML."""
    return _home_maker(dataspace_template, tmp_path_factory)


@pytest.fixture(scope="module")
def fresh_home_module(
    dataspace_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    """`fresh_home` for a module-scoped federation."""
    return _home_maker(dataspace_template, tmp_path_factory)


def add_user(home: Path, partner: str, role: str, name: str) -> str:
    """A user on a partner's connector, through the CLI as an operator does it; the token."""
    made = gemello(home, "user", "add", "--partner", partner, "--role", role, "--name", name,
                   "--token-only")  # fmt: skip
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@dataclass
class Federation:
    """A running four-partner federation and its people."""

    home: Path
    conns: list[RunningConnector]
    client: httpx.Client
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)  # (partner, name) -> token

    def url(self, partner: str) -> str:
        return next(c.url for c in self.conns if c.settings.partner == partner)

    def settings(self, partner: str) -> Settings:
        return next(c.settings for c in self.conns if c.settings.partner == partner)

    def user(self, partner: str, role: str, name: str | None = None) -> str:
        """The token of a user (made on first use; the name defaults to the role)."""
        key = (partner, name or role)
        if key not in self.tokens:
            self.tokens[key] = add_user(self.home, partner, role, f"{partner}-{name or role}")
        return self.tokens[key]

    def call(self, method: str, partner: str, path: str, token: str, **kw: Any) -> httpx.Response:
        """A request to a partner's connector as the user whose token this is."""
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        return self.client.request(method, self.url(partner) + path, headers=headers, **kw)

    def until(
        self, fetch: Callable[[], Any], done: Callable[[Any], bool], what: str, timeout: float = 30
    ) -> Any:
        """Poll `fetch` until `done` holds (or fail naming `what` and the last value)."""
        deadline = time.monotonic() + timeout
        while True:
            value = fetch()
            if done(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still {value}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def shared_federation(
    dataspace_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    """The four partners as deployed (noise on), started once for every test that only reads
    or adds its own records. Catalogue crawls are on demand; checkpoints and witnessing every
    2 s, so audit tests need not wait long (every second, the two workers' idle federations
    took a third of a core between them)."""
    home = tmp_path_factory.mktemp("shared")
    shutil.copytree(dataspace_template, home, dirs_exist_ok=True)
    for partner in PARTNERS:
        toml = home / "deploy" / "partners" / f"{partner}.toml"
        toml.write_text(
            toml.read_text() + "\ncatalog_refresh_seconds = 0\naudit_checkpoint_seconds = 2\n"
            "audit_witness_seconds = 2\n"
        )
    settings = [load_settings(p, home) for p in PARTNERS]
    with federation(home, settings) as conns, httpx.Client(timeout=60) as client:
        yield Federation(home, conns, client)
