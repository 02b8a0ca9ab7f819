"""The dataspace trust list: members, their connector URLs and public keys, signed by the authority.

`deploy/dataspace.toml` is the committed membership (ids, names, URLs); keys are made per
installation, so `gemello init` writes the signed list to `var/dataspace.toml`. The signature is a
detached compact JWS (RFC 7515 appendix F) over a canonical JSON form of everything else in the
file, made with the authority's Ed25519 key. Connectors verify it against the authority's public
key (the trust anchor) before believing a single entry, and follow the file as it changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import tomli_w
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connector.identity.keys import (
    Clock,
    PublicKeyInfo,
    SignatureInvalid,
    generate_key,
    iso,
    load_private,
    sign_detached,
    verify_detached,
    write_json_atomic,
    write_private,
)
from connector.identity.reloading import FileBacked
from connector.settings import PARTNER_ID_PATTERN, ConfigError, describe_validation_error, read_toml
from connector.storage.tables import utcnow

PARTICIPANT_ID_PATTERN = r"^urn:gemello:[a-z0-9-]{1,40}:[a-z][a-z0-9-]{1,30}$"
SIGNATURE_TYPE = "gemello-trust-list+jws"
AUTHORITY_KEY_NAME = "authority-ed25519.pem"


class TrustListInvalid(Exception):
    """The trust list cannot be believed (missing, unsigned, bad signature, rolled back)."""


class MemberKey(BaseModel):
    """A member's public signing key; `kid` is its RFC 7638 thumbprint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kid: str
    kty: Literal["OKP"] = "OKP"
    crv: Literal["Ed25519"] = "Ed25519"
    x: str
    not_after: str | None = Field(default=None, description="end of a rotation overlap window")

    @model_validator(mode="after")
    def _kid_is_thumbprint(self) -> MemberKey:
        if self.public_key().thumbprint() != self.kid:
            raise ValueError(f"kid {self.kid} is not the thumbprint of its key")
        return self

    def public_key(self) -> OKPKey:
        """The key as a joserfc object."""
        return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": self.x})

    def valid_at(self, now: datetime) -> bool:
        """Inside its validity (no end, or the end of its overlap window not reached)."""
        return self.not_after is None or datetime.fromisoformat(self.not_after) > now

    @classmethod
    def of(cls, info: PublicKeyInfo) -> MemberKey:
        """From a key ring's public entry."""
        return cls(kid=info.kid, x=info.x, not_after=info.not_after)


class Member(BaseModel):
    """One partner of the dataspace."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=PARTNER_ID_PATTERN, description="short handle used in configs")
    participant_id: str = Field(pattern=PARTICIPANT_ID_PATTERN)
    legal_name: str = Field(min_length=1)
    connector_url: str = Field(pattern=r"^https?://[^/]+$")
    keys: list[MemberKey] = Field(default_factory=list)


class Signature(BaseModel):
    """Who signed the list, and the detached JWS."""

    model_config = ConfigDict(extra="forbid")

    kid: str
    jws: str


class TrustList(BaseModel):
    """The members and who speaks for the dataspace."""

    model_config = ConfigDict(extra="forbid")

    name: str
    authority: str = Field(pattern=PARTNER_ID_PATTERN)
    revision: int = Field(default=0, ge=0, description="bumped on every signature")
    issued_at: str | None = None
    members: list[Member]
    signature: Signature | None = None

    @model_validator(mode="after")
    def _unique(self) -> TrustList:
        for attr in ("id", "participant_id"):
            values = [getattr(m, attr) for m in self.members]
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate member {attr}: {dupes}")
        if self.authority not in {m.id for m in self.members}:
            raise ValueError(f"authority '{self.authority}' is not a member")
        return self

    def member(self, handle: str) -> Member:
        """Look up one member by handle (ConfigError if absent)."""
        for m in self.members:
            if m.id == handle:
                return m
        raise ConfigError(f"'{handle}' is not a member of the dataspace '{self.name}'")

    def canonical_bytes(self) -> bytes:
        """What the signature covers: every field but the signature, as canonical JSON."""
        body = self.model_dump(mode="json", exclude={"signature"}, exclude_none=True)
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- files ---------------------------------------------------------------------------------


def template_path(home: Path) -> Path:
    """The committed membership (no keys, no signature)."""
    return home / "deploy" / "dataspace.toml"


def load_trust_list(path: Path) -> TrustList:
    """Read and validate a trust-list file (ConfigError on any problem)."""
    try:
        return TrustList.model_validate(read_toml(path))
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from exc


def write_trust_list(space: TrustList, path: Path) -> None:
    """Write a trust-list file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    header = "# Signed by the dataspace authority. Edit with `gemello dataspace`, not by hand:\n"
    header += "# any change by hand breaks the signature and every connector stops trusting it.\n"
    tmp.write_text(header + tomli_w.dumps(space.model_dump(mode="json", exclude_none=True)))
    tmp.replace(path)


# --- signing and verification ----------------------------------------------------------------


def sign(space: TrustList, key: OKPKey, clock: Clock = utcnow) -> TrustList:
    """A copy with the next revision, the issue time and the authority's signature."""
    out = space.model_copy(
        update={"revision": space.revision + 1, "issued_at": iso(clock()), "signature": None}
    )
    detached = sign_detached(out.canonical_bytes(), key, SIGNATURE_TYPE)
    out.signature = Signature(kid=key.thumbprint(), jws=detached)
    return out


def verify(space: TrustList, anchor: OKPKey) -> None:
    """Raise TrustListInvalid unless the authority's key signed exactly this content."""
    if space.signature is None:
        raise TrustListInvalid("the trust list is not signed")
    if space.signature.kid != anchor.thumbprint():
        raise TrustListInvalid(
            f"signed by key {space.signature.kid}, not the authority's {anchor.thumbprint()}"
        )
    try:
        verify_detached(space.signature.jws, space.canonical_bytes(), anchor, SIGNATURE_TYPE)
    except SignatureInvalid as exc:
        raise TrustListInvalid(str(exc)) from exc


# --- the authority's key and the trust anchor ------------------------------------------------


def authority_key_path(authority_data_dir: Path) -> Path:
    """Where the authority keeps the key that signs the list (apart from its connector keys)."""
    return authority_data_dir / "keys" / AUTHORITY_KEY_NAME


def ensure_authority_key(authority_data_dir: Path, anchor_path: Path) -> OKPKey:
    """Load or create the authority key; (re)write the public trust anchor beside the list."""
    path = authority_key_path(authority_data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    if not path.exists():
        _key, pem = generate_key()
        write_private(path, pem)
    key = load_private(path)
    anchor_path.parent.mkdir(parents=True, exist_ok=True)
    public = key.as_dict(private=False)
    write_json_atomic(anchor_path, {**public, "kid": key.thumbprint(), "use": "sig"})
    return key


def load_anchor(path: Path) -> OKPKey:
    """The authority's public key from the trust-anchor file."""
    try:
        data = json.loads(path.read_text())
        key = OKPKey.import_key({k: data[k] for k in ("kty", "crv", "x")})
    except FileNotFoundError as exc:
        raise TrustListInvalid(f"no trust anchor at {path}; run `gemello init`") from exc
    except (ValueError, KeyError, TypeError, JoseError) as exc:
        raise TrustListInvalid(f"{path} is not an Ed25519 public JWK: {exc}") from exc
    if key.is_private:
        raise TrustListInvalid(f"{path} holds a private key; a trust anchor must be public")
    return key


def update_trust_list(
    path: Path,
    authority_key: OKPKey,
    change: Callable[[TrustList], None],
    clock: Clock = utcnow,
) -> TrustList:
    """Load, check the current signature, apply `change`, re-sign and write. Returns the result.

    Refuses to re-sign a list whose signature does not verify: an edit by hand must not be
    laundered into a valid list. A change that changes nothing leaves the file (and its
    revision) as it was.
    """
    space = load_trust_list(path)
    try:
        verify(space, authority_key)
    except TrustListInvalid as exc:
        raise ConfigError(f"{path}: refusing to re-sign: {exc}") from exc
    before = space.canonical_bytes()
    change(space)
    try:
        checked = TrustList.model_validate(space.model_dump())
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from exc
    if checked.canonical_bytes() == before:
        return space
    signed = sign(checked, authority_key, clock)
    write_trust_list(signed, path)
    return signed


# --- the connector's view ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrustedKey:
    """A member key resolved from a verified list."""

    member: Member
    key: MemberKey
    public: OKPKey


@dataclass(frozen=True)
class VerifiedTrustList:
    """A trust list whose signature verified, indexed for request-time lookups."""

    space: TrustList
    by_participant: dict[str, Member] = field(default_factory=dict)
    by_handle: dict[str, Member] = field(default_factory=dict)
    by_kid: dict[str, TrustedKey] = field(default_factory=dict)

    @classmethod
    def of(cls, space: TrustList) -> VerifiedTrustList:
        """Index a list (only call after `verify`)."""
        out = cls(space)
        for m in space.members:
            out.by_participant[m.participant_id] = m
            out.by_handle[m.id] = m
            for k in m.keys:
                out.by_kid[k.kid] = TrustedKey(m, k, k.public_key())
        return out


class TrustStore:
    """The connector's trust list: verified on every change of the file, fail closed.

    Also refuses a list whose revision is lower than one already seen (rollback).
    """

    def __init__(self, list_path: Path, anchor_path: Path) -> None:
        self._anchor = FileBacked(anchor_path, load_anchor)
        self._list = FileBacked(list_path, self._load)
        self._highest = -1
        self._anchor_id: tuple[OKPKey, str] | None = None  # (anchor key, its thumbprint)

    def _load(self, path: Path) -> VerifiedTrustList:
        try:
            space = load_trust_list(path)
        except ConfigError as exc:
            raise TrustListInvalid(str(exc)) from exc
        verify(space, self._anchor.get())
        if space.revision < self._highest:
            raise TrustListInvalid(
                f"revision {space.revision} is older than revision {self._highest} already seen"
            )
        self._highest = space.revision
        return VerifiedTrustList.of(space)

    def _thumbprint(self, anchor: OKPKey) -> str:
        """The anchor key's RFC 7638 thumbprint, computed once per loaded key (it was a JSON
        dump and a SHA-256 on every request)."""
        known = self._anchor_id
        if known is None or known[0] is not anchor:
            known = (anchor, anchor.thumbprint())
            self._anchor_id = known
        return known[1]

    def current(self) -> VerifiedTrustList:
        """The verified list now (TrustListInvalid if it cannot be believed)."""
        try:
            anchor = self._anchor.get()
            current = self._list.get()
            signer = current.space.signature.kid if current.space.signature else None
            if signer != self._thumbprint(anchor):
                # The anchor changed under a list verified with the old one: verify again.
                self._list.invalidate()
                current = self._list.get()
            return current
        except FileNotFoundError as exc:
            raise TrustListInvalid(f"{exc.filename} is missing; run `gemello init`") from exc
