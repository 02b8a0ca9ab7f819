"""Trust across real connectors: signed calls over loopback HTTP, replay, rotation, removal.

One four-partner federation of its own serves the whole module (it rotates keys and removes a
member, so it is not the session's shared one); the tests act on it as operators would, with
the `gemello` CLI against the same dataspace home.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from connector.federation import federation as start_federation
from connector.identity.assertions import Actor, make_assertion
from connector.identity.keys import KeyFileSigner
from connector.identity.schemas import Role
from connector.settings import load_settings
from tests.clirun import gemello
from tests.e2e.conftest import PARTNERS

pytestmark = pytest.mark.e2e


@dataclass
class Federation:
    home: Path
    urls: dict[str, str]

    def pid(self, partner: str) -> str:
        return f"urn:gemello:bologna:{partner}"

    def peer_token(self, caller: str, receiver: str) -> str:
        signer = KeyFileSigner(load_settings(caller, self.home).resolved_data_dir)
        actor = Actor(sub="usr_e2e0000000000000", role=Role.researcher)
        return make_assertion(
            signer, self.pid(caller), self.pid(receiver), actor, lambda: datetime.now(UTC)
        )

    def user_token(self, partner: str, name: str, role: str = "researcher") -> str:
        args = ("user", "add", "--partner", partner, "--role", role, "--name", name)
        result = gemello(self.home, *args, "--token-only")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


@pytest.fixture(scope="module")
def federation(fresh_home_module: Callable[..., Path]) -> Iterator[Federation]:
    home = fresh_home_module("trust")
    settings = [load_settings(p, home) for p in PARTNERS]
    with start_federation(home, settings) as conns:
        yield Federation(home, {c.settings.partner: c.url for c in conns})


def test_the_trust_list_carries_the_urls_the_connectors_listen_on(federation: Federation) -> None:
    result = gemello(federation.home, "dataspace", "show")
    assert result.returncode == 0, result.stderr
    assert "signature verified" in result.stdout
    for url in federation.urls.values():
        assert url in result.stdout


def test_a_researcher_asks_the_whole_federation_through_signed_calls(
    federation: Federation,
) -> None:
    token = federation.user_token("comune", "e2e-researcher")
    resp = httpx.get(
        f"{federation.urls['comune']}/federation/datasets",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    members = {m["partner"]: m for m in resp.json()["members"]}
    assert set(members) == {"comune", "cineca", "unibo", "fbk"}
    for partner, m in members.items():
        assert m["status"] == "ok", m
        assert m["page"]["partner"] == partner
        assert m["connector_url"] == federation.urls[partner]
    # without a token the gateway refuses before calling anyone
    anon = httpx.get(f"{federation.urls['comune']}/federation/datasets", timeout=10)
    assert anon.status_code == 401


def test_a_signed_call_over_http_is_accepted_once(federation: Federation) -> None:
    token = federation.peer_token("unibo", "cineca")
    url = f"{federation.urls['cineca']}/identity/whoami"
    first = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert first.status_code == 200, first.text
    assert first.json()["organisation"] == federation.pid("unibo")
    again = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert again.status_code == 401
    assert again.json()["reason"] == "replayed"
    # a token for cineca is worthless at fbk
    elsewhere = httpx.get(
        f"{federation.urls['fbk']}/identity/whoami",
        headers={"Authorization": f"Bearer {federation.peer_token('unibo', 'cineca')}"},
        timeout=10,
    )
    assert elsewhere.json()["reason"] == "wrong_audience"


def test_key_rotation_keeps_the_federation_working(federation: Federation) -> None:
    in_flight = federation.peer_token("comune", "unibo")  # signed with the old key
    result = gemello(federation.home, "keys", "rotate", "--partner", "comune", "--overlap", "120")
    assert result.returncode == 0, result.stderr
    token = federation.user_token("comune", "e2e-after-rotation")
    resp = httpx.get(
        f"{federation.urls['comune']}/federation/datasets",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert all(m["status"] == "ok" for m in resp.json()["members"]), resp.text
    old = httpx.get(
        f"{federation.urls['unibo']}/identity/whoami",
        headers={"Authorization": f"Bearer {in_flight}"},
        timeout=10,
    )
    assert old.status_code == 200, old.text
    jwks = httpx.get(f"{federation.urls['comune']}/.well-known/jwks.json", timeout=10).json()
    assert len(jwks["keys"]) == 2


def test_a_removed_member_is_refused_from_the_next_request(federation: Federation) -> None:
    before = httpx.get(
        f"{federation.urls['cineca']}/identity/whoami",
        headers={"Authorization": f"Bearer {federation.peer_token('fbk', 'cineca')}"},
        timeout=10,
    )
    assert before.status_code == 200
    result = gemello(federation.home, "dataspace", "remove-member", "--id", "fbk")
    assert result.returncode == 0, result.stderr
    after = httpx.get(
        f"{federation.urls['cineca']}/identity/whoami",
        headers={"Authorization": f"Bearer {federation.peer_token('fbk', 'cineca')}"},
        timeout=10,
    )
    assert after.status_code == 403
    assert after.json()["reason"] == "issuer_not_member"
    token = federation.user_token("comune", "e2e-after-removal")
    fed = httpx.get(
        f"{federation.urls['comune']}/federation/datasets",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert {m["partner"] for m in fed["members"]} == {"comune", "cineca", "unibo"}
