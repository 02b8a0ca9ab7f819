#!/usr/bin/env python3
"""Check a Gemello portal's audit proofs yourself: the same check the portal's page runs in the
browser, with nothing but Python's standard library.

    python3 verify_proofs.py https://connector.example/public/results/<id>/proofs
    python3 verify_proofs.py 'https://connector.example/public/data-use/proofs?dataset=trips&organisation=unibo&purpose=research'

It fetches the bundle (the head of the connector's log that the other members co-signed, and
each entry's public fields, leaf hash and audit path), checks every path with SHA-256 as RFC 9162
section 2.1.3.2 says, and exits 0 when every entry is in the co-signed tree and the log is not
shorter than any head the members co-signed, 1 otherwise.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 2.1.1: an interior node is SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does `proof` lead from leaf `index` to `root` in a tree of `size`?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def main(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as answer:
        bundle = json.load(answer)
    head = bundle["checkpoint"]
    if head.get("rolled_back"):
        print("BAD: the log is shorter than a head the other members co-signed (entries lost)")
    if not head["size"]:
        print("no other member has co-signed this log yet")
        return 1
    who = ", ".join(c["member"] for c in head["cosigners"])
    print(f"log {bundle['log']}: head of {head['size']} entries, root {head['root']}")
    print(f"co-signed by: {who}")
    root = bytes.fromhex(head["root"])
    bad = 0
    for e in bundle["entries"]:
        ok = verify_inclusion(
            e["seq"], head["size"], bytes.fromhex(e["leaf_hash"]),
            [bytes.fromhex(h) for h in e["proof"]], root,
        )  # fmt: skip
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} #{e['seq']} {e['at']} {e['action']} {e['organisation']} "
              f"{e['purpose']} {e['outcome']}")  # fmt: skip
    if bundle.get("pending"):
        print(f"{bundle['pending']} newer entries are not co-signed yet")
    print(f"{len(bundle['entries']) - bad} of {len(bundle['entries'])} entries verified")
    return 1 if bad or head.get("rolled_back") else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
