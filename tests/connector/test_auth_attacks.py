"""The attack table: every known way to fake a connector or a user is refused with a reason.

The receiver is unibo's connector, in process; attackers forge tokens with real keys from the
temp dataspace (cineca's and fbk's, which are members) or keys of their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey

from connector.dataspace import remove_member
from connector.errors import PROBLEM_MEDIA_TYPE
from connector.identity.keys import JWS_ALG, KeyRing, generate_key
from connector.identity.schemas import Role
from connector.settings import load_settings
from tests.conftest import bearer

pytestmark = pytest.mark.anyio

UNIBO = "urn:gemello:bologna:unibo"
CINECA = "urn:gemello:bologna:cineca"
FBK = "urn:gemello:bologna:fbk"
WHOAMI = "/identity/whoami"


def b64(data: bytes | str | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    raw = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Forge:
    """Makes tokens as an attacker (or an honest member) would."""

    home: Path
    keys: dict[str, tuple[str, OKPKey]]  # partner -> (kid, private key)
    user_tokens: dict[Role, str]
    client: httpx.AsyncClient

    def claims(self, **over: Any) -> dict[str, Any]:
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": CINECA,
            "sub": CINECA,
            "aud": UNIBO,
            "iat": now,
            "exp": now + 60,
            "jti": base64.urlsafe_b64encode(hashlib.sha256(str(time.time_ns()).encode()).digest())
            .decode()
            .rstrip("="),
            "act": {"sub": "usr_0123456789abcdef", "role": "researcher"},
        }
        base.update(over)
        return {k: v for k, v in base.items() if v is not None}

    def signed(
        self, partner: str = "cineca", header: dict[str, Any] | None = None, **over: Any
    ) -> str:
        kid, key = self.keys[partner]
        head = {"alg": JWS_ALG, "kid": kid, "typ": "JWT"} | (header or {})
        head = {k: v for k, v in head.items() if v is not None}
        return jwt.encode(head, self.claims(**over), key, algorithms=[JWS_ALG])

    async def get(self, token: str | None, path: str = WHOAMI) -> httpx.Response:
        headers = bearer(token) if token is not None else {}
        return await self.client.get(path, headers=headers)


@pytest.fixture
def forge(home: Path, user_tokens: dict[Role, str], anon_client: httpx.AsyncClient) -> Forge:
    keys = {}
    for partner in ("cineca", "fbk"):
        ring = KeyRing.load(KeyRing.path_for(load_settings(partner, home).resolved_data_dir))
        keys[partner] = (ring.active, ring.private())
    return Forge(home, keys, user_tokens, anon_client)


# --- each attack: build the request, send it, return the response --------------------------


async def no_token(f: Forge) -> httpx.Response:
    return await f.get(None)


async def basic_auth_instead(f: Forge) -> httpx.Response:
    return await f.client.get(WHOAMI, headers={"Authorization": "Basic dW5pYm86c2VjcmV0"})


async def malformed_token(f: Forge) -> httpx.Response:
    return await f.get("eyJhbGciOi.not-json.at-all")


async def garbage_bearer(f: Forge) -> httpx.Response:
    return await f.get("letmein")


async def bad_signature(f: Forge) -> httpx.Response:
    head, _claims, sig = f.signed().split(".")
    escalated = b64(f.claims(act={"sub": "usr_0123456789abcdef", "role": "admin"}))
    return await f.get(f"{head}.{escalated}.{sig}")


async def alg_none(f: Forge) -> httpx.Response:
    kid = f.keys["cineca"][0]
    return await f.get(f"{b64({'alg': 'none', 'kid': kid, 'typ': 'JWT'})}.{b64(f.claims())}.")


async def hs256_with_public_key(f: Forge) -> httpx.Response:
    kid, key = f.keys["cineca"]
    head = b64({"alg": "HS256", "kid": kid, "typ": "JWT"})
    body = b64(f.claims())
    secret = str(key.as_dict(private=False)["x"]).encode()  # the published public key
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return await f.get(f"{head}.{body}.{b64(mac)}")


async def expired(f: Forge) -> httpx.Response:
    now = int(time.time())
    return await f.get(f.signed(iat=now - 120, exp=now - 60))


async def issued_in_future(f: Forge) -> httpx.Response:
    now = int(time.time())
    return await f.get(f.signed(iat=now + 120, exp=now + 150))


async def lifetime_too_long(f: Forge) -> httpx.Response:
    now = int(time.time())
    return await f.get(f.signed(iat=now, exp=now + 3600))


async def wrong_audience(f: Forge) -> httpx.Response:
    return await f.get(f.signed(aud=FBK))


async def audience_as_list(f: Forge) -> httpx.Response:
    return await f.get(f.signed(aud=[UNIBO]))


async def replayed_jti(f: Forge) -> httpx.Response:
    token = f.signed()
    first = await f.get(token)
    assert first.status_code == 200, first.text
    return await f.get(token)


async def unknown_issuer(f: Forge) -> httpx.Response:
    key, _pem = generate_key()
    acme = "urn:gemello:bologna:acme"
    token = jwt.encode(
        {"alg": JWS_ALG, "kid": key.thumbprint()},
        f.claims(iss=acme, sub=acme),
        key,
        algorithms=[JWS_ALG],
    )
    return await f.get(token)


async def iss_not_matching_key(f: Forge) -> httpx.Response:
    # fbk signs, claiming to be cineca
    return await f.get(f.signed("fbk", iss=CINECA, sub=CINECA))


async def sub_not_iss(f: Forge) -> httpx.Response:
    return await f.get(f.signed(sub=FBK))


async def missing_kid(f: Forge) -> httpx.Response:
    return await f.get(f.signed(header={"kid": None}))


async def missing_actor(f: Forge) -> httpx.Response:
    return await f.get(f.signed(act=None))


async def actor_with_unknown_role(f: Forge) -> httpx.Response:
    return await f.get(f.signed(act={"sub": "usr_x", "role": "superuser"}))


async def removed_member(f: Forge) -> httpx.Response:
    token = f.signed("fbk", iss=FBK, sub=FBK)
    remove_member(f.home, "fbk")
    return await f.get(token)


async def tampered_trust_list(f: Forge) -> httpx.Response:
    path = f.home / "var" / "dataspace.toml"
    path.write_text(path.read_text().replace('id = "fbk"', 'id = "fbk2"'))
    return await f.get(f.signed())


async def peer_on_local_only_endpoint(f: Forge) -> httpx.Response:
    return await f.get(f.signed(), "/admin/users")


async def researcher_on_steward_endpoint(f: Forge) -> httpx.Response:
    return await f.client.post(
        "/datasets/register/sync", headers=bearer(f.user_tokens[Role.researcher])
    )


async def researcher_on_admin_endpoint(f: Forge) -> httpx.Response:
    return await f.get(f.user_tokens[Role.researcher], "/admin/users")


async def unknown_user_token(f: Forge) -> httpx.Response:
    return await f.get("gmo_" + "A" * 43)


async def revoked_user_token(f: Forge) -> httpx.Response:
    admin = bearer(f.user_tokens[Role.admin])
    issued = (
        await f.client.post(
            "/admin/users", json={"name": "leaver", "role": "researcher"}, headers=admin
        )
    ).json()
    assert (await f.get(issued["token"])).status_code == 200
    revoked = await f.client.post(f"/admin/tokens/{issued['token_id']}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    return await f.get(issued["token"])


Attack = Callable[[Forge], Awaitable[httpx.Response]]

ATTACKS: list[tuple[Attack, int, str]] = [
    (no_token, 401, "no_token"),
    (basic_auth_instead, 401, "no_token"),
    (malformed_token, 401, "token_malformed"),
    (garbage_bearer, 401, "token_malformed"),
    (bad_signature, 401, "bad_signature"),
    (alg_none, 401, "algorithm_not_allowed"),
    (hs256_with_public_key, 401, "algorithm_not_allowed"),
    (expired, 401, "expired"),
    (issued_in_future, 401, "issued_in_future"),
    (lifetime_too_long, 401, "lifetime_invalid"),
    (wrong_audience, 401, "wrong_audience"),
    (audience_as_list, 401, "audience_not_string"),
    (replayed_jti, 401, "replayed"),
    (unknown_issuer, 403, "issuer_not_member"),
    (iss_not_matching_key, 401, "key_not_issuers"),
    (sub_not_iss, 401, "claims_invalid"),
    (missing_kid, 401, "claims_invalid"),
    (missing_actor, 401, "actor_invalid"),
    (actor_with_unknown_role, 401, "actor_invalid"),
    (removed_member, 403, "issuer_not_member"),
    (tampered_trust_list, 403, "trust_list_invalid"),
    (peer_on_local_only_endpoint, 403, "peer_not_allowed"),
    (researcher_on_steward_endpoint, 403, "role_not_allowed"),
    (researcher_on_admin_endpoint, 403, "role_not_allowed"),
    (unknown_user_token, 401, "token_unknown"),
    (revoked_user_token, 401, "token_revoked"),
]


@pytest.mark.parametrize(
    ("attack", "status", "reason"), ATTACKS, ids=[a.__name__ for a, _, _ in ATTACKS]
)
async def test_attack_is_refused_with_a_reason(
    forge: Forge,
    caplog: pytest.LogCaptureFixture,
    attack: Attack,
    status: int,
    reason: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="gemello.security")
    resp = await attack(forge)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = resp.json()
    assert body["status"] == status
    assert body["reason"] == reason, body
    assert len(body["detail"]) > 15
    if status == 401:
        assert resp.headers["www-authenticate"].startswith("Bearer ")
    refusals = [r for r in caplog.records if r.name == "gemello.security"]
    assert any(getattr(r, "reason", None) == reason for r in refusals), refusals


def test_the_table_covers_the_issue_list() -> None:
    names = {a.__name__ for a, _, _ in ATTACKS}
    required = {
        "no_token",
        "malformed_token",
        "bad_signature",
        "alg_none",
        "hs256_with_public_key",
        "expired",
        "issued_in_future",
        "wrong_audience",
        "audience_as_list",
        "replayed_jti",
        "unknown_issuer",
        "iss_not_matching_key",
        "removed_member",
        "researcher_on_steward_endpoint",
        "revoked_user_token",
    }
    assert required <= names
    assert len(ATTACKS) >= 14
