"""Local users and their API tokens: create, list, revoke, and authenticate by token.

Tokens are 256-bit random secrets, so a plain SHA-256 digest is the right thing to store (a slow
password hash would add latency without adding strength). Lookup is by digest.
"""

from __future__ import annotations

import hashlib
import secrets

from connector.errors import Conflict, NotFound, Unauthenticated
from connector.identity.repository import UserRepository
from connector.identity.schemas import IssuedToken, Principal, Role, TokenOut, UserOut
from connector.storage import Session
from connector.storage.tables import ApiToken, UserAccount, utcnow

TOKEN_PREFIX = "gmo_"


def digest(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _user_out(user: UserAccount, active: int) -> UserOut:
    return UserOut(
        id=user.id,
        name=user.name,
        role=Role(user.role),
        created_at=user.created_at,
        active_tokens=active,
    )


def _token_out(token: ApiToken, user: UserAccount) -> TokenOut:
    return TokenOut(
        id=token.id,
        user_id=user.id,
        user_name=user.name,
        label=token.label,
        created_at=token.created_at,
        revoked_at=token.revoked_at,
    )


def _new_token(repo: UserRepository, user: UserAccount, label: str) -> tuple[str, str]:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        id="tok_" + secrets.token_hex(8), user_id=user.id, token_sha256=digest(secret), label=label
    )
    repo.add(row)
    return secret, row.id


def add_user(session: Session, name: str, role: Role, label: str = "") -> IssuedToken:
    """Create a user with a first token (Conflict if the name is taken)."""
    repo = UserRepository(session)
    if repo.by_name(name) is not None:
        raise Conflict(f"a user named '{name}' already exists", name=name)
    user = UserAccount(id="usr_" + secrets.token_hex(8), name=name, role=role.value)
    repo.add(user)
    secret, token_id = _new_token(repo, user, label)
    return IssuedToken(token=secret, token_id=token_id, user=_user_out(user, 1))


def issue_token(session: Session, name: str, label: str = "") -> IssuedToken:
    """Another token for an existing user."""
    repo = UserRepository(session)
    user = repo.by_name(name)
    if user is None:
        raise NotFound(f"no user named '{name}'")
    secret, token_id = _new_token(repo, user, label)
    active = dict((u.id, n) for u, n in repo.users_with_token_counts())[user.id]
    return IssuedToken(token=secret, token_id=token_id, user=_user_out(user, active))


def list_users(session: Session) -> list[UserOut]:
    """Every user with their count of active tokens."""
    return [_user_out(u, n) for u, n in UserRepository(session).users_with_token_counts()]


def list_tokens(session: Session, name: str | None = None) -> list[TokenOut]:
    """Tokens of one user (by name) or of everyone."""
    repo = UserRepository(session)
    user_id = None
    if name is not None:
        user = repo.by_name(name)
        if user is None:
            raise NotFound(f"no user named '{name}'")
        user_id = user.id
    return [_token_out(t, u) for t, u in repo.tokens(user_id)]


def revoke_token(session: Session, token_id: str) -> TokenOut:
    """Revoke a token (idempotent: revoking twice keeps the first time)."""
    repo = UserRepository(session)
    found = repo.token(token_id)
    if found is None:
        raise NotFound(f"no token with id '{token_id}'")
    token, user = found
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        repo.add(token)
    return _token_out(token, user)


def authenticate_token(session: Session, secret: str, organisation: str, partner: str) -> Principal:
    """The local user behind a bearer token, or Unauthenticated with the reason."""
    found = UserRepository(session).token_with_user(digest(secret))
    if found is None:
        raise Unauthenticated("the API token is not known to this connector", "token_unknown")
    token, user = found
    if token.revoked_at is not None:
        raise Unauthenticated(
            f"API token {token.id} of user {user.id} was revoked at "
            f"{token.revoked_at.isoformat(timespec='seconds')}",
            "token_revoked",
        )
    return user_principal(user, token, organisation, partner)


def user_principal(
    user: UserAccount, token: ApiToken, organisation: str, partner: str
) -> Principal:
    """A local user acting with one of their tokens (the API's and the console's view)."""
    return Principal(
        kind="user",
        organisation=organisation,
        partner=partner,
        subject=user.id,
        role=Role(user.role),
        name=user.name,
        credential=token.id,
    )
