"""A partner's Ed25519 signing keys: a small key ring with one active key and retiring ones.

Layout under `<data_dir>/keys/` (directory 0700, private files 0600 from the moment they exist):

    ed25519-<kid>.pem   one PKCS#8 private key per kid (kid = RFC 7638 thumbprint)
    keyring.json        {"active": kid, "keys": [{"kid", "created", "not_after"}]}

Rotation adds a key and makes it active; the previous key keeps a `not_after` at the end of an
overlap window, so tokens it signed while in flight still verify. Keys past their window are
pruned (file deleted) at the next rotation.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from connector.identity.reloading import FileBacked
from connector.storage.tables import utcnow

# RFC 9864 "fully specified" name; joserfc flags the polymorphic "EdDSA" as deprecated.
JWS_ALG = "Ed25519"
RING_NAME = "keyring.json"

Clock = Callable[[], datetime]


def iso(ts: datetime) -> str:
    """RFC 3339 with an explicit +00:00 offset (Rego-friendly: no `Z`)."""
    return ts.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class PublicKeyInfo:
    """A public key as the trust list and JWKS publish it."""

    kid: str  # RFC 7638 JWK thumbprint
    x: str  # base64url raw public key
    not_after: str | None = None  # end of the overlap window once the key is being retired

    def jwk(self) -> dict[str, str]:
        """The key as an OKP JWK."""
        out = {"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid}
        out |= {"use": "sig", "alg": JWS_ALG}
        return out


def public_info(key: OKPKey, not_after: str | None = None) -> PublicKeyInfo:
    """Thumbprint and x of a key (private or public)."""
    x = str(key.as_dict(private=False)["x"])
    return PublicKeyInfo(kid=key.thumbprint(), x=x, not_after=not_after)


def generate_key() -> tuple[OKPKey, bytes]:
    """A fresh Ed25519 key and its PKCS#8 PEM."""
    raw = Ed25519PrivateKey.generate()
    pem = raw.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return OKPKey.import_key(pem), pem


def write_private(path: Path, pem: bytes) -> None:
    """Create a private key file with mode 0600 from the start (no world-readable window)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def load_private(path: Path) -> OKPKey:
    """Read a PEM private key, refusing anything but Ed25519."""
    key = OKPKey.import_key(path.read_bytes())
    if key.as_dict(private=False).get("crv") != "Ed25519" or not key.is_private:
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace a JSON file atomically (readers see the old or the new file, never half)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


@dataclass(frozen=True)
class RingEntry:
    """One key of the ring."""

    kid: str
    x: str
    created: str
    not_after: str | None


class KeyRing:
    """The keys of one partner, read from and written to its key directory."""

    def __init__(self, directory: Path, active: str, entries: list[RingEntry]) -> None:
        self.directory = directory
        self.active = active
        self.entries = entries

    # --- files -------------------------------------------------------------------------------

    @staticmethod
    def path_for(data_dir: Path) -> Path:
        """Where a partner's ring file lives."""
        return data_dir / "keys" / RING_NAME

    @staticmethod
    def exists(data_dir: Path) -> bool:
        """Whether a data dir holds a key ring (a connector's identity)."""
        return (data_dir / "keys" / RING_NAME).is_file()

    @classmethod
    def ensure(cls, data_dir: Path, clock: Clock = utcnow) -> KeyRing:
        """Load the ring, creating the directory and a first key if there is none."""
        directory = data_dir / "keys"
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        if (directory / RING_NAME).exists():
            return cls.load(directory / RING_NAME)
        ring = cls(directory, "", [])
        ring._add_key(clock())
        ring.save()
        return ring

    @classmethod
    def load(cls, ring_file: Path) -> KeyRing:
        """Read a ring file."""
        data = json.loads(ring_file.read_text())
        entries = [
            RingEntry(e["kid"], e["x"], e["created"], e.get("not_after")) for e in data["keys"]
        ]
        if data["active"] not in {e.kid for e in entries}:
            raise ValueError(f"{ring_file}: active key {data['active']} is not in the ring")
        return cls(ring_file.parent, data["active"], entries)

    def save(self) -> None:
        """Write the ring file atomically."""
        write_json_atomic(
            self.directory / RING_NAME,
            {"active": self.active, "keys": [e.__dict__ for e in self.entries]},
        )

    def _pem_path(self, kid: str) -> Path:
        return self.directory / f"ed25519-{kid}.pem"

    def _add_key(self, now: datetime, activate: bool = True) -> str:
        key, pem = generate_key()
        info = public_info(key)
        write_private(self._pem_path(info.kid), pem)
        self.entries.append(RingEntry(info.kid, info.x, iso(now), None))
        if activate:
            self.active = info.kid
        return info.kid

    # --- use ---------------------------------------------------------------------------------

    def private(self, kid: str | None = None) -> OKPKey:
        """A private key of the ring (the active one by default)."""
        return load_private(self._pem_path(kid or self.active))

    def published(self, now: datetime) -> list[PublicKeyInfo]:
        """Public keys still inside their validity: the active key and any in its overlap."""
        return [
            PublicKeyInfo(e.kid, e.x, e.not_after)
            for e in self.entries
            if e.not_after is None or datetime.fromisoformat(e.not_after) > now
        ]

    def rotate(
        self, overlap: timedelta, clock: Clock = utcnow, activate: bool = True
    ) -> tuple[str, str]:
        """Add a new key; the current one retires after `overlap`. Returns (old, new) kids.

        With `activate=False` the new key is only published: call `activate` once the trust
        list carries it, so no peer ever sees a token signed by a key it does not know yet.
        """
        now = clock()
        old = self.active
        for e in list(self.entries):
            if e.not_after is not None and datetime.fromisoformat(e.not_after) <= now:
                self._pem_path(e.kid).unlink(missing_ok=True)
                self.entries.remove(e)
        self.entries = [
            RingEntry(e.kid, e.x, e.created, iso(now + overlap)) if e.kid == old else e
            for e in self.entries
        ]
        new = self._add_key(now, activate)
        self.save()
        return old, new

    def activate(self, kid: str) -> None:
        """Sign with `kid` from now on."""
        if kid not in {e.kid for e in self.entries}:
            raise ValueError(f"key {kid} is not in the ring")
        self.active = kid
        self.save()


class Signer(Protocol):
    """Signs with the partner's active key (port: a key file today, an HSM or KMS later)."""

    def active_key(self) -> tuple[str, OKPKey]:
        """The kid and private key to sign with now."""
        ...


class KeyFileSigner:
    """The key-file adapter: follows the ring file, so a rotation applies without a restart."""

    def __init__(self, data_dir: Path) -> None:
        self._ring = FileBacked(KeyRing.path_for(data_dir), KeyRing.load)
        self._cache: tuple[str, OKPKey] | None = None

    def active_key(self) -> tuple[str, OKPKey]:
        """The kid and private key to sign with now."""
        ring = self._ring.get()
        if self._cache is None or self._cache[0] != ring.active:
            self._cache = (ring.active, ring.private())
        return self._cache

    def ring(self) -> KeyRing:
        """The current ring (for publishing the JWKS)."""
        return self._ring.get()


# --- detached signatures (RFC 7515 appendix F) --------------------------------------------------


class SignatureInvalid(ValueError):
    """A detached signature that does not verify for the given content and key."""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign_detached(payload: bytes, key: OKPKey, typ: str) -> str:
    """A compact JWS with the payload left out (`header..signature`)."""
    header = {"alg": JWS_ALG, "kid": key.thumbprint(), "typ": typ}
    head, _payload, sig = jws.serialize_compact(header, payload, key, algorithms=[JWS_ALG]).split(
        "."
    )
    return f"{head}..{sig}"


def detached_kid(signature: str) -> str:
    """The kid named in a detached JWS header (SignatureInvalid if unreadable)."""
    head = signature.partition("..")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        return str(header["kid"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureInvalid("the signature header is unreadable") from exc


def verify_detached(signature: str, payload: bytes, key: OKPKey, typ: str) -> None:
    """Raise SignatureInvalid unless `key` signed exactly `payload` with this `typ`."""
    head, sep, sig = signature.partition("..")
    if not sep:
        raise SignatureInvalid("not a detached JWS (expected 'header..signature')")
    try:
        parsed = jws.deserialize_compact(
            f"{head}.{_b64url(payload)}.{sig}", key, algorithms=[JWS_ALG]
        )
    except (JoseError, ValueError) as exc:
        raise SignatureInvalid(f"signature does not verify ({exc})") from exc
    if parsed.protected.get("typ") != typ:
        raise SignatureInvalid(f"signature is not a {typ} signature")
