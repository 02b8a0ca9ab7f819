"""The audit log in the database, on SQLite and PostgreSQL: appends in the action's transaction,
proofs that verify, and verification that names the entry when anything is tampered with —
edited, deleted, reordered, inserted, rolled back, or rewritten with the signing key in hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from connector.audit import merkle, service
from connector.audit import repository as store
from connector.audit.events import AuditEvent
from connector.identity.keys import generate_key
from connector.storage import make_engine, session_scope, upgrade

LOG = "urn:gemello:bologna:test"
N = 60


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def key() -> Any:
    return generate_key()[0]


def _fill(engine: Engine, key: Any, n: int = N, checkpoint_every: int = 25) -> None:
    """n actions, each queueing its event; the sequencer runs every 7 actions, a checkpoint
    (which integrates what is queued first) every `checkpoint_every`."""
    for i in range(n):
        with session_scope(engine, write=True) as session:
            store.append(
                session,
                AuditEvent(action="policy.aggregate", outcome="allowed", organisation=f"org{i % 3}",
                           dataset="trips", purpose="research", details={"i": i, "name": "Ada"}),
            )  # fmt: skip
            if (i + 1) % checkpoint_every == 0:
                service.issue_checkpoint(session, LOG, key)
        if i % 7 == 6:
            store.integrate_all(engine, limit=3)
    store.integrate_all(engine)


def _verify(engine: Engine, key: Any, heads: list[dict[str, Any]] | None = None) -> service.Report:
    with session_scope(engine) as session:
        return service.verify(session, LOG, {key.thumbprint(): key}, heads)


def _sql(engine: Engine, *statements: str) -> None:
    with session_scope(engine, write=True) as session:
        for s in statements:
            session.execute(text(s))


def test_an_intact_log_verifies_and_its_proofs_check_out(engine: Engine, key: Any) -> None:
    _fill(engine, key)
    report = _verify(engine, key)
    assert report.ok, report.problems
    assert report.entries == N
    assert report.checkpoints == 2
    with session_scope(engine) as session:
        root = store.root(session, N)
        for index in (0, 17, N - 1):
            leaf = bytes.fromhex(store.entries(session, after=index - 1, limit=1)[0].leaf_hash)
            assert merkle.verify_inclusion(index, N, leaf, store.inclusion(session, index, N), root)
        old = store.root(session, 25)
        assert merkle.verify_consistency(25, N, store.consistency(session, 25, N), old, root)
        [entry] = store.entries(session, after=4, limit=1)
        assert entry.detail_map == {"i": 5, "name": "***"}  # personal fields masked


def test_an_action_rolled_back_takes_its_entry_with_it(engine: Engine, key: Any) -> None:
    _fill(engine, key, 3)

    def failing_action() -> None:
        with session_scope(engine, write=True) as session:
            store.append(session, AuditEvent(action="x", outcome="allowed"))
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        failing_action()
    store.integrate_all(engine)
    with session_scope(engine) as session:
        assert store.size(session) == 3
        assert store.queued(session) == 0
    assert _verify(engine, key).ok


def test_concurrent_actions_and_sequencers_leave_a_gap_free_log(engine: Engine, key: Any) -> None:
    """Eight writers queue events while two sequencers integrate them: every committed event
    gets exactly one place, in a log that verifies."""
    import threading

    per_writer = 40
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(k: int) -> None:
        try:
            for i in range(per_writer):
                with session_scope(engine, write=True) as session:
                    store.append(session, AuditEvent(action="w", outcome="ok", target=f"{k}:{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def sequencer() -> None:
        try:
            while not stop.is_set():
                store.integrate_all(engine, limit=16)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    sequencers = [threading.Thread(target=sequencer) for _ in range(2)]
    for t in (*writers, *sequencers):
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in sequencers:
        t.join()
    assert not errors, errors
    with session_scope(engine, write=True) as session:
        service.issue_checkpoint(session, LOG, key)
    with session_scope(engine) as session:
        rows = store.entries(session, limit=10_000)
        assert [r.seq for r in rows] == list(range(8 * per_writer))
        assert sorted(r.target for r in rows) == sorted(
            f"{k}:{i}" for k in range(8) for i in range(per_writer)
        )
    report = _verify(engine, key)
    assert report.ok, report.problems


def test_fields_longer_than_their_columns_are_cut_before_hashing(engine: Engine, key: Any) -> None:
    with session_scope(engine, write=True) as session:
        store.append(session, AuditEvent(action="a" * 100, outcome="ok", target="t" * 1000))
        service.issue_checkpoint(session, LOG, key)
    with session_scope(engine) as session:
        [entry] = store.entries(session)
        assert (len(entry.action), len(entry.target)) == (60, 300)
    assert _verify(engine, key).ok


@pytest.mark.parametrize(
    ("tamper", "first_bad"),
    [
        ("UPDATE audit_entry SET reason = 'nothing to see' WHERE seq = 33", 33),
        ("UPDATE audit_entry SET organisation = 'org9' WHERE seq = 7", 7),
        ("DELETE FROM audit_entry WHERE seq = 41", 41),
        # reorder: entries 10 and 11 swap places (their seq numbers swapped)
        ("UPDATE audit_entry SET seq = -1 WHERE seq = 10;"
         "UPDATE audit_entry SET seq = 10 WHERE seq = 11;"
         "UPDATE audit_entry SET seq = 11 WHERE seq = -1", 10),
        # insert: later entries shifted up by one, a new entry in the gap
        ("UPDATE audit_entry SET seq = seq + 1000 WHERE seq >= 20;"
         "UPDATE audit_entry SET seq = seq - 999 WHERE seq >= 1020;"
         "INSERT INTO audit_entry SELECT 20, at, actor, organisation, role, purpose, action, "
         "target, dataset, outcome, 'inserted', correlation, details, leaf_hash "
         "FROM audit_entry WHERE seq = 19", 20),
    ],
)  # fmt: skip
def test_any_single_change_fails_and_names_the_entry(
    engine: Engine, key: Any, tamper: str, first_bad: int
) -> None:
    _fill(engine, key)
    _sql(engine, *tamper.split(";"))
    report = _verify(engine, key)
    assert not report.ok
    assert report.first_bad == first_bad, report.problems


def test_a_rollback_fails_against_checkpoints_and_witnesses(engine: Engine, key: Any) -> None:
    _fill(engine, key)
    # the last 12 entries and the tree nodes they completed removed, the head put back
    with session_scope(engine, write=True) as session:
        for level in range(0, 7):
            for index in range(48 >> level, (N >> level) + 1):
                if (index + 1) << level > 48 or level == 0 and index >= 48:
                    session.execute(
                        text("DELETE FROM audit_node WHERE key = :k"),
                        {"k": store.key(level, index)},
                    )
        session.execute(text("DELETE FROM audit_entry WHERE seq >= 48"))
        session.execute(text("UPDATE audit_head SET size = 48"))
    report = _verify(engine, key)
    assert not report.ok  # the checkpoint of 50 entries is beyond the log
    assert any("rolled back" in p for p in report.problems)
    # ...and with the checkpoints gone too, the heads other members co-signed still catch it
    _sql(engine, "DELETE FROM audit_checkpoint")
    assert _verify(engine, key).ok  # nothing local is left to contradict it
    witnessed = [{"size": 50, "root": "00" * 32, "witness": "unibo"}]
    report = _verify(engine, key, witnessed)
    assert not report.ok
    assert "unibo co-signed a head of 50 entries; the log has 48 (rolled back)" in report.problems


def test_a_rewrite_with_the_key_in_hand_is_caught_by_the_witnesses(
    engine: Engine, key: Any, tmp_path: Path
) -> None:
    _fill(engine, key, checkpoint_every=60)
    with session_scope(engine) as session:
        witnessed = [{"size": N, "root": store.root(session, N).hex(), "witness": "cineca"}]
    # the attacker rebuilds the whole log with entry 5 changed, and re-signs a checkpoint
    other = make_engine(f"sqlite:///{tmp_path / 'rewritten.db'}")
    upgrade(other)
    with session_scope(engine) as session:
        rows = list(store.entries(session, limit=N))
    for r in rows:
        with session_scope(other, write=True) as session:
            store.append(
                session,
                AuditEvent(action=r.action, outcome=r.outcome, organisation=r.organisation,
                           dataset=r.dataset, purpose=r.purpose,
                           reason="forged" if r.seq == 5 else r.reason, details=r.detail_map),
                at=r.at,
            )  # fmt: skip
    with session_scope(other, write=True) as session:
        service.issue_checkpoint(session, LOG, key)
    assert _verify(other, key).ok  # locally perfect
    report = _verify(other, key, witnessed)
    assert not report.ok
    assert "cineca co-signed another root at size 60 (history rewritten)" in report.problems
    other.dispose()


def test_witnesses_cosign_consistent_heads_and_raise_forks(engine: Engine, key: Any) -> None:
    member_key = generate_key()[0]
    log = [merkle.leaf_hash(str(i).encode()) for i in range(40)]

    def head(n: int, leaves: list[bytes]) -> dict[str, Any]:
        from datetime import UTC, datetime

        from connector.identity.keys import sign_detached

        r = merkle.root(leaves[:n]).hex()
        at = datetime(2026, 12, 2, tzinfo=UTC)
        sig = sign_detached(service.checkpoint_text("urn:m", n, r, at), member_key,
                            service.CHECKPOINT_TYPE)  # fmt: skip
        return {"log": "urn:m", "size": n, "root": r, "at": at.isoformat(), "signature": sig}

    with session_scope(engine, write=True) as session:
        first = service.record_witness(session, "m", head(10, log), None, key, LOG)
        proof = [h.hex() for h in merkle.consistency_proof(10, log[:30])]
        second = service.record_witness(session, "m", head(30, log), proof, key, LOG)
    assert (first.status, second.status) == ("cosigned", "cosigned")
    forked = [*log[:20], *(merkle.leaf_hash(b"other") for _ in range(20))]
    with session_scope(engine, write=True) as session:
        bad_proof = [h.hex() for h in merkle.consistency_proof(30, forked[:35])]
        fork = service.record_witness(session, "m", head(35, forked), bad_proof, key, LOG)
        same_size = service.record_witness(session, "m", head(30, forked), None, key, LOG)
    assert fork.status == "fork"
    assert same_size.status == "fork"
    store.integrate_all(engine)
    with session_scope(engine) as session:
        alerts = store.entries(session, filters={"action": "audit.fork"})
        assert len(alerts) == 2
        assert "forked" in alerts[0].reason
        assert [w.size for w in store.witnessed(session, "m")] == [30, 10]
        assert store.latest_witnessed(session, "m").size == 30  # type: ignore[union-attr]
        # co-signing is recorded in the witness table only: it never grows the witness's log
        assert store.size(session) == 2


def test_the_fast_leaf_encoding_is_canonical_json() -> None:
    """Verification assembles leaf bytes from stored text; they must be the canonical JSON of
    the entry, for any content (quotes, accents, control characters, nesting)."""
    import json
    import random
    from datetime import UTC, datetime

    from connector.audit.events import FIELDS, canonical, leaf_data

    rng = random.Random(7)
    alphabet = ["a", '"', "\\", "è", "\n", "€", "{", " ", "\u0001"]
    for i in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        details = {"k": text, "n": [1, {"z": text, "a": None}], "x": 1.5}
        ev = AuditEvent(**{f: f"{text}{i}" for f in FIELDS}, details=details)
        at = datetime(2026, 12, 2, 7, 0, i % 60, tzinfo=UTC)
        doc = {
            "seq": i,
            "at": at.isoformat(),
            "details": ev.details,
            **{f: getattr(ev, f) for f in FIELDS},
        }
        assert leaf_data(i, at, ev) == canonical(doc).encode()
        assert json.loads(leaf_data(i, at, ev)) == doc
