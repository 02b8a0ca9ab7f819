"""Shared fixtures: dataspace homes, SQLite and a throwaway PostgreSQL cluster, ASGI clients."""

from __future__ import annotations

import functools
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connector import PARTNERS
from connector.app import create_app
from connector.dataspace import establish_trust
from connector.identity import service as users
from connector.identity.assertions import Actor, make_assertion
from connector.identity.keys import KeyFileSigner
from connector.identity.schemas import Role
from connector.identity.trustlist import TrustList
from connector.partnerdata.prepare import prepare_partner_data
from connector.settings import Settings, load_settings, source_root
from connector.storage import migrated_session, pgcluster

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


@pytest.fixture
def trust_list(home: Path) -> TrustList:
    """Keys for the four partners and the signed trust list in the temp home (no tables)."""
    return establish_trust(home, [load_settings(p, home) for p in PARTNERS])


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
def unibo_settings(make_settings: Callable[..., Settings], trust_list: TrustList) -> Settings:
    """unibo's settings with its tables prepared (small partner: quick to build)."""
    del trust_list  # keys and trust list must exist before the connector starts
    s = make_settings("unibo")
    prepare_partner_data(s.partner, s.resolved_data_dir, s.bologna_dir, s.synthetic_seed)
    return s


@pytest.fixture
def user_tokens(unibo_settings: Settings) -> dict[Role, str]:
    """One unibo user per role (named after the role); their API tokens."""
    with migrated_session(unibo_settings.db_url) as session:
        return {role: users.add_user(session, role.value, role).token for role in Role}


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@functools.lru_cache(maxsize=32)
def _signer(home: Path, partner: str) -> KeyFileSigner:
    return KeyFileSigner(load_settings(partner, home).resolved_data_dir)


def peer_headers(
    home: Path, caller: str, audience: str, role: Role = Role.researcher
) -> dict[str, str]:
    """A fresh signed token of member `caller`'s connector for a call to `audience`."""
    token = make_assertion(
        _signer(home, caller),
        f"urn:gemello:bologna:{caller}",
        f"urn:gemello:bologna:{audience}",
        Actor(sub="usr_00000000000000bb", role=role),
        lambda: datetime.now(UTC),
    )
    return bearer(token)


async def client_for(
    app: FastAPI, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://connector", headers=headers
        ) as client:
            yield client


@pytest.fixture
def app(unibo_settings: Settings) -> FastAPI:
    """A unibo connector app (not started)."""
    return create_app(unibo_settings)


@pytest.fixture
async def client(app: FastAPI, user_tokens: dict[Role, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the started app in process, as unibo's researcher."""
    async for c in client_for(app, bearer(user_tokens[Role.researcher])):
        yield c


@pytest.fixture
async def anon_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with no credentials."""
    async for c in client_for(app):
        yield c
