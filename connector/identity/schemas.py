"""Identity schemas: roles, the authenticated principal, users and their tokens."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from connector.identity.roles import Role
from connector.timestamps import UtcDateTime

__all__ = [
    "USER_NAME_PATTERN",
    "IssuedToken",
    "NewToken",
    "NewUser",
    "Principal",
    "Role",
    "TokenOut",
    "UserOut",
]

USER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$"


class Principal(BaseModel):
    """Who is calling: a local user, or another connector acting for one of its users."""

    kind: Literal["user", "connector"]
    organisation: str = Field(description="participant id of the caller's organisation")
    partner: str = Field(description="short handle of the caller's organisation")
    subject: str = Field(description="pseudonymous id of the acting user")
    role: Role = Field(description="the acting user's role in their own organisation")
    name: str | None = Field(default=None, description="local users only")
    credential: str = Field(description="token id (users) or jti (connectors)")


class NewUser(BaseModel):
    """A user to create."""

    name: str = Field(pattern=USER_NAME_PATTERN, description="unique login-style name")
    role: Role


class UserOut(BaseModel):
    """A user as listed to admins."""

    id: str = Field(description="pseudonymous id, used across connectors")
    name: str
    role: Role
    created_at: UtcDateTime
    active_tokens: int = Field(ge=0)


class TokenOut(BaseModel):
    """A token as listed (never the secret itself)."""

    id: str
    user_id: str
    user_name: str
    label: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class IssuedToken(BaseModel):
    """A new token: the secret appears here once and is stored only as a digest."""

    token: str = Field(description="bearer secret; shown once, store it safely")
    token_id: str
    user: UserOut


class NewToken(BaseModel):
    """Options for a new token of an existing user."""

    label: str = Field(default="", max_length=120)
