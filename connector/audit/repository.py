"""The audit log's repository, its only SQL: append in the caller's transaction, read nodes
and entries.

An append bumps the one-row head (`UPDATE ... RETURNING`: concurrent appends queue on that row
until the first commits, so sequence numbers have no gaps and no duplicates on SQLite and
PostgreSQL alike), inserts the entry and its leaf hash, and the perfect subtrees the new leaf
completes (one more on average). Nothing is ever updated or deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from connector.audit import merkle
from connector.audit.events import AuditEvent, canonical, leaf_data, mask
from connector.storage.tables import (
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    AuditNode,
    AuditWitness,
    aware,
    utcnow,
)

LEVEL = 1 << 40  # node key = level * LEVEL + index

_HEAD: Any = AuditHead.__table__  # type: ignore[attr-defined]
_NODES: Any = AuditNode.__table__  # type: ignore[attr-defined]
_BUMP = update(_HEAD).where(_HEAD.c.id == 1).values(size=_HEAD.c.size + 1).returning(_HEAD.c.size)
_SIZE = sa_select(_HEAD.c.size).where(_HEAD.c.id == 1)
_INSERT_ENTRY = insert(AuditEntry)
_INSERT_NODE = insert(AuditNode)
_NODE = sa_select(_NODES.c.hash).where(_NODES.c.key == bindparam("k", type_=BigInteger))


def key(level: int, index: int) -> int:
    """The node key of a perfect subtree."""
    return level * LEVEL + index


def append(session: OrmSession, event: AuditEvent, at: datetime | None = None) -> int:
    """Add an event as the next leaf, in the caller's transaction; its sequence number."""
    size = session.execute(_BUMP).scalar_one()
    seq = size - 1
    at = aware(at) if at is not None else utcnow()
    event = AuditEvent(**{**event.__dict__, "details": mask(event.details)})
    leaf = merkle.leaf_hash(leaf_data(seq, at, event))
    session.execute(
        _INSERT_ENTRY,
        {
            "seq": seq,
            "at": at,
            "actor": event.actor[:120],
            "organisation": event.organisation[:200],
            "role": event.role[:20],
            "purpose": event.purpose[:40],
            "action": event.action[:60],
            "target": event.target[:300],
            "dataset": event.dataset[:120],
            "outcome": event.outcome[:20],
            "reason": event.reason,
            "correlation": event.correlation[:200],
            "details": canonical(event.details),
            "leaf_hash": leaf.hex(),
        },
    )
    rows = [{"key": key(0, seq), "hash": leaf.hex()}]
    h = leaf
    for level, index in merkle.completed_parents(seq):
        left = bytes.fromhex(_node(session, level - 1, 2 * index))
        h = merkle.node_hash(left, h)
        rows.append({"key": key(level, index), "hash": h.hex()})
    session.execute(_INSERT_NODE, rows)
    return seq


def _node(session: OrmSession, level: int, index: int) -> str:
    value = session.execute(_NODE, {"k": key(level, index)}).scalar_one_or_none()
    if value is None:
        raise LookupError(f"audit tree node ({level}, {index}) is missing")
    return str(value)


def size(session: Session) -> int:
    """Leaves in the log."""
    return int(session.execute(_SIZE).scalar_one())


def nodes(session: Session, keys: Iterable[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
    """Stored perfect subtrees by (level, index), in one query."""
    wanted = {key(lvl, idx): (lvl, idx) for lvl, idx in keys}
    if not wanted:
        return {}
    rows = session.execute(
        sa_select(_NODES.c.key, _NODES.c.hash).where(_NODES.c.key.in_(list(wanted)))
    ).all()
    return {wanted[k]: bytes.fromhex(h) for k, h in rows}


def _hashes(session: Session, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    needed = {n for lo, hi in ranges for n in merkle.range_nodes(lo, hi)}
    got = nodes(session, needed)
    missing = needed - set(got)
    if missing:
        raise LookupError(f"audit tree nodes missing: {sorted(missing)[:3]}")
    return [merkle.range_hash(lo, hi, got.__getitem__) for lo, hi in ranges]


def root(session: Session, tree_size: int) -> bytes:
    """MTH of the first `tree_size` leaves."""
    if tree_size == 0:
        return merkle.EMPTY_ROOT
    return _hashes(session, [(0, tree_size)])[0]


def inclusion(session: Session, index: int, tree_size: int) -> list[bytes]:
    """PATH(index, D[tree_size]) from the stored tree."""
    return _hashes(session, merkle.path_ranges(index, tree_size))


def consistency(session: Session, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) from the stored tree."""
    return _hashes(session, merkle.consistency_ranges(first, second))


def entries(
    session: Session,
    *,
    after: int = -1,
    limit: int = 100,
    newest_first: bool = False,
    filters: dict[str, Any] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[AuditEntry]:
    """Entries matching exact-field filters and a time window."""
    q = select(AuditEntry).where(col(AuditEntry.seq) > after)
    for name, value in (filters or {}).items():
        q = q.where(getattr(AuditEntry, name) == value)
    if since is not None:
        q = q.where(col(AuditEntry.at) >= since)
    if until is not None:
        q = q.where(col(AuditEntry.at) < until)
    order = col(AuditEntry.seq).desc() if newest_first else col(AuditEntry.seq)
    return session.exec(q.order_by(order).limit(limit)).all()


_ENTRIES: Any = AuditEntry.__table__  # type: ignore[attr-defined]


def batches(session: Session, fields: Sequence[str], batch: int = 20_000) -> Iterator[list[Any]]:
    """Every entry in sequence order, as rows of (seq, at, leaf_hash, *fields), in batches."""
    t = _ENTRIES
    columns = [t.c.seq, t.c.at, t.c.leaf_hash, *(t.c[f] for f in fields)]
    after = -1
    while True:
        rows = session.execute(
            sa_select(*columns).where(t.c.seq > after).order_by(t.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield list(rows)
        after = rows[-1][0]


def level_range(session: Session, level: int, lo: int, hi: int) -> dict[int, str]:
    """Stored nodes of one level with index in [lo, hi): index -> hash hex."""
    base = key(level, 0)
    rows = session.execute(
        sa_select(_NODES.c.key, _NODES.c.hash).where(
            _NODES.c.key >= key(level, lo), _NODES.c.key < key(level, hi)
        )
    ).all()
    return {int(k) - base: str(h) for k, h in rows}


def add_checkpoint(session: Session, checkpoint: AuditCheckpoint) -> None:
    """Store a signed tree head."""
    session.add(checkpoint)


def checkpoints(session: Session) -> Sequence[AuditCheckpoint]:
    """Every checkpoint, oldest first."""
    return session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.size))).all()


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The newest checkpoint."""
    q = select(AuditCheckpoint).order_by(col(AuditCheckpoint.size).desc()).limit(1)
    return session.exec(q).first()


def witnessed(session: Session, partner: str | None = None) -> Sequence[AuditWitness]:
    """Checkpoints of other members this connector co-signed, newest first."""
    q = select(AuditWitness)
    if partner is not None:
        q = q.where(col(AuditWitness.partner) == partner)
    return session.exec(q.order_by(col(AuditWitness.size).desc())).all()


def add_witnessed(session: Session, row: AuditWitness) -> None:
    """Store a co-signed checkpoint of another member (once per size)."""
    if session.get(AuditWitness, (row.partner, row.size)) is None:
        session.add(row)


def digest(data: bytes) -> str:
    """SHA-256 hex of bytes."""
    return hashlib.sha256(data).hexdigest()
