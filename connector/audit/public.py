"""Proofs a citizen can check: audit entries shown with only their public fields, each with
its leaf hash and its RFC 9162 inclusion proof in a tree whose root other members co-signed.

The leaf hash is computed here from the entry's stored fields, never read from the stored
hash: an entry altered in the database then hashes to a leaf that is not in the co-signed tree,
and the reader's own check fails. The entry's other fields (the acting person's pseudonym, the
request's details) stay private; the public ones are shown beside the hash. Which head: of
those the other members say they co-signed (`Witnessed`), the one most of them signed within
the log's size; a co-signed head longer than the log means it lost entries. Decision 0027 says
what this proves and what it does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Witnessed:
    """What the other members said about this log: each head they co-signed, (size, root) ->
    its co-signers (member, time, co-signature); who could not say, and why; who was asked."""

    heads: dict[tuple[int, str], list[dict[str, Any]]]
    silent: dict[str, str]
    asked: tuple[str, ...]

    @classmethod
    def of(cls, answers: Sequence[Mapping[str, Any]]) -> Witnessed:
        """From the members' answers to `/audit/members/witnessed` (`web.audit.ask_members`)."""
        heads: dict[tuple[int, str], list[dict[str, Any]]] = {}
        silent: dict[str, str] = {}
        for a in answers:
            if a.get("status") != "ok":
                silent[a["member"]] = f"{a.get('status')}: {a.get('detail', '')}"[:160]
                continue
            for h in a.get("items") or []:
                heads.setdefault((int(h["size"]), str(h["root"])), []).append(
                    {"member": a["member"], "at": h.get("at"), "cosignature": h.get("cosignature")}
                )
        return cls(heads, silent, tuple(str(a["member"]) for a in answers))

    def choose(self, size: int) -> dict[str, Any]:
        """Of the co-signed heads within a log of `size` entries, the one the most members
        co-signed, latest first; `rolled_back` when a co-signed head is longer than the log
        (the log lost entries the members saw)."""
        within = {k: v for k, v in self.heads.items() if k[0] <= size}
        rolled_back = any(k[0] > size for k in self.heads)
        silent = dict(self.silent)
        if not within:
            return {"size": 0, "root": "", "cosigners": [], "silent": silent,
                    "rolled_back": rolled_back}  # fmt: skip
        (chosen, root), cosigners = max(within.items(), key=lambda kv: (len(kv[1]), kv[0][0]))
        signed = {c["member"] for c in cosigners}
        for m in self.asked:
            if m not in signed and m not in silent:
                silent[m] = "has not co-signed this head"
        return {"size": chosen, "root": root, "cosigners": cosigners, "silent": silent,
                "rolled_back": rolled_back}  # fmt: skip


def bundle(
    session: Session, seqs: Sequence[int], witnessed: Witnessed, names: Mapping[str, str]
) -> dict[str, Any]:
    """What a reader checks: the chosen co-signed head, the entries below it with their proofs,
    and how many of `seqs` are newer than it (not co-signed yet)."""
    size = log_size(session)
    head = witnessed.choose(size)
    entries = inclusion_proofs(session, seqs, head["size"], names) if head["size"] else []
    return {
        "log_size": size,
        "checkpoint": head,
        "entries": entries,
        "pending": len({s for s in seqs if s >= head["size"]}),
        "algorithm": "RFC 9162 2.1.3.2, SHA-256",
    }
