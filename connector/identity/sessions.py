"""Web console sessions: a person signs in with their API token and gets a server-side session.

The browser holds only a random secret in an HttpOnly cookie; the database keeps its SHA-256,
the API token the session acts with, a CSRF token, and two clocks: an idle limit (renewed by
use) and an absolute end. Revoking the API token ends every session opened with it, and
signing out ends the session at once. A session acts as exactly the same `Principal` as its
token does over the API, so every role rule applies unchanged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.errors import Unauthenticated
from connector.identity.repository import ConsoleSessionRepository
from connector.identity.schemas import Principal
from connector.identity.service import authenticate_token, digest, user_principal
from connector.storage import Session
from connector.storage.tables import ConsoleSession, aware

# Renewing `last_seen_at` on every page would make every page a write; once a minute is
# enough for an idle limit counted in minutes.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Limits:
    """How long a session lives: idle, and at most."""

    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class SignedIn:
    """A live session: who acts, and the CSRF token its forms carry."""

    principal: Principal
    csrf: str
    session_id: str
    expires_at: datetime
    renew: bool = False  # its idle clock is due to be reset (`touch`)


def open_session(
    session: Session, token: str, organisation: str, partner: str, now: datetime, limits: Limits
) -> tuple[str, SignedIn]:
    """Check the API token (Unauthenticated with the reason otherwise) and open a session for
    its user: the cookie secret (shown once, to the browser) and the signed-in view."""
    principal = authenticate_token(session, token.strip(), organisation, partner)
    secret = secrets.token_urlsafe(32)
    row = ConsoleSession(
        id="ses-" + secrets.token_hex(12),
        secret_sha256=digest(secret),
        token_id=principal.credential,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + limits.absolute,
    )
    ConsoleSessionRepository(session).add(row)
    return secret, SignedIn(principal, row.csrf, row.id, row.expires_at)


def resolve(
    session: Session, secret: str, organisation: str, partner: str, now: datetime, limits: Limits
) -> SignedIn:
    """The live session behind a cookie secret, or Unauthenticated with why not. It only
    reads: a page view takes no write lock unless the idle clock is due (`touch`)."""
    found = ConsoleSessionRepository(session).by_secret(digest(secret))
    if found is None:
        raise Unauthenticated("no such console session", "session_unknown")
    row, token, user = found
    if row.ended_at is not None:
        raise Unauthenticated("this console session was signed out", "session_ended")
    if token.revoked_at is not None:
        raise Unauthenticated("the API token of this session was revoked", "token_revoked")
    if now >= aware(row.expires_at):
        raise Unauthenticated("this console session has expired", "session_expired")
    if now - aware(row.last_seen_at) >= limits.idle:
        raise Unauthenticated("this console session expired after inactivity", "session_idle")
    principal = user_principal(user, token, organisation, partner)
    renew = now - aware(row.last_seen_at) >= TOUCH_EVERY
    return SignedIn(principal, row.csrf, row.id, aware(row.expires_at), renew)


def touch(session: Session, session_id: str, now: datetime) -> None:
    """Reset a session's idle clock (a write, so done only when `resolve` says it is due)."""
    row = ConsoleSessionRepository(session).get(session_id)
    if row is not None:
        row.last_seen_at = now
        ConsoleSessionRepository(session).add(row)


def end_session(session: Session, secret: str, now: datetime) -> bool:
    """Sign out: the session behind this secret ends now (False if there was none live)."""
    found = ConsoleSessionRepository(session).by_secret(digest(secret))
    if found is None or found[0].ended_at is not None:
        return False
    row = found[0]
    row.ended_at = now
    ConsoleSessionRepository(session).add(row)
    return True
