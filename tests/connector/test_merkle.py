"""The RFC 9162 Merkle tree against the published RFC 6962 test vectors, and its proofs over
every size (not only powers of two), including proofs that must fail."""

from __future__ import annotations

import random

import pytest

from connector.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# Reference data of RFC 6962's test vectors: the entries, and the tree heads of sizes 0..8.
ENTRIES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
           "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
LEAVES = [leaf_hash(bytes.fromhex(e)) for e in ENTRIES]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
# (first size, second size, consistency proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip


def test_tree_heads_match_the_published_vectors_including_the_empty_tree() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    for n in range(len(ROOTS)):
        assert root(LEAVES[:n]).hex() == ROOTS[n], f"size {n}"


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_vectors_and_verify(
    index: int, size: int, path: list[str]
) -> None:
    proof = inclusion_proof(index, LEAVES[:size])
    assert [p.hex() for p in proof] == path
    head = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(index, size, LEAVES[index], proof, head)
    assert not verify_inclusion(index, size, LEAVES[index], proof, EMPTY_ROOT)
    assert not verify_inclusion((index + 1) % size, size, LEAVES[index], proof, head)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors_and_verify(
    first: int, second: int, path: list[str]
) -> None:
    proof = consistency_proof(first, LEAVES[:second])
    assert [p.hex() for p in proof] == path
    a, b = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
    assert verify_consistency(first, second, proof, a, b)
    if first != second:
        assert not verify_consistency(first, second, proof, bytes.fromhex(ROOTS[0]), b)


def test_every_proof_of_every_size_verifies_and_a_changed_leaf_fails() -> None:
    rng = random.Random(9162)
    leaves = [leaf_hash(rng.randbytes(rng.randint(0, 40))) for _ in range(70)]
    heads = [root(leaves[:n]) for n in range(len(leaves) + 1)]
    for n in range(1, len(leaves) + 1):
        for i in range(n):
            proof = inclusion_proof(i, leaves[:n])
            assert verify_inclusion(i, n, leaves[i], proof, heads[n])
            assert not verify_inclusion(i, n, leaf_hash(b"forged"), proof, heads[n])
        for m in range(1, n + 1):
            proof = consistency_proof(m, leaves[:n])
            assert verify_consistency(m, n, proof, heads[m], heads[n])
            if m < n:
                # A rewritten history (one earlier leaf changed) is not consistent.
                forged = [*leaves[: m - 1], leaf_hash(b"forged"), *leaves[m:n]]
                assert not verify_consistency(m, n, proof, root(forged[:m]), heads[n])


def test_malformed_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(3, LEAVES[:3])
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(0, LEAVES[:3])
    assert not verify_inclusion(5, 3, LEAVES[0], [], EMPTY_ROOT)
    assert not verify_consistency(3, 2, [], EMPTY_ROOT, EMPTY_ROOT)


@pytest.mark.parametrize("n", [*range(1, 70), 255, 256, 257, 1000])
def test_stored_subtrees_give_the_same_roots_and_proofs(n: int) -> None:
    """The audit store keeps only perfect subtrees; roots and proofs made from them are the
    reference ones for every size."""
    from connector.audit.merkle import (
        completed_parents,
        consistency_ranges,
        node_hash,
        path_ranges,
        range_hash,
    )

    leaves = [leaf_hash(str(i).encode()) for i in range(n)]
    stored: dict[tuple[int, int], bytes] = {}
    for i, leaf in enumerate(leaves):
        stored[(0, i)] = leaf
        for level, index in completed_parents(i):
            stored[(level, index)] = node_hash(
                stored[(level - 1, 2 * index)], stored[(level - 1, 2 * index + 1)]
            )
    get = stored.__getitem__
    assert range_hash(0, n, get) == root(leaves)
    for m in random.Random(n).sample(range(n), min(n, 25)):
        assert [range_hash(a, b, get) for a, b in path_ranges(m, n)] == inclusion_proof(m, leaves)
    for m in random.Random(-n).sample(range(1, n + 1), min(n, 25)):
        got = [range_hash(a, b, get) for a, b in consistency_ranges(m, n)]
        assert got == consistency_proof(m, leaves)
