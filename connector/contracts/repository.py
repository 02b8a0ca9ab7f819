"""SQL for negotiations, agreements, agreement blocks, transfers and the outbox (the only module
that queries those tables)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlmodel import Session, col, select

from connector.storage.tables import (
    AgreementBlock,
    AgreementRecord,
    NegotiationRecord,
    OutboxMessage,
    TransferRecord,
    aware,
)

# Statements on every decision's path: built once, executed with bound parameters.
# Statements on every decision's path: built once, executed with bound parameters.
_A: Any = AgreementRecord.__table__  # type: ignore[attr-defined]
_COUNT_USE = (
    update(_A)
    .where(
        _A.c.id == bindparam("a"),
        _A.c.revoked_at.is_(None),
        _A.c.use_count < bindparam("limit"),
    )
    .values(use_count=_A.c.use_count + 1)
)
_UNCOUNT_USE = update(_A).where(_A.c.id == bindparam("a")).values(use_count=_A.c.use_count - 1)


class ContractRepository:
    """Negotiations and agreements."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: NegotiationRecord | AgreementRecord) -> None:
        """Stage rows (flushed so constraint errors surface here)."""
        self.session.add_all(rows)
        self.session.flush()

    def negotiation(self, pid: str, role: str) -> NegotiationRecord | None:
        """One negotiation by our pid on one side."""
        row = self.session.get(NegotiationRecord, pid)
        return row if row is not None and row.role == role else None

    def negotiations(
        self,
        role: str | None = None,
        approval: str | None = None,
        limit: int = 200,
        requested_by: str | None = None,
    ) -> Sequence[NegotiationRecord]:
        """Newest first; `requested_by` keeps one person's (consumer side)."""
        stmt = select(NegotiationRecord)
        if role:
            stmt = stmt.where(NegotiationRecord.role == role)
        if approval:
            stmt = stmt.where(NegotiationRecord.approval == approval)
        if requested_by is not None:
            stmt = stmt.where(NegotiationRecord.requested_by == requested_by)
        stmt = stmt.order_by(col(NegotiationRecord.created_at).desc()).limit(limit)
        return self.session.exec(stmt).all()

    def agreement(self, agreement_id: str) -> AgreementRecord | None:
        """One agreement."""
        return self.session.get(AgreementRecord, agreement_id)

    def agreements(self, role: str | None = None, limit: int = 200) -> Sequence[AgreementRecord]:
        """Newest first."""
        stmt = select(AgreementRecord)
        if role:
            stmt = stmt.where(AgreementRecord.role == role)
        stmt = stmt.order_by(col(AgreementRecord.agreed_at).desc()).limit(limit)
        return self.session.exec(stmt).all()

    def live_agreement(
        self, provider: str, dataset_id: str, purpose: str
    ) -> AgreementRecord | None:
        """A live consumer agreement with a provider on a dataset for a purpose (newest)."""
        q = (
            select(AgreementRecord)
            .where(AgreementRecord.role == "consumer")
            .where(AgreementRecord.provider == provider)
            .where(AgreementRecord.dataset_id == dataset_id)
            .where(AgreementRecord.purpose == purpose)
            .where(col(AgreementRecord.revoked_at).is_(None))
            .order_by(col(AgreementRecord.agreed_at).desc())
        )
        return self.session.exec(q).first()

    def count_use(self, agreement_id: str, limit: int | None) -> bool:
        """Add one use to an unrevoked agreement if it stays within `limit`; one conditional
        UPDATE, so concurrent requests cannot both take the last use."""
        params = {"a": agreement_id, "limit": limit if limit is not None else 2**31 - 1}
        return bool(self.session.execute(_COUNT_USE, params).rowcount == 1)  # type: ignore[attr-defined]

    def uncount_use(self, agreement_id: str) -> None:
        """Give back a use taken earlier in this transaction (a later step refused)."""
        self.session.execute(_UNCOUNT_USE, {"a": agreement_id})

    def add_block(self, block: AgreementBlock) -> AgreementBlock:
        """Stage a block (flushed: its id is known after)."""
        self.session.add(block)
        self.session.flush()
        return block

    def block(self, block_id: int) -> AgreementBlock | None:
        """One block."""
        return self.session.get(AgreementBlock, block_id)

    def active_block(self, organisation: str, dataset_id: str) -> AgreementBlock | None:
        """The oldest block not lifted on this organisation and dataset, if any."""
        return self.session.exec(
            select(AgreementBlock)
            .where(AgreementBlock.organisation == organisation)
            .where(AgreementBlock.dataset_id == dataset_id)
            .where(col(AgreementBlock.lifted_at).is_(None))
            .order_by(col(AgreementBlock.id))
        ).first()

    def blocks(self, active_only: bool = True, limit: int = 200) -> Sequence[AgreementBlock]:
        """Newest first; by default only those in force."""
        stmt = select(AgreementBlock)
        if active_only:
            stmt = stmt.where(col(AgreementBlock.lifted_at).is_(None))
        return self.session.exec(stmt.order_by(col(AgreementBlock.id).desc()).limit(limit)).all()


class TransferRepository:
    """Transfer processes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: TransferRecord) -> None:
        """Stage a row."""
        self.session.add(row)
        self.session.flush()

    def get(self, pid: str, role: str) -> TransferRecord | None:
        """One transfer by our pid on one side."""
        row = self.session.get(TransferRecord, pid)
        return row if row is not None and row.role == role else None

    def by_token(self, token_sha256: str) -> TransferRecord | None:
        """The provider-side transfer whose access token has this digest."""
        return self.session.exec(
            select(TransferRecord)
            .where(TransferRecord.token_sha256 == token_sha256)
            .where(TransferRecord.role == "provider")
        ).first()

    def open_for_agreement(self, agreement_id: str) -> Sequence[TransferRecord]:
        """Provider-side transfers of an agreement that are not finished."""
        return self.session.exec(
            select(TransferRecord)
            .where(TransferRecord.agreement_id == agreement_id)
            .where(TransferRecord.role == "provider")
            .where(col(TransferRecord.state).in_(("REQUESTED", "STARTED", "SUSPENDED")))
        ).all()

    def all(
        self, role: str | None = None, limit: int = 200, requested_by: str | None = None
    ) -> Sequence[TransferRecord]:
        """Newest first; `requested_by` keeps one person's (consumer side)."""
        stmt = select(TransferRecord)
        if role:
            stmt = stmt.where(TransferRecord.role == role)
        if requested_by is not None:
            stmt = stmt.where(TransferRecord.requested_by == requested_by)
        return self.session.exec(
            stmt.order_by(col(TransferRecord.created_at).desc()).limit(limit)
        ).all()


class OutboxRepository:
    """Protocol messages waiting to be delivered."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: OutboxMessage) -> None:
        """Queue a message (committed with the state change that produced it)."""
        self.session.add(row)
        self.session.flush()

    def due(self, now: datetime, limit: int = 50) -> Sequence[OutboxMessage]:
        """Undelivered messages whose time has come, oldest first; a process's later messages
        wait while an earlier one of the same process is still pending."""
        pending = select(OutboxMessage).where(
            col(OutboxMessage.delivered_at).is_(None), col(OutboxMessage.failed_at).is_(None)
        )
        rows = self.session.exec(pending.order_by(col(OutboxMessage.id))).all()
        out: list[OutboxMessage] = []
        blocked: set[str] = set()
        for row in rows:
            if row.process in blocked:
                continue
            blocked.add(row.process)
            if aware(row.next_attempt_at) <= now:
                out.append(row)
            if len(out) >= limit:
                break
        return out

    def get(self, message_id: int) -> OutboxMessage | None:
        """One message."""
        return self.session.get(OutboxMessage, message_id)

    def for_process(self, process: str) -> Sequence[OutboxMessage]:
        """Every message of one process, in order."""
        return self.session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.process == process)
            .order_by(col(OutboxMessage.id))
        ).all()

    def pending_count(self) -> int:
        """Messages neither delivered nor given up."""
        return int(
            self.session.exec(
                select(func.count()).where(
                    or_(col(OutboxMessage.delivered_at).is_(None)),
                    col(OutboxMessage.failed_at).is_(None),
                )
            ).one()
        )
