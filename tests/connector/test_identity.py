"""Identity that works: peer tokens accepted, key rotation, replay store, users, trust list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from connector.app import create_app
from connector.dataspace import establish_trust
from connector.errors import Unauthenticated
from connector.identity.assertions import (
    MAX_SKEW_S,
    Actor,
    PeerAssertion,
    ReplayStore,
    make_assertion,
)
from connector.identity.auth import Access, public
from connector.identity.keys import KeyFileSigner, KeyRing
from connector.identity.membership import rotate_keys
from connector.identity.schemas import Role
from connector.identity.trustlist import (
    MemberKey,
    TrustList,
    TrustListInvalid,
    TrustStore,
    load_anchor,
    load_trust_list,
    sign,
    verify,
    write_trust_list,
)
from connector.settings import Settings, load_settings
from connector.storage import make_engine, upgrade
from connector.web.security import ConsoleAccess, console_public, portal_page
from tests.conftest import bearer, client_for, path_operations

pytestmark = pytest.mark.anyio

UNIBO = "urn:gemello:bologna:unibo"
CINECA = "urn:gemello:bologna:cineca"
RESEARCHER = Actor(sub="usr_00000000000000aa", role=Role.researcher)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def cineca_token(home: Path, clock: FakeClock | None = None, audience: str = UNIBO) -> str:
    signer = KeyFileSigner(load_settings("cineca", home).resolved_data_dir)
    return make_assertion(
        signer, CINECA, audience, RESEARCHER, clock or (lambda: datetime.now(UTC))
    )


async def test_a_member_connector_is_authenticated_with_its_user_and_role(
    home: Path, anon_client: httpx.AsyncClient
) -> None:
    resp = await anon_client.get("/identity/whoami", headers=bearer(cineca_token(home)))
    assert resp.status_code == 200, resp.text
    who = resp.json()
    assert who["kind"] == "connector"
    assert who["organisation"] == CINECA
    assert who["partner"] == "cineca"
    assert who["subject"] == RESEARCHER.sub
    assert who["role"] == "researcher"


async def test_a_local_user_is_authenticated_with_their_role(client: httpx.AsyncClient) -> None:
    who = (await client.get("/identity/whoami")).json()
    assert who["kind"] == "user"
    assert who["organisation"] == UNIBO
    assert who["role"] == "researcher"
    assert who["subject"].startswith("usr_")
    assert who["name"] == "researcher"


@pytest.mark.parametrize("offset", [-(MAX_SKEW_S - 5), MAX_SKEW_S - 5])
async def test_clock_skew_within_the_allowance_is_accepted(
    home: Path, unibo_settings: Settings, offset: int
) -> None:
    # the caller's clock is `offset` seconds off; the receiver's is real
    caller = FakeClock()
    caller.now += timedelta(seconds=offset) - timedelta(seconds=60 if offset < 0 else 0)
    token = cineca_token(home, caller)
    async for c in client_for(create_app(unibo_settings)):
        assert (await c.get("/identity/whoami", headers=bearer(token))).status_code == 200


@pytest.fixture
async def clocked(unibo_settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FakeClock]]:
    clock = FakeClock()
    async for c in client_for(create_app(unibo_settings, clock=clock)):
        yield c, clock


async def test_the_same_request_works_before_and_after_a_key_rotation(
    home: Path, clocked: tuple[httpx.AsyncClient, FakeClock]
) -> None:
    client, clock = clocked
    cineca = load_settings("cineca", home)
    before = cineca_token(home, clock)
    in_flight = cineca_token(home, clock)  # made before the rotation, sent after it
    assert (await client.get("/identity/whoami", headers=bearer(before))).status_code == 200

    old, new, space = rotate_keys(home, cineca, timedelta(seconds=300), clock)
    assert {k.kid for k in space.member("cineca").keys} == {old, new}
    after = cineca_token(home, clock)
    assert after.split(".")[0] != before.split(".")[0]  # signed with the new kid
    assert (await client.get("/identity/whoami", headers=bearer(after))).status_code == 200
    assert (await client.get("/identity/whoami", headers=bearer(in_flight))).status_code == 200

    # JWKS of cineca publishes both keys during the overlap, the old one with its end
    ring = KeyRing.load(KeyRing.path_for(cineca.resolved_data_dir))
    published = {p.kid: p.not_after for p in ring.published(clock())}
    assert published[new] is None
    assert published[old] is not None

    # past the window, a token signed with the old key is refused
    clock.now += timedelta(seconds=301)
    ring.activate(old)  # a stale signer that missed the rotation
    stale = cineca_token(home, clock)
    resp = await client.get("/identity/whoami", headers=bearer(stale))
    assert resp.status_code == 401
    assert resp.json()["reason"] == "key_retired"


async def test_jwks_publishes_the_active_key(home: Path, anon_client: httpx.AsyncClient) -> None:
    jwks = (await anon_client.get("/.well-known/jwks.json")).json()
    ring = KeyRing.load(KeyRing.path_for(load_settings("unibo", home).resolved_data_dir))
    assert [k["kid"] for k in jwks["keys"]] == [ring.active]
    key = jwks["keys"][0]
    assert key["kty"] == "OKP"
    assert key["crv"] == "Ed25519"
    assert key["alg"] == "Ed25519"
    assert "d" not in key
    assert MemberKey(kid=key["kid"], x=key["x"]).kid == ring.active  # kid is the thumbprint


async def test_a_replay_is_refused_by_another_worker_sharing_the_database(
    home: Path, unibo_settings: Settings
) -> None:
    token = cineca_token(home)
    async for first in client_for(create_app(unibo_settings)):
        assert (await first.get("/identity/whoami", headers=bearer(token))).status_code == 200
    async for second in client_for(create_app(unibo_settings)):
        resp = await second.get("/identity/whoami", headers=bearer(token))
        assert resp.status_code == 401
        assert resp.json()["reason"] == "replayed"


def test_replay_store_contract(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    clock = FakeClock()
    store = ReplayStore(engine, clock)
    seen = PeerAssertion(
        CINECA, "cineca", "j" * 20, "kid", clock.now + timedelta(seconds=90), RESEARCHER
    )
    store.remember(seen)
    with pytest.raises(Unauthenticated, match="already used"):
        store.remember(seen)
    # the same jti from another issuer is a different token
    store.remember(PeerAssertion(UNIBO, "unibo", "j" * 20, "kid", seen.expires_at, RESEARCHER))
    # expired entries are pruned, and only those
    store.PRUNE_EVERY = 1
    clock.now += timedelta(seconds=120)
    store.remember(
        PeerAssertion(
            CINECA, "cineca", "k" * 20, "kid", clock.now + timedelta(seconds=90), RESEARCHER
        )
    )
    store.remember(seen)  # pruned, so accepted again (it would fail the exp check anyway)
    engine.dispose()


def test_every_route_declares_who_may_call_it(unibo_settings: Settings) -> None:
    app = create_app(unibo_settings)
    routes = path_operations(app)
    assert len(routes) > 60, "the walk must reach the included routers' routes"
    for route in routes:
        if route.path.startswith(("/console", "/public")):  # pages: their own rules
            rules = [
                d.dependency
                for d in route.dependencies
                if isinstance(d.dependency, ConsoleAccess)
                or d.dependency in (console_public, portal_page)
            ]
            assert len(rules) == 1, f"{route.path} declares {len(rules)} console rules"
            assert route.description, f"{route.path} has no docstring"
            continue
        if not route.include_in_schema:  # the API docs pages themselves: public by design
            assert route.path.startswith(("/docs", "/redoc", "/openapi", "/static")), route.path
            continue
        rules = [
            d.dependency
            for d in route.dependencies
            if isinstance(d.dependency, Access) or d.dependency is public
        ]
        assert len(rules) == 1, f"{route.path} declares {len(rules)} access rules"
        assert route.description, f"{route.path} has no docstring"


async def test_openapi_documents_bearer_auth_and_problems(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    whoami = spec["paths"]["/identity/whoami"]["get"]
    assert whoami["security"] == [{"HTTPBearer": []}]
    assert {"401", "403"} <= set(whoami["responses"])
    assert "security" not in spec["paths"]["/health"]["get"]


async def test_admins_manage_users_and_tokens_over_the_api(
    anon_client: httpx.AsyncClient, user_tokens: dict[Role, str], unibo_settings: Settings
) -> None:
    admin = bearer(user_tokens[Role.admin])
    created = await anon_client.post(
        "/admin/users", json={"name": "ada", "role": "steward"}, headers=admin
    )
    assert created.status_code == 201, created.text
    issued = created.json()
    assert issued["token"].startswith("gmo_")
    assert issued["user"]["role"] == "steward"
    dup = await anon_client.post(
        "/admin/users", json={"name": "ada", "role": "auditor"}, headers=admin
    )
    assert dup.status_code == 409
    assert dup.json()["type"] == "urn:gemello:problem:conflict"
    bad = await anon_client.post(
        "/admin/users", json={"name": "x y", "role": "king"}, headers=admin
    )
    assert bad.status_code == 422
    # the steward can now sync the register
    sync = await anon_client.post("/datasets/register/sync", headers=bearer(issued["token"]))
    assert sync.status_code == 200
    assert sync.json()["unchanged"] == 3
    listing = (await anon_client.get("/admin/tokens", params={"user": "ada"}, headers=admin)).json()
    assert [t["id"] for t in listing] == [issued["token_id"]]
    assert "token" not in listing[0]
    assert issued["token"] not in str(listing)
    users = {u["name"]: u for u in (await anon_client.get("/admin/users", headers=admin)).json()}
    assert users["ada"]["active_tokens"] == 1
    assert len(users) == 5
    # the secret itself is nowhere in the database file, only its digest
    db = Path(unibo_settings.db_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in db.parent.glob("connector.db*"))
    assert issued["token"].encode() not in raw


async def test_ready_reports_identity_and_fails_on_a_broken_trust_list(
    home: Path, anon_client: httpx.AsyncClient
) -> None:
    ready = (await anon_client.get("/ready")).json()
    assert ready["participant_id"] == UNIBO
    assert ready["trust_list_revision"] >= 1
    path = home / "var" / "dataspace.toml"
    path.write_text(path.read_text().replace("Fondazione", "Fundation"))
    resp = await anon_client.get("/ready")
    assert resp.status_code == 503
    assert "signature does not verify" in resp.json()["detail"]


# --- the trust list itself ------------------------------------------------------------------


def test_trust_list_signature_covers_every_field(home: Path, trust_list: TrustList) -> None:
    anchor = load_anchor(home / "var" / "trust-anchor.json")
    verify(trust_list, anchor)
    for change in (
        {"name": "Other"},
        {"revision": trust_list.revision + 5},
        {"authority": "cineca"},
    ):
        with pytest.raises(TrustListInvalid):
            verify(trust_list.model_copy(update=change), anchor)
    moved = trust_list.model_copy(deep=True)
    moved.members[1].connector_url = "http://evil.example:80"
    with pytest.raises(TrustListInvalid):
        verify(moved, anchor)
    unsigned = trust_list.model_copy(update={"signature": None})
    with pytest.raises(TrustListInvalid, match="not signed"):
        verify(unsigned, anchor)


def test_a_list_signed_by_another_key_is_refused(home: Path, trust_list: TrustList) -> None:
    intruder = KeyRing.load(
        KeyRing.path_for(load_settings("fbk", home).resolved_data_dir)
    ).private()
    forged = sign(trust_list, intruder)
    with pytest.raises(TrustListInvalid, match="not the authority"):
        verify(forged, load_anchor(home / "var" / "trust-anchor.json"))


def test_the_store_refuses_a_rolled_back_list(home: Path, trust_list: TrustList) -> None:
    path = home / "var" / "dataspace.toml"
    store = TrustStore(path, home / "var" / "trust-anchor.json")
    assert store.current().space.revision == trust_list.revision
    comune = load_settings("comune", home)
    newer = rotate_keys(home, comune, timedelta(seconds=60))[2]
    assert store.current().space.revision == newer.revision
    write_trust_list(trust_list, path)  # the old, validly signed list comes back
    with pytest.raises(TrustListInvalid, match="older than revision"):
        store.current()


def test_a_new_trust_anchor_makes_the_store_verify_the_list_again(
    home: Path, trust_list: TrustList
) -> None:
    """The list is believed only while it is signed by the anchor on disk: replace the anchor
    (atomically, as `gemello init` writes it) and a list signed by the old one is refused."""
    import json
    import os

    anchor = home / "var" / "trust-anchor.json"
    store = TrustStore(home / "var" / "dataspace.toml", anchor)
    assert store.current().space.revision == trust_list.revision
    store.current()  # the anchor's thumbprint now cached
    other = KeyRing.load(KeyRing.path_for(load_settings("fbk", home).resolved_data_dir))
    public = other.private().as_dict(private=False)
    fresh = anchor.with_suffix(".new")
    fresh.write_text(json.dumps({**public, "use": "sig"}))
    os.replace(fresh, anchor)
    with pytest.raises(TrustListInvalid, match="not the authority"):
        store.current()


def test_init_keeps_a_removal(home: Path, trust_list: TrustList) -> None:
    from connector.dataspace import remove_member

    remove_member(home, "fbk")
    again = establish_trust(home, [load_settings(p, home) for p in ("comune", "fbk")])
    assert "fbk" not in {m.id for m in again.members}
    assert load_trust_list(home / "var" / "dataspace.toml").revision == again.revision
    del trust_list


def test_a_member_key_must_match_its_thumbprint() -> None:
    with pytest.raises(ValueError, match="thumbprint"):
        MemberKey(kid="not-the-thumbprint", x="11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
