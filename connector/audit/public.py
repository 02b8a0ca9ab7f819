"""Proofs a citizen can check: audit entries shown with only their public fields, each with
its leaf hash and its RFC 9162 inclusion proof in a tree whose root other members co-signed.

The leaf hash is computed here from the entry's stored fields, never read from the stored
hash: an entry altered in the database then hashes to a leaf that is not in the co-signed tree,
and the reader's own check fails. The entry's other fields (the acting person's pseudonym, the
request's details) stay private; the public ones are shown beside the hash. Decision 0027 says
what this proves and what it does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connector.audit import repository as store
from connector.audit.events import LEAF_ORDER, leaf_bytes
from connector.audit.merkle import leaf_hash
from connector.storage import Session

PUBLIC_FIELDS = ("action", "organisation", "purpose", "dataset", "outcome")
MAX_PROOFS = 100  # the latest entries of one register row


def _iso(at: Any) -> str:
    return at.isoformat() + "+00:00" if at.tzinfo is None else at.isoformat()


def inclusion_proofs(
    session: Session, seqs: Sequence[int], size: int, names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """For each entry below `size` (the latest MAX_PROOFS): its public fields (organisations by
    handle through `names`), the leaf hash of its stored fields, and its audit path in the
    tree of the first `size` entries, hashes in hex."""
    wanted = sorted({s for s in seqs if 0 <= s < size})[-MAX_PROOFS:]
    out = []
    for row in store.rows_by_seq(session, wanted, ("details", *LEAF_ORDER)):
        seq, at = row[0], row[1]
        fields = dict(zip(LEAF_ORDER, row[4:], strict=True))
        leaf = leaf_hash(leaf_bytes(seq, _iso(at), row[3], *row[4:]))
        public = {f: fields[f] for f in PUBLIC_FIELDS}
        if names:
            public["organisation"] = names.get(public["organisation"], public["organisation"])
        out.append(
            {
                "seq": seq,
                "at": _iso(at)[:19] + "Z",
                **public,
                "leaf_hash": leaf.hex(),
                "proof": [h.hex() for h in store.inclusion(session, seq, size)],
            }
        )
    return out


def log_size(session: Session) -> int:
    """Entries in the log."""
    return store.size(session)
