"""Ed25519 signing keys: created once per partner, private file readable only by its owner."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PRIVATE_NAME = "signing-ed25519.pem"


@dataclass(frozen=True)
class PublicKeyInfo:
    """A public key as the dataspace file and JWKS publish it."""

    kid: str  # RFC 7638 JWK thumbprint
    x: str  # base64url raw public key

    def jwk(self) -> dict[str, str]:
        """The key as an OKP JWK."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.x,
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_info(key: Ed25519PublicKey) -> PublicKeyInfo:
    """Thumbprint (RFC 7638: required members, sorted, no spaces) and x of a public key."""
    x = _b64url(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True
    )
    return PublicKeyInfo(kid=_b64url(hashlib.sha256(canonical.encode()).digest()), x=x)


def ensure_signing_key(data_dir: Path) -> PublicKeyInfo:
    """Load the partner's key, creating it (mode 0600, dir 0700) on first use."""
    keys = data_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    keys.chmod(0o700)
    path = keys / PRIVATE_NAME
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return public_info(loaded.public_key())
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Create with 0600 from the start: no window in which the key is world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return public_info(key.public_key())
