"""The audit log's repository, its only SQL: queue in the caller's transaction, sequence
queued events into the tree in batches, read nodes and entries.

Trillian's split. An action's transaction only inserts its event into `audit_queue`: no
global lock, so concurrent actions commit independently (PostgreSQL flushes their commits
together). The sequencer (`integrate`: the server's background loop, every read that must be
complete, the CLI) takes the one-row head's lock (`UPDATE ... RETURNING`, the same on SQLite and
PostgreSQL, so sequence numbers have no gaps and no duplicates), gives a batch of queued events
the next places, writes their entries and leaf hashes and the perfect subtrees they complete,
and deletes them from the queue, in one transaction. Entries and nodes are never updated or
deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from connector.audit import merkle
from connector.audit.events import FIELDS, LEAF_ORDER, AuditEvent, canonical, leaf_bytes, mask
from connector.storage.tables import (
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    AuditNode,
    AuditQueued,
    AuditWitness,
    aware,
    utcnow,
)

LEVEL = 1 << 40  # node key = level * LEVEL + index

_HEAD: Any = AuditHead.__table__  # type: ignore[attr-defined]
_NODES: Any = AuditNode.__table__  # type: ignore[attr-defined]
_QUEUE: Any = AuditQueued.__table__  # type: ignore[attr-defined]
_HOLD = update(_HEAD).where(_HEAD.c.id == 1).values(size=_HEAD.c.size).returning(_HEAD.c.size)
_MOVE = update(_HEAD).where(_HEAD.c.id == 1).values(size=bindparam("n"))
_QUEUE_INSERT = insert(_QUEUE).inline()  # no RETURNING: nobody needs the id
_QUEUE_COUNT = sa_select(func.count()).select_from(_QUEUE)
_ANY_QUEUED = sa_select(_QUEUE.c.id).limit(1)
_SIZE = sa_select(_HEAD.c.size).where(_HEAD.c.id == 1)
_INSERT_ENTRY = insert(AuditEntry.__table__)  # type: ignore[attr-defined]  # Core: no ORM bulk
_INSERT_NODE = insert(_NODES)


def key(level: int, index: int) -> int:
    """The node key of a perfect subtree."""
    return level * LEVEL + index


# Column sizes, from the table: fields are cut to them before they are stored and hashed.
_LIMITS = {c.name: c.type.length for c in _QUEUE.columns if getattr(c.type, "length", None)}


def append(session: OrmSession, event: AuditEvent, at: datetime | None = None) -> None:
    """Queue an event in the caller's transaction (no global lock: concurrent actions commit,
    and share their flushes, independently). `integrate` gives it its place in the log."""
    row = {f: getattr(event, f) for f in FIELDS}
    for name, limit in _LIMITS.items():
        row[name] = row[name][:limit]
    row["at"] = aware(at) if at is not None else utcnow()
    row["details"] = canonical(mask(event.details))
    session.execute(_QUEUE_INSERT, row)


def queued(session: OrmSession) -> int:
    """Events waiting for a place in the log."""
    return int(session.execute(_QUEUE_COUNT).scalar_one())


def integrate(session: OrmSession, limit: int = 5000) -> int:
    """The sequencer: give up to `limit` queued events, oldest first, the next places in the
    log — entries, leaves and completed subtrees written, the head moved, the queue rows
    deleted, all in the caller's transaction. Bumping the head first takes its row lock, so
    concurrent sequencers (several server processes, the CLI) take turns. Returns how many."""
    n = session.execute(_HOLD).scalar_one()
    q = _QUEUE
    rows = session.execute(
        sa_select(q.c.id, q.c.at, q.c.details, *(q.c[f] for f in LEAF_ORDER))
        .order_by(q.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    # The right edge of the tree of n leaves: its perfect subtrees, the only nodes a new
    # leaf's completed parents can need from before this batch.
    wanted = merkle.range_nodes(0, n) if n else []
    edge = nodes(session, wanted)
    if len(edge) != len(wanted):
        raise LookupError(f"audit tree nodes missing: {sorted(set(wanted) - set(edge))[:3]}")
    entries: list[dict[str, Any]] = []
    new_nodes: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        seq = n + i
        at = aware(row[1])
        h = merkle.leaf_hash(leaf_bytes(seq, at.isoformat(), *row[2:]))
        fields = dict(zip(LEAF_ORDER, row[3:], strict=True))
        entries.append({"seq": seq, "at": at, **fields, "details": row[2], "leaf_hash": h.hex()})
        new_nodes.append({"key": key(0, seq), "hash": h.hex()})
        edge[(0, seq)] = h
        for level, index in merkle.completed_parents(seq):
            h = merkle.node_hash(edge.pop((level - 1, 2 * index)), h)
            del edge[(level - 1, 2 * index + 1)]
            edge[(level, index)] = h
            new_nodes.append({"key": key(level, index), "hash": h.hex()})
    session.execute(_INSERT_ENTRY, entries)
    session.execute(_INSERT_NODE, new_nodes)
    session.execute(_MOVE, {"n": n + len(rows)})
    session.execute(q.delete().where(q.c.id.in_([r[0] for r in rows])))
    return len(rows)


def integrate_pending(session: OrmSession, limit: int = 5000) -> int:
    """Integrate every queued event in the caller's (write) transaction; how many."""
    total = 0
    while True:
        got = integrate(session, limit)
        total += got
        if got < limit:
            return total


def integrate_all(engine: Any, limit: int = 5000) -> int:
    """Integrate every queued event, a batch per transaction, skipping the write when the
    queue is empty (the background loop's idle check is one read); how many."""
    from connector.storage import session_scope

    total = 0
    while True:
        with session_scope(engine) as session:
            if not session.execute(_ANY_QUEUED).first():
                return total
        with session_scope(engine, write=True) as session:
            got = integrate(session, limit)
        total += got
        if got < limit:
            return total


def restart(session: Session) -> None:
    """Set the head back to an empty log (for a demo's fresh start, after its tables are
    emptied in the same transaction: the only time a log restarts)."""
    session.execute(_MOVE, {"n": 0})


def size(session: Session) -> int:
    """Leaves in the log."""
    return int(session.execute(_SIZE).scalar_one())


def nodes(session: OrmSession, keys: Iterable[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
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


def rows_by_seq(session: Session, seqs: Sequence[int], fields: Sequence[str]) -> list[Any]:
    """Some entries, in sequence order, as rows of (seq, at, leaf_hash, *fields)."""
    t = _ENTRIES
    columns = [t.c.seq, t.c.at, t.c.leaf_hash, *(t.c[f] for f in fields)]
    wanted = sorted(set(seqs))
    return list(
        session.execute(sa_select(*columns).where(t.c.seq.in_(wanted)).order_by(t.c.seq)).all()
    )


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


def latest_witnessed(session: Session, partner: str) -> AuditWitness | None:
    """The largest head of a member this connector co-signed (one row, however many rounds)."""
    q = select(AuditWitness).where(col(AuditWitness.partner) == partner)
    return session.exec(q.order_by(col(AuditWitness.size).desc()).limit(1)).first()


def add_witnessed(session: Session, row: AuditWitness) -> None:
    """Store a co-signed checkpoint of another member (once per size)."""
    if session.get(AuditWitness, (row.partner, row.size)) is None:
        session.add(row)


def digest(data: bytes) -> str:
    """SHA-256 hex of bytes."""
    return hashlib.sha256(data).hexdigest()
