"""The audit log's guarantees: signed checkpoints, full verification, witnessing.

* **Checkpoints** (signed tree heads) are issued by the background task every
  `audit_checkpoint_seconds`, or as soon as `audit_checkpoint_entries` new entries arrived. The
  signed text names the log (the participant id), the size, the root and the time.
* **Verification** replays the whole log: every entry's leaf hash is recomputed from its fields,
  every stored tree node from the leaves, every checkpoint's root and signature is checked,
  and the heads other members witnessed must be consistent with this log (a log shorter than
  a witnessed head was rolled back; a different root at a witnessed size was rewritten). The
  first failure names the entry.
* **Witnessing**: each connector fetches the other members' latest checkpoints, checks the
  signature and a consistency proof from the last head it saw, and co-signs. Two different heads
  for one history (a fork) are raised as `audit.fork` events on the witness.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from joserfc.jwk import OKPKey

from connector.audit import merkle
from connector.audit import repository as store
from connector.audit.events import LEAF_ORDER, AuditEvent, leaf_bytes
from connector.identity.keys import SignatureInvalid, detached_kid, sign_detached, verify_detached
from connector.identity.schemas import Role
from connector.storage import Session
from connector.storage.tables import AuditCheckpoint, AuditWitness, aware, utcnow

log = logging.getLogger("gemello.audit")

CHECKPOINT_TYPE = "gemello-checkpoint+jws"
COSIGNATURE_TYPE = "gemello-cosignature+jws"

# Who may read this connector's log (the API's auditors, and the console's audit pages).
READERS = (Role.auditor, Role.steward, Role.admin)


def checkpoint_text(log_id: str, size: int, root_hex: str, at: datetime) -> bytes:
    """What a checkpoint signature covers (a C2SP-style signed note body)."""
    return f"{log_id}\n{size}\n{root_hex}\n{aware(at).isoformat()}\n".encode()


def issue_checkpoint(session: Session, log_id: str, key: OKPKey) -> AuditCheckpoint | None:
    """Integrate what is queued, then sign the tree head, unless the latest checkpoint
    already has this size."""
    store.integrate_pending(session)
    n = store.size(session)
    latest = store.latest_checkpoint(session)
    if n == 0 or (latest is not None and latest.size >= n):
        return None
    root = store.root(session, n).hex()
    at = utcnow()
    cp = AuditCheckpoint(
        size=n,
        root=root,
        at=at,
        signature=sign_detached(checkpoint_text(log_id, n, root, at), key, CHECKPOINT_TYPE),
    )
    store.add_checkpoint(session, cp)
    return cp


def checkpoint_view(cp: AuditCheckpoint, log_id: str) -> dict[str, Any]:
    """A checkpoint as served to other members and auditors."""
    return {
        "log": log_id,
        "size": cp.size,
        "root": cp.root,
        "at": aware(cp.at).isoformat(),
        "signature": cp.signature,
    }


def verify_checkpoint(doc: dict[str, Any], log_id: str, keys: dict[str, OKPKey]) -> None:
    """Raise SignatureInvalid unless `doc` is a checkpoint of `log_id` signed by one of `keys`."""
    kid = detached_kid(str(doc.get("signature", "")))
    if kid not in keys:
        raise SignatureInvalid(f"checkpoint signed with unknown key {kid}")
    at = datetime.fromisoformat(str(doc["at"]))
    text = checkpoint_text(log_id, int(doc["size"]), str(doc["root"]), at)
    verify_detached(str(doc["signature"]), text, keys[kid], CHECKPOINT_TYPE)


# --- full verification ----------------------------------------------------------------------


@dataclass
class Report:
    """The outcome of replaying a log."""

    entries: int = 0
    checkpoints: int = 0
    witnessed: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad: int | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems

    def fail(self, message: str, seq: int | None = None) -> None:
        """Record a problem (the first entry named is kept)."""
        self.problems.append(message)
        if seq is not None and (self.first_bad is None or seq < self.first_bad):
            self.first_bad = seq


def verify(
    session: Session,
    log_id: str,
    keys: dict[str, OKPKey],
    witnessed_heads: list[dict[str, Any]] | None = None,
    max_problems: int = 20,
) -> Report:
    """Replay the log: leaves, tree nodes, checkpoints, heads witnessed by other members."""
    report = Report()
    head_size = store.size(session)
    frontier: list[tuple[int, bytes]] = []  # (level, hash) of the right edge, a compact range
    cps = {cp.size: cp for cp in store.checkpoints(session)}
    report.checkpoints = len(cps)
    roots: dict[int, bytes] = {}
    wanted_sizes = set(cps) | {int(w["size"]) for w in witnessed_heads or []}
    expected = 0
    stop = False
    leaf_hash, node_hash, completed_parents = (
        merkle.leaf_hash,
        merkle.node_hash,
        merkle.completed_parents,
    )
    for rows in store.batches(session, ("details", *LEAF_ORDER)):
        lo, hi = rows[0][0], rows[-1][0] + 1
        leaves = store.level_range(session, 0, lo, hi)
        made: dict[int, list[tuple[int, bytes, int]]] = {}  # level -> (index, hash, seq)
        for row in rows:
            seq = row[0]
            if seq != expected:
                # A gap: every later leaf sits at the wrong place, so the replay stops here.
                report.fail(f"entry {expected} is missing (next is {seq})", expected)
                stop = True
                break
            at = row[1]
            # SQLite hands back naive UTC times: their ISO form plus the offset is what the
            # aware time gives, without building it.
            iso = at.isoformat() + "+00:00" if at.tzinfo is None else at.isoformat()
            leaf = leaf_hash(leaf_bytes(seq, iso, *row[3:]))
            hexed = leaf.hex()
            if hexed != row[2]:
                report.fail(f"entry {seq} was changed: its fields no longer hash to its leaf", seq)
            stored = leaves.get(seq)
            if stored is None:
                report.fail(f"tree node (0, {seq}) is missing", seq)
            elif stored != hexed:
                report.fail(f"tree node (0, {seq}) differs from the entries", seq)
            h, level = leaf, 0
            for lvl, idx in completed_parents(seq):
                _left_level, left = frontier.pop()
                h = node_hash(left, h)
                level = lvl
                made.setdefault(lvl, []).append((idx, h, seq))
            frontier.append((level, h))
            expected = seq + 1
            report.entries += 1
            if expected in wanted_sizes:
                r = frontier[-1][1]
                for _lvl, p in reversed(frontier[:-1]):
                    r = merkle.node_hash(p, r)
                roots[expected] = r
        for level, items in made.items():
            stored_nodes = store.level_range(session, level, items[0][0], items[-1][0] + 1)
            for index, value, seq in items:
                got = stored_nodes.get(index)
                if got != value.hex():
                    what = "is missing" if got is None else "differs from the entries"
                    report.fail(f"tree node ({level}, {index}) {what}", seq)
                    break  # one report per level and batch: the rest would repeat it
        if stop or len(report.problems) >= max_problems:
            break
    if expected != head_size:
        report.fail(f"the head says {head_size} entries, the log has {expected}", expected)
    for size, cp in sorted(cps.items()):
        try:
            verify_checkpoint(checkpoint_view(cp, log_id), log_id, keys)
        except SignatureInvalid as exc:
            report.fail(f"checkpoint {size}: {exc}")
        if size > expected:
            report.fail(
                f"checkpoint {size} is beyond the log's {expected} entries (rolled back)", expected
            )
        elif roots.get(size, b"").hex() != cp.root:
            report.fail(f"checkpoint {size}: the entries no longer give its root", _first_of(size))
    for head in witnessed_heads or []:
        report.witnessed += 1
        size = int(head["size"])
        who = head.get("witness", "a witness")
        if size > expected:
            report.fail(
                f"{who} co-signed a head of {size} entries; the log has {expected} (rolled back)",
                expected,
            )
        elif roots.get(size, b"").hex() != head["root"]:
            report.fail(f"{who} co-signed another root at size {size} (history rewritten)")
    return report


def _first_of(size: int) -> int:
    return max(size - 1, 0)


# --- witnessing --------------------------------------------------------------------------------


def cosign(doc: dict[str, Any], key: OKPKey) -> str:
    """This connector's signature over another member's checkpoint."""
    text = checkpoint_text(str(doc["log"]), int(doc["size"]), str(doc["root"]),
                           datetime.fromisoformat(str(doc["at"])))  # fmt: skip
    return sign_detached(text, key, COSIGNATURE_TYPE)


@dataclass
class WitnessOutcome:
    """What witnessing one member found."""

    partner: str
    status: str  # cosigned, unchanged, fork, invalid, unreachable
    size: int = 0
    detail: str = ""


def record_witness(
    session: Session,
    partner: str,
    doc: dict[str, Any],
    proof: list[str] | None,
    key: OKPKey,
    me: str,
) -> WitnessOutcome:
    """Check a member's checkpoint against the last one seen (consistency proof), co-sign it;
    a fork (an inconsistent head) becomes an `audit.fork` event here."""
    previous = store.latest_witnessed(session, partner)
    size, root_hex = int(doc["size"]), str(doc["root"])
    if previous is not None:
        if size < previous.size:
            return _fork(session, partner, doc, previous, me, "its log shrank")
        if size == previous.size:
            if root_hex != previous.root:
                return _fork(session, partner, doc, previous, me, "two roots for one size")
            return WitnessOutcome(partner, "unchanged", size)
        hashes = [bytes.fromhex(h) for h in proof or []]
        if not merkle.verify_consistency(
            previous.size, size, hashes, bytes.fromhex(previous.root), bytes.fromhex(root_hex)
        ):
            return _fork(session, partner, doc, previous, me, "no consistency with the last head")
    store.add_witnessed(
        session,
        AuditWitness(
            partner=partner,
            size=size,
            root=root_hex,
            at=datetime.fromisoformat(str(doc["at"])),
            signature=str(doc["signature"]),
            cosignature=cosign(doc, key),
        ),
    )
    # The co-signed head is the record (served to the member and to auditors); it is not
    # also an entry of this log. It was once, and then every co-signature grew the witness's
    # log, which the others co-signed in turn: an idle federation's logs grew by N - 1 entries
    # per member every round, for ever (decision 0031). Forks are entries.
    return WitnessOutcome(partner, "cosigned", size)


def _fork(
    session: Session, partner: str, doc: dict[str, Any], previous: AuditWitness, me: str, why: str
) -> WitnessOutcome:
    detail = (
        f"{partner}'s log forked: {why} (seen size {previous.size} root {previous.root[:16]}…, "
        f"now size {doc['size']} root {str(doc['root'])[:16]}…)"
    )
    log.error("AUDIT ALERT: %s", detail)
    store.append(
        session,
        AuditEvent(
            action="audit.fork",
            outcome="alert",
            organisation=me,
            target=str(doc.get("log", partner)),
            reason=detail,
            details={
                "partner": partner,
                "seen": {"size": previous.size, "root": previous.root},
                "now": {"size": doc["size"], "root": doc["root"]},
            },
        ),  # fmt: skip
    )
    return WitnessOutcome(partner, "fork", int(doc["size"]), detail)
