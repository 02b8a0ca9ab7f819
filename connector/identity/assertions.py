"""Connector-to-connector tokens: RFC 7523 client assertions, made with authlib, checked strictly.

Every call between connectors carries one short-lived JWT:

    header  {"alg": "Ed25519", "kid": <thumbprint of the caller's key>, "typ": "JWT"}
    claims  iss = sub = caller participant id, aud = receiver participant id (one string),
            iat, exp (at most 60 s after iat), jti, act = {"sub": user pseudonym, "role": role}

The receiver pins the algorithm, takes the key only from the verified trust list (the key must
belong to the member named in `iss`), allows 30 s of clock skew, and refuses a `jti` it has
seen (the replay store lives in the database; see `ReplayStore`). Each refusal carries a stable
reason code for the audit log and a sentence for people.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.errors import Forbidden, Unauthenticated
from connector.identity.keys import JWS_ALG, Clock, Signer
from connector.identity.repository import ReplayRepository
from connector.identity.schemas import Role
from connector.identity.trustlist import TrustedKey, TrustListInvalid, TrustStore
from connector.storage import session_scope
from connector.storage.tables import utcnow

MAX_LIFETIME_S = 60
MAX_SKEW_S = 30
JTI_MIN, JTI_MAX = 16, 120


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf a connector calls: a pseudonym and their role at home."""

    sub: str
    role: Role


def make_assertion(
    signer: Signer,
    issuer: str,
    audience: str,
    actor: Actor,
    clock: Clock = utcnow,
    lifetime_s: int = MAX_LIFETIME_S,
) -> str:
    """A signed token for one call from `issuer` to `audience`."""
    kid, key = signer.active_key()
    iat = int(clock().timestamp())
    return str(
        private_key_jwt_sign(
            key,
            issuer,
            audience,
            alg=JWS_ALG,
            header={"kid": kid},
            claims={
                "jti": secrets.token_urlsafe(24),
                "act": {"sub": actor.sub, "role": actor.role},
            },
            issued_at=iat,
            expires_at=iat + lifetime_s,
        )
    )


@dataclass(frozen=True)
class PeerAssertion:
    """A verified token: who called, for whom, and until when its jti must be remembered."""

    issuer: str
    partner: str
    jti: str
    kid: str
    expires_at: datetime
    actor: Actor


def _b64json(segment: str) -> Any:
    pad = "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(segment + pad))


def _refuse(detail: str, reason: str) -> Unauthenticated:
    return Unauthenticated(detail, reason)


def _int_claim(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    # bool is an int in Python; a JSON `true` is not a time.
    if not isinstance(value, int) or isinstance(value, bool):
        raise _refuse(f"claim '{name}' must be a NumericDate (integer seconds)", "claims_invalid")
    return value


class AssertionVerifier:
    """Checks incoming connector tokens for one receiving connector."""

    def __init__(self, trust: TrustStore, own_partner: str, clock: Clock = utcnow) -> None:
        self.trust = trust
        self.own_partner = own_partner
        self.clock = clock

    def verify(self, token: str) -> PeerAssertion:
        """Verify signature and claims (not the replay check: see `ReplayStore.remember`)."""
        header, claims = self._peek(token)
        alg = header.get("alg")
        if alg != JWS_ALG:
            raise _refuse(
                f"algorithm {alg!r} is not accepted; connectors sign with {JWS_ALG}",
                "algorithm_not_allowed",
            )
        kid, issuer = header.get("kid"), claims.get("iss")
        if not isinstance(kid, str) or not isinstance(issuer, str):
            raise _refuse("the token needs a 'kid' header and an 'iss' claim", "claims_invalid")
        try:
            trust = self.trust.current()
        except TrustListInvalid as exc:
            raise Forbidden(
                f"this connector cannot verify callers: the trust list is not valid ({exc})",
                "trust_list_invalid",
            ) from exc
        me = trust.by_handle.get(self.own_partner)
        if me is None:
            raise Forbidden(
                f"this connector ('{self.own_partner}') is not on the dataspace trust list",
                "receiver_not_member",
            )
        member = trust.by_participant.get(issuer)
        if member is None:
            raise Forbidden(
                f"issuer '{issuer}' is not a member of the dataspace "
                f"(trust list revision {trust.space.revision})",
                "issuer_not_member",
            )
        trusted = trust.by_kid.get(kid)
        if trusted is None or trusted.member.participant_id != issuer:
            raise _refuse(
                f"key {kid} is not a key of '{issuer}' on the trust list", "key_not_issuers"
            )
        now = self.clock()
        if not trusted.key.valid_at(now):
            raise _refuse(
                f"key {kid} of '{issuer}' was retired at {trusted.key.not_after}", "key_retired"
            )
        verified = self._verify_signature(token, trusted)
        return self._check_claims(verified, me.participant_id, trusted, kid, now)

    @staticmethod
    def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        parts = token.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            raise _refuse("the bearer token is not a compact JWS (three parts)", "token_malformed")
        try:
            header, claims = _b64json(parts[0]), _b64json(parts[1])
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise _refuse(
                "the token's header or claims are not base64url JSON", "token_malformed"
            ) from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _refuse("the token's header and claims must be JSON objects", "token_malformed")
        return header, claims

    @staticmethod
    def _verify_signature(token: str, trusted: TrustedKey) -> dict[str, Any]:
        try:
            return dict(jwt.decode(token, trusted.public, algorithms=[JWS_ALG]).claims)
        except JoseError as exc:
            raise _refuse(
                f"signature does not verify with key {trusted.key.kid} of "
                f"'{trusted.member.participant_id}'",
                "bad_signature",
            ) from exc
        except ValueError as exc:
            raise _refuse(f"the token cannot be decoded: {exc}", "token_malformed") from exc

    @staticmethod
    def _check_claims(
        claims: dict[str, Any], audience: str, trusted: TrustedKey, kid: str, now: datetime
    ) -> PeerAssertion:
        issuer = trusted.member.participant_id
        if claims.get("sub") != issuer:
            raise _refuse("claim 'sub' must equal 'iss' (the calling connector)", "claims_invalid")
        aud = claims.get("aud")
        if not isinstance(aud, str):
            raise _refuse(
                f"claim 'aud' must be a single string (this connector's id), got {aud!r}",
                "audience_not_string",
            )
        if aud != audience:
            raise _refuse(
                f"token is for '{aud}', not for this connector ('{audience}')", "wrong_audience"
            )
        iat, exp = _int_claim(claims, "iat"), _int_claim(claims, "exp")
        if exp - iat > MAX_LIFETIME_S or exp <= iat:
            raise _refuse(
                f"token lifetime {exp - iat} s is outside (0, {MAX_LIFETIME_S}] s",
                "lifetime_invalid",
            )
        t = now.timestamp()
        if iat > t + MAX_SKEW_S:
            raise _refuse(
                f"token issued {iat - t:.0f} s in the future (allowed skew {MAX_SKEW_S} s)",
                "issued_in_future",
            )
        if exp < t - MAX_SKEW_S:
            raise _refuse(f"token expired {t - exp:.0f} s ago", "expired")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not JTI_MIN <= len(jti) <= JTI_MAX:
            raise _refuse(
                f"claim 'jti' must be a string of {JTI_MIN}-{JTI_MAX} characters", "claims_invalid"
            )
        act = claims.get("act")
        role = act.get("role") if isinstance(act, dict) else None
        sub = act.get("sub") if isinstance(act, dict) else None
        if (
            not isinstance(sub, str)
            or not sub
            or not isinstance(role, str)
            or role not in Role.__members__
        ):
            raise _refuse(
                "claim 'act' must name the acting user's pseudonym ('sub') and role",
                "actor_invalid",
            )
        return PeerAssertion(
            issuer=issuer,
            partner=trusted.member.id,
            jti=jti,
            kid=kid,
            expires_at=datetime.fromtimestamp(exp + MAX_SKEW_S, UTC),
            actor=Actor(sub=sub, role=Role(role)),
        )


class ReplayStore:
    """Remembers accepted (issuer, jti) pairs in the connector database."""

    PRUNE_EVERY = 256

    def __init__(self, engine: Engine, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self._count = 0

    def remember(self, assertion: PeerAssertion) -> None:
        """Record the token id in its own committed transaction; refuse a second use."""
        with session_scope(self.engine, write=True) as session:
            self.record(session, assertion)

    def record(self, session: Session, assertion: PeerAssertion) -> None:
        """Record the token id in the caller's transaction (which must not commit if this
        raises); refuse a second use."""
        self._count += 1
        repo = ReplayRepository(cast(Any, session))  # a sqlmodel Session at run time
        if self._count % self.PRUNE_EVERY == 0:
            repo.prune(self.clock() - timedelta(seconds=1))
        try:
            repo.insert(assertion.issuer, assertion.jti, assertion.expires_at)
        except IntegrityError as exc:
            raise _refuse(
                f"token {assertion.jti} from '{assertion.issuer}' was already used (replay)",
                "replayed",
            ) from exc
