"""Audit events: one schema for everything security-relevant a connector does.

Who (a pseudonymous actor, their organisation and role), why (purpose), what (action on a
target, usually a dataset), how it ended (outcome, reason), when, and a correlation id that is
the same on every connector one federated job or negotiation touched. Request details that could
name a person are masked before anything is written: the log is append-only, so whatever enters
it stays.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Keys whose values could identify a person: masked wherever they appear in `details`.
PERSONAL_KEYS = frozenset(
    {"name", "email", "person_id", "user_name", "subject_name", "phone", "address", "token"}
)
MASK = "***"


def mask(value: Any) -> Any:
    """`value` with personal keys masked, recursively."""
    if isinstance(value, dict):
        return {
            str(k): (MASK if str(k).lower() in PERSONAL_KEYS else mask(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    return value


def mask_ip(host: str) -> str:
    """A client address reduced to its network (/24 or /48): enough to see a pattern."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return MASK
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@dataclass(frozen=True)
class AuditEvent:
    """What happened; `seq` and the time are given when it is appended."""

    action: str
    outcome: str
    organisation: str = ""
    actor: str = ""
    role: str = ""
    purpose: str = ""
    target: str = ""
    dataset: str = ""
    reason: str = ""
    correlation: str = ""
    details: dict[str, Any] = field(default_factory=dict)


FIELDS = ("action", "outcome", "organisation", "actor", "role", "purpose", "target", "dataset",
          "reason", "correlation")  # fmt: skip
_STR = json.encoder.encode_basestring  # the C encoder of json.dumps(ensure_ascii=False)


def canonical(value: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, UTF-8 characters as they are."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# The order `leaf_bytes` takes the fields in: the keys of the leaf's JSON object, sorted, less
# `at`, `details` and `seq`, which it takes apart.
LEAF_ORDER = ("action", "actor", "correlation", "dataset", "organisation", "outcome", "purpose",
              "reason", "role", "target")  # fmt: skip


def leaf_data(seq: int, at: datetime, event: AuditEvent) -> bytes:
    """The bytes a leaf hashes: every field, the position and the time, canonical JSON."""
    return leaf_bytes(
        seq, at.isoformat(), canonical(event.details), *(getattr(event, f) for f in LEAF_ORDER)
    )


def leaf_bytes(
    seq: int, at: str, details: str, action: str, actor: str, correlation: str, dataset: str,
    organisation: str, outcome: str, purpose: str, reason: str, role: str, target: str,
) -> bytes:  # fmt: skip
    """`canonical({seq, at, details, **fields})`, assembled from the stored text of `details`
    with the fields in `LEAF_ORDER`, as a query returns them (verification replays a million
    entries: no JSON parsing; a test checks the bytes equal the canonical JSON)."""
    s = _STR
    return (
        '{"action":' + s(action) + ',"actor":' + s(actor) + ',"at":' + s(at)
        + ',"correlation":' + s(correlation) + ',"dataset":' + s(dataset)
        + ',"details":' + details + ',"organisation":' + s(organisation)
        + ',"outcome":' + s(outcome) + ',"purpose":' + s(purpose)
        + ',"reason":' + s(reason) + ',"role":' + s(role) + ',"seq":' + str(seq)
        + ',"target":' + s(target) + "}"
    ).encode()  # fmt: skip
