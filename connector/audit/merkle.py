"""Merkle trees as RFC 9162 (Certificate Transparency v2) §2.1 defines them.

Leaves are hashed as SHA-256(0x00 || data) and interior nodes as SHA-256(0x01 || left ||
right); a tree of n leaves splits at the largest power of two below n, so sizes that are not
powers of two have the same, standard shape everywhere. Proof generation follows the RFC's
PATH and PROOF definitions; verification follows its §2.1.3.2 and §2.1.4.2 algorithms, which
need only the proof, the sizes and the roots. Tested against the published RFC 6962 vectors.

The first half works on a list of leaf hashes in memory (the reference); the second serves the
same hashes and proofs from stored perfect subtrees, as the audit log keeps them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """The hash of one log entry."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    return _mth(leaves, 0, len(leaves))


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    k = _split(hi - lo)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` in the tree of `leaves`."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    return _path(index, leaves, 0, len(leaves))


def _path(m: int, leaves: Sequence[bytes], lo: int, hi: int) -> list[bytes]:
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, leaves, lo, lo + k), _mth(leaves, lo + k, hi)]
    return [*_path(m - k, leaves, lo + k, hi), _mth(leaves, lo, lo + k)]


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of the first `first` leaves is a prefix of this one."""
    if not 0 < first <= len(leaves):
        raise ValueError(f"no consistency proof from {first} to {len(leaves)}")
    return _subproof(first, leaves, 0, len(leaves), True)


def _subproof(m: int, leaves: Sequence[bytes], lo: int, hi: int, whole: bool) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if whole else [_mth(leaves, lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves, lo, lo + k, whole), _mth(leaves, lo + k, hi)]
    return [*_subproof(m - k, leaves, lo + k, hi, False), _mth(leaves, lo, lo + k)]


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    while fn & 1 == 0 and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` put `leaf` at `index` of the tree with this root?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_while_even(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of size `first` a prefix of the one of size `second`?"""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the first root is a node of the proof
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_while_even(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


# --- trees kept in a store: every perfect, aligned subtree is a node (level, index) -----------
#
# In the RFC's recursion every range [lo, hi) starts at a multiple of its left part's size, so a
# range is a chain of perfect subtrees along its right edge. A store that keeps each perfect
# subtree's hash once it is complete can serve any MTH, proof or root with O(log n) lookups.

NodeKey = tuple[int, int]  # (level, index): leaves [index * 2**level, (index + 1) * 2**level)


def range_nodes(lo: int, hi: int) -> list[NodeKey]:
    """The perfect subtrees MTH(D[lo:hi]) is made of, left to right."""
    out: list[NodeKey] = []
    while hi - lo > 0:
        n = hi - lo
        if n & (n - 1) == 0:
            level = n.bit_length() - 1
            out.append((level, lo >> level))
            break
        k = _split(n)
        level = k.bit_length() - 1
        out.append((level, lo >> level))
        lo += k
    return out


def range_hash(lo: int, hi: int, node: Callable[[NodeKey], bytes]) -> bytes:
    """MTH(D[lo:hi]) from stored perfect subtrees (folded from the right, as the RFC splits)."""
    if hi <= lo:
        return EMPTY_ROOT
    parts = [node(k) for k in range_nodes(lo, hi)]
    h = parts[-1]
    for p in reversed(parts[:-1]):
        h = node_hash(p, h)
    return h


def path_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The ranges whose hashes make PATH(m, D[n]), in proof order."""
    if not 0 <= m < n:
        raise ValueError(f"leaf {m} is not in a tree of {n}")
    out: list[tuple[int, int]] = []
    lo, hi = 0, n
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    return list(reversed(out))


def consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The ranges whose hashes make PROOF(m, D[n]), in proof order."""
    if not 0 < m <= n:
        raise ValueError(f"no consistency proof from {m} to {n}")
    out: list[tuple[int, int]] = []
    lo, hi, whole = 0, n, True
    while True:
        size = hi - lo
        if m == size:
            if not whole:
                out.append((lo, hi))
            break
        k = _split(size)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            m -= k
            lo += k
            whole = False
    return list(reversed(out))


def completed_parents(index: int) -> list[NodeKey]:
    """The nodes that become complete when leaf `index` is appended, lowest first."""
    out: list[NodeKey] = []
    level = 0
    while index & 1:
        index >>= 1
        level += 1
        out.append((level, index))
    return out
