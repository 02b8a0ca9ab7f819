"""An fbk connector in process (it holds the synthetic trips), and agreements granted on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from catalog.model import Publisher
from connector.app import create_app
from connector.identity import service as users
from connector.identity.schemas import Role
from connector.identity.trustlist import TrustList
from connector.sandbox import record_agreement
from connector.settings import Settings
from connector.storage import migrated_session
from tests.conftest import client_for, copy_partner

FBK = "urn:gemello:bologna:fbk"
UNIBO = "urn:gemello:bologna:unibo"
FBK_PUBLISHER = Publisher(participant_id=FBK, name="fbk", connector_url="http://fbk")


@pytest.fixture
def fbk_settings(home: Path, partner_template: Path, trust_list: TrustList) -> Settings:
    """fbk's settings with its tables prepared and its database migrated (a copy of the
    session's template)."""
    del trust_list
    return copy_partner(partner_template, home, "fbk")


@pytest.fixture
def fbk_app(fbk_settings: Settings) -> FastAPI:
    """fbk's connector app (not started)."""
    return create_app(fbk_settings)


@pytest.fixture
async def fbk(fbk_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the started fbk connector, with no credentials of its own."""
    async for c in client_for(fbk_app):
        yield c


@pytest.fixture
def fbk_tokens(fbk_settings: Settings) -> dict[Role, str]:
    """One fbk user per role; their API tokens."""
    with migrated_session(fbk_settings.db_url) as session:
        return {role: users.add_user(session, role.value, role).token for role in Role}


@pytest.fixture
def grant(fbk_settings: Settings) -> Callable[..., str]:
    """Record an agreement fbk granted (as a finished negotiation would); returns its id."""

    def _grant(consumer: str = UNIBO, dataset: str = "trips", purpose: str = "research") -> str:
        with migrated_session(fbk_settings.db_url) as session:
            return record_agreement(session, FBK_PUBLISHER, dataset, consumer, purpose)

    return _grant
