"""A connector's health as an admin reads it, one check per part: the database and its
schema, the policy engine, the executors, the outbox of messages to other members, and the
audit log's checkpoints. The console's admin page gathers the figures and asks the other
members how far they co-signed the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from connector.storage import current_revision, head_revision
from connector.timestamps import as_utc

# Past these, a check is shown as a warning: messages waiting, or seconds since a checkpoint.
OUTBOX_WARN = 20
CHECKPOINT_WARN_S = 3600


@dataclass(frozen=True)
class Check:
    """One part of the connector: its state ('ok', 'warn' or 'down') and the figures, in
    Italian and English."""

    part: str
    state: str
    detail: dict[str, str]


def _check(part: str, state: str, it: str, en: str) -> Check:
    return Check(part, state, {"it": it, "en": en})


def database(engine: Engine) -> Check:
    """Reachable, and at the schema this code expects."""
    try:
        with engine.connect() as db:
            db.execute(text("SELECT 1"))
        revision = current_revision(engine)
    except Exception as exc:  # an unreachable database is the answer, not an error
        why = type(exc).__name__
        return _check("database", "down", f"irraggiungibile: {why}", f"unreachable: {why}")
    dialect, want = engine.dialect.name, head_revision()
    if revision != want:
        return _check("database", "warn", f"{dialect}, schema {revision}, atteso {want}",
                      f"{dialect}, schema {revision}, expected {want}")  # fmt: skip
    return _check("database", "ok", f"{dialect}, schema {revision} (attuale)",
                  f"{dialect}, schema {revision} (current)")  # fmt: skip


def policy_engine(ready: bool, backend: str, revision: str) -> Check:
    """Loaded with the policies in force."""
    return _check("policy engine", "ok" if ready else "down",
                  f"{backend}, revisione delle politiche {revision[:12]}",
                  f"{backend}, policy revision {revision[:12]}")  # fmt: skip


def executor(kind: str, light: str | None, heavy: str | None, in_flight: int) -> Check:
    """The executors models run on (none yet if no run came since the connector started)."""
    if light is None or heavy is None:
        return _check("executor", "ok", f"{kind}; non ancora avviato (nessuna esecuzione)",
                      f"{kind}; not started yet (no run since the start)")  # fmt: skip
    it = f"{kind}; leggero: {light}, pesante: {heavy}; {in_flight} in corso"
    en = f"{kind}; light: {light}, heavy: {heavy}; {in_flight} runs in flight"
    return _check("executor", "ok", it, en)


def outbox(waiting: int) -> Check:
    """Messages to other members not yet delivered (a member down keeps them waiting)."""
    return _check("outbox", "ok" if waiting < OUTBOX_WARN else "warn",
                  f"{waiting} messaggi agli altri membri non ancora consegnati",
                  f"{waiting} messages to other members not yet delivered")  # fmt: skip


def audit_log(
    size: int, queued: int, checkpoint: tuple[int, datetime] | None, now: datetime
) -> Check:
    """Entries, and how recent the last signed checkpoint is."""
    if checkpoint is None:
        return _check("audit log", "warn" if size else "ok",
                      f"{size} voci, ancora nessun punto di controllo",
                      f"{size} entries, no checkpoint yet")  # fmt: skip
    signed, at = checkpoint
    age = int((now - as_utc(at)).total_seconds())
    behind = size - signed
    state = "ok" if age < CHECKPOINT_WARN_S or behind == 0 else "warn"
    return _check(
        "audit log",
        state,
        f"{size} voci ({queued} in coda); ultimo punto di controllo firmato a {signed} voci, "
        f"{age} s fa; {behind} voci dopo",
        f"{size} entries ({queued} queued); last signed checkpoint at {signed} entries, "
        f"{age} s ago; {behind} entries after it",
    )
