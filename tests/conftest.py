"""Shared fixtures: dataspace homes, SQLite and a throwaway PostgreSQL cluster, ASGI clients."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connector.app import create_app
from connector.partnerdata.prepare import prepare_partner_data
from connector.settings import Settings, load_settings, source_root

REPO = source_root()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the server's loop)."""
    return "asyncio"


@pytest.fixture
def bologna_dir() -> Path:
    """The real Bologna open data in ../shared, or skip."""
    path = REPO.parent / "shared" / "data" / "bologna"
    if not (path / "SOURCES.md").is_file():
        pytest.skip(f"real Bologna data not found at {path} (shared/ is absent)")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh dataspace home with the project's own deploy/ config."""
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    return tmp_path


# --- PostgreSQL: a real cluster on a Unix socket, started once per session ------------------


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="session")
def pg_socket_dir() -> Iterator[Path]:
    """Start a throwaway PostgreSQL cluster; yield the directory of its socket."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("initdb/pg_ctl not found: PostgreSQL contract tests need a PostgreSQL server")
    # Not under pytest's tmp dir: that is 0700 root, and PostgreSQL refuses to run as root.
    base = Path(tempfile.mkdtemp(prefix="gemello-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        base.chmod(0o755)
        prefix = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run([*prefix, *cmd], check=True, capture_output=True)  # noqa: E731
    run(initdb, "-D", str(data), "-A", "trust", "-U", "gemello", "-E", "UTF8", "--no-sync")
    run(
        pg_ctl,
        "-D",
        str(data),
        "-l",
        str(base / "server.log"),
        "-w",
        "-o",
        f"-k {sock} -c listen_addresses='' -c fsync=off -c max_connections=200",
        "start",
    )
    try:
        yield sock
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_socket_dir: Path) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        f"host={pg_socket_dir} user=gemello dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://gemello@/{name}?host={pg_socket_dir}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage contract test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'contract.db'}"
    return str(request.getfixturevalue("pg_url"))


# --- connectors in process ------------------------------------------------------------------


@pytest.fixture
def make_settings(home: Path) -> Callable[..., Settings]:
    """Settings for a partner in the temp home, with optional overrides."""

    def _make(partner: str = "unibo", **overrides: object) -> Settings:
        return load_settings(partner, home, **overrides)

    return _make


@pytest.fixture
def unibo_settings(make_settings: Callable[..., Settings]) -> Settings:
    """unibo's settings with its tables prepared (small partner: quick to build)."""
    s = make_settings("unibo")
    prepare_partner_data(s.partner, s.resolved_data_dir, s.bologna_dir, s.synthetic_seed)
    return s


async def _client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://connector") as client:
            yield client


@pytest.fixture
def app(unibo_settings: Settings) -> FastAPI:
    """A unibo connector app (not started)."""
    return create_app(unibo_settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the started app in process."""
    async for c in _client_for(app):
        yield c
