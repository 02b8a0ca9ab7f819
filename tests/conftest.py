"""Shared fixtures: dataspace homes, SQLite and a throwaway PostgreSQL cluster, ASGI clients."""

from __future__ import annotations

import functools
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from connector.identity.trustlist import TrustList, load_trust_list
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


# The partners in-process tests start, built once per session and copied per test (issue 25):
# keys, the signed trust list, their tables and their migrated (empty) databases.
TEMPLATE_PARTNERS = ("unibo", "fbk")


@pytest.fixture(scope="session")
def partner_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with every partner's keys and the signed trust list, and unibo's and fbk's
    tables and databases ready."""
    template = tmp_path_factory.mktemp("partner-template")
    shutil.copytree(REPO / "deploy", template / "deploy")
    establish_trust(template, [load_settings(p, template) for p in PARTNERS])
    for partner in TEMPLATE_PARTNERS:
        s = load_settings(partner, template)
        prepare_partner_data(s.partner, s.resolved_data_dir, s.bologna_dir, s.synthetic_seed)
        with migrated_session(s.db_url):
            pass
    return template


def copy_partner(template: Path, home: Path, partner: str) -> Settings:
    """A partner's tables and database from the template into `home` (whose keys and trust
    list came from the same template); its settings there."""
    src = load_settings(partner, template).resolved_data_dir
    dst = load_settings(partner, home).resolved_data_dir
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return load_settings(partner, home)


@pytest.fixture
def trust_list(home: Path, partner_template: Path) -> TrustList:
    """Keys for the four partners and the signed trust list in the temp home (no tables),
    copied from the session's template."""
    shutil.copytree(
        partner_template / "var",
        home / "var",
        ignore=shutil.ignore_patterns("tables", "connector.db*", "*.json.lock"),
        dirs_exist_ok=True,
    )
    return load_trust_list(load_settings("comune", home).trust_list_path)


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
def unibo_settings(home: Path, partner_template: Path, trust_list: TrustList) -> Settings:
    """unibo's settings with its tables prepared and its database migrated (a copy of the
    session's template)."""
    del trust_list  # keys and trust list must exist before the connector starts
    return copy_partner(partner_template, home, "unibo")


@pytest.fixture
def user_tokens(unibo_settings: Settings) -> dict[Role, str]:
    """One unibo user per role (named after the role); their API tokens."""
    with migrated_session(unibo_settings.db_url) as session:
        return {role: users.add_user(session, role.value, role).token for role in Role}


def path_operations(app: FastAPI) -> list[Any]:
    """Every path operation an app serves, through its included routers (FastAPI 0.165+
    keeps included routers lazily, so `app.routes` alone lists none of them). Each has the
    route's `path` (with prefixes), `methods`, `dependencies`, `include_in_schema` and
    `description`."""
    from fastapi.routing import APIRoute

    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # before 0.165: included routes are flattened into app.routes
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]


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
