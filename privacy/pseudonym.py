"""Pseudonymisation: personal identifiers are keyed-hashed when a table is loaded.

HMAC-SHA-256 with a secret that never leaves the connector (`keys/pseudonym.key`, mode 0600), so
the same person gets the same pseudonym within one connector — joins and contribution limits
still work — while nobody without the key can recompute or link it across partners.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pyarrow as pa

KEY_FILE = "pseudonym.key"
PREFIX = "psn_"


def pseudonym_key(data_dir: Path) -> bytes:
    """The connector's pseudonymisation secret, created on first use."""
    path = data_dir / "keys" / KEY_FILE
    if path.is_file():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex())
    return key


def pseudonymise(value: str, key: bytes) -> str:
    """One identifier's pseudonym (128 bits of the HMAC, hex)."""
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def pseudonymise_columns(table: pa.Table, columns: tuple[str, ...], key: bytes) -> pa.Table:
    """The table with each named column replaced by its pseudonyms (nulls stay null)."""
    for name in columns:
        if name not in table.column_names:
            continue
        raw = table[name].to_pylist()
        hashed = pa.array(
            [None if v is None else pseudonymise(str(v), key) for v in raw], type=pa.string()
        )
        table = table.set_column(table.schema.get_field_index(name), name, hashed)
    return table
