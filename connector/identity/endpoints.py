"""Identity endpoints: published keys, who-am-I, the trust list, and user administration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, Field

from connector.deps import SessionDep, WriteSessionDep
from connector.errors import Forbidden, Problem
from connector.identity import service as users
from connector.identity.auth import (
    ANY_LOCAL_ROLE,
    AUTH_RESPONSES,
    PUBLIC,
    PrincipalDep,
    access,
    identity,
)
from connector.identity.schemas import (
    USER_NAME_PATTERN,
    IssuedToken,
    NewToken,
    NewUser,
    Principal,
    Role,
    TokenOut,
    UserOut,
)
from connector.identity.trustlist import TrustListInvalid

# Who may call what, one line per router.
keys_router = APIRouter(tags=["identity"], dependencies=[PUBLIC])
identity_router = APIRouter(
    tags=["identity"], dependencies=[access(*ANY_LOCAL_ROLE, peers=True)], responses=AUTH_RESPONSES
)
admin_router = APIRouter(
    prefix="/admin", tags=["admin"], dependencies=[access(Role.admin)], responses=AUTH_RESPONSES
)


class Jwks(BaseModel):
    """A JSON Web Key Set (RFC 7517)."""

    keys: list[dict[str, str]]


class TrustedMember(BaseModel):
    """A member as the verified trust list describes it."""

    id: str
    participant_id: str
    legal_name: str
    connector_url: str
    key_ids: list[str] = Field(description="RFC 7638 thumbprints of the member's keys")


class TrustListView(BaseModel):
    """The verified trust list this connector follows."""

    name: str
    authority: str
    revision: int
    issued_at: str | None
    members: list[TrustedMember]


@keys_router.get("/.well-known/jwks.json", response_model=Jwks)
def jwks(request: Request) -> dict[str, Any]:
    """This connector's public signing keys (the active one and any still in overlap)."""
    ctx = identity(request)
    ring = ctx.signer.ring()
    keys = [
        info.jwk() | ({"exp": info.not_after} if info.not_after else {})
        for info in ring.published(ctx.clock())
    ]
    return {"keys": keys}


@identity_router.get("/identity/whoami", response_model=Principal)
def whoami(principal: PrincipalDep) -> Principal:
    """Who this connector thinks you are: organisation, pseudonymous subject and role."""
    return principal


@identity_router.get("/dataspace", response_model=TrustListView)
def dataspace(request: Request) -> TrustListView:
    """The dataspace members this connector trusts (from the signed, verified trust list)."""
    try:
        space = identity(request).trust.current().space
    except TrustListInvalid as exc:
        raise Forbidden(f"the trust list is not valid: {exc}", "trust_list_invalid") from exc
    return TrustListView(
        name=space.name,
        authority=space.authority,
        revision=space.revision,
        issued_at=space.issued_at,
        members=[
            TrustedMember(
                id=m.id,
                participant_id=m.participant_id,
                legal_name=m.legal_name,
                connector_url=m.connector_url,
                key_ids=[k.kid for k in m.keys],
            )
            for m in space.members
        ],
    )


UserName = Annotated[str, Path(pattern=USER_NAME_PATTERN, description="user name")]
TokenId = Annotated[str, Path(pattern=r"^tok_[0-9a-f]{16}$", description="token id")]


@admin_router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep) -> list[UserOut]:
    """List local users with their roles and number of active tokens."""
    return users.list_users(session)


@admin_router.post(
    "/users", response_model=IssuedToken, status_code=201, responses={409: {"model": Problem}}
)
def add_user(new: NewUser, session: WriteSessionDep) -> IssuedToken:
    """Create a user with a first API token (the token is in this response only)."""
    return users.add_user(session, new.name, new.role)


@admin_router.post(
    "/users/{name}/tokens",
    response_model=IssuedToken,
    status_code=201,
    responses={404: {"model": Problem}},
)
def add_token(
    name: UserName, session: WriteSessionDep, body: Annotated[NewToken | None, Body()] = None
) -> IssuedToken:
    """Issue another API token for a user (shown once)."""
    return users.issue_token(session, name, body.label if body else "")


@admin_router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: SessionDep, user: str | None = None) -> list[TokenOut]:
    """List API tokens (never their secrets), optionally of one user."""
    return users.list_tokens(session, user)


@admin_router.post(
    "/tokens/{token_id}/revoke", response_model=TokenOut, responses={404: {"model": Problem}}
)
def revoke_token(token_id: TokenId, session: WriteSessionDep) -> TokenOut:
    """Revoke an API token; it is refused from the next request on."""
    return users.revoke_token(session, token_id)
