"""Shared fixtures: dataspace homes, SQLite and a throwaway PostgreSQL cluster, ASGI clients."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connector.app import create_app
from connector.partnerdata.prepare import prepare_partner_data
from connector.settings import Settings, load_settings, source_root
from connector.storage import pgcluster

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


@pytest.fixture(scope="session")
def pg_socket_dir() -> Iterator[Path]:
    """Start a throwaway PostgreSQL cluster; yield the directory of its socket."""
    if not pgcluster.available():
        pytest.skip("initdb/pg_ctl not found: PostgreSQL contract tests need a PostgreSQL server")
    with pgcluster.throwaway_cluster() as sock:
        yield sock


@pytest.fixture
def pg_url(pg_socket_dir: Path) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pgcluster.create_database(pg_socket_dir)


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
