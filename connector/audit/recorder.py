"""What gets into the audit log, and how: in the very transaction of the action it records.

Every security-relevant record a connector writes (policy decisions, privacy charges,
negotiations, agreements, transfers, policies, users and tokens, model runs, federated jobs)
is turned into an audit event by `describe` and appended to the Merkle log in the same
transaction — from the ORM's flush (rows added, changed or deleted) and from `append_row`
(rows inserted with Core statements on hot paths). So there is no action without its entry and
no entry without its action: a rolled-back transaction takes both with it.

Who acted comes from the request's principal (a context variable set at authentication), or
from the CLI's user; the organisation of a record, when it has one, wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from connector.audit import repository as store
from connector.audit.events import AuditEvent, mask_ip
from connector.identity.acting import NOBODY, Actor, connector_actor, current, operator_actor
from connector.storage.tables import (
    AgreementBlock,
    AgreementRecord,
    ApiToken,
    AskedQuery,
    BudgetAdjustment,
    ComputeRun,
    DecisionRecord,
    EpsilonCharge,
    FederatedJob,
    NegotiationRecord,
    PublishedResult,
    ReceivedRun,
    RunShare,
    TransferRecord,
    UsagePolicyRecord,
    UserAccount,
)

# Who acts is identity's (identity.acting); re-exported for the code that records.
__all__ = [
    "NOBODY",
    "Actor",
    "LogSink",
    "connector_actor",
    "current",
    "install",
    "operator_actor",
]


def _decision(row: DecisionRecord, _how: str) -> AuditEvent:
    values = (row.input or {}).get("values", {})
    return AuditEvent(
        action=f"policy.{row.action}",
        outcome="allowed" if row.allowed else "denied",
        organisation=row.organisation,
        purpose=str(values.get("purpose") or ""),
        target=str((row.input or {}).get("target", "")),
        dataset=row.dataset_id,
        reason="; ".join((row.result or {}).get("reasons", [])),
        correlation=row.correlation or row.decision_id,
        details={"decision_id": row.decision_id, "context": row.context,
                 "policy_revision": row.policy_revision, "model_hash": values.get("modelHash")},
    )  # fmt: skip


# What a charge paid for, as the audit log keeps it: a query's shape (never its answer), or
# the model run behind a model-output charge.
CHARGE_SHAPE = ("aggregate", "column", "group_by", "filters", "model", "stage", "run_id",
                "job_id")  # fmt: skip


def _charge(row: EpsilonCharge, _how: str) -> AuditEvent:
    summary = row.summary or {}
    return AuditEvent(
        action="privacy.charge",
        outcome=row.state,
        organisation=row.organisation,
        purpose=str(summary.get("purpose") or ""),
        dataset=row.dataset_id,
        target=row.id,
        reason=row.reason,
        correlation=summary.get("job_id") or row.agreement_id or row.id,
        details={"epsilon": row.epsilon_micro / 1_000_000, "kind": row.kind,
                 "decision_id": row.decision_id,
                 **{k: summary[k] for k in CHARGE_SHAPE if k in summary}},
    )  # fmt: skip


def _negotiation(row: NegotiationRecord, how: str) -> AuditEvent:
    return AuditEvent(
        action="contract.negotiation",
        outcome=row.state.lower(),
        organisation=row.counterparty,
        purpose=row.purpose,
        target=row.target,
        dataset=row.dataset_id,
        reason=row.reason,
        correlation=row.agreement_id or row.id,
        details={"pid": row.id, "peer_pid": row.peer_pid, "role": row.role, "change": how,
                 "approval": row.approval},
    )  # fmt: skip


def _agreement(row: AgreementRecord, how: str) -> AuditEvent:
    other = row.consumer if row.role == "provider" else row.provider
    return AuditEvent(
        action="contract.agreement",
        outcome="revoked" if row.revoked_at is not None else ("agreed" if how == "new" else how),
        organisation=other,
        purpose=row.purpose,
        target=row.target,
        dataset=row.dataset_id,
        reason=row.revoke_reason,
        correlation=row.id,
        details={"role": row.role, "use_count": row.use_count, "approved_by": row.approved_by},
    )


def _block(row: AgreementBlock, _how: str) -> AuditEvent:
    lifted = row.lifted_at is not None
    return AuditEvent(
        action="contract.block",
        outcome="lifted" if lifted else "blocked",
        organisation=row.organisation,
        dataset=row.dataset_id,
        target=str(row.id or ""),
        reason=row.lift_reason if lifted else row.reason,
        correlation=row.agreement_id,
        details={"by": row.lifted_by if lifted else row.blocked_by},
    )


def _transfer(row: TransferRecord, how: str) -> AuditEvent:
    return AuditEvent(
        action="contract.transfer",
        outcome=row.state.lower(),
        organisation=row.counterparty,
        dataset=row.dataset_id,
        target=row.id,
        reason=row.reason,
        correlation=row.agreement_id,
        details={"role": row.role, "format": row.format, "change": how},
    )


def _policy(row: UsagePolicyRecord, how: str) -> AuditEvent:
    return AuditEvent(
        action="admin.policy",
        outcome="reset" if how == "deleted" else "set",
        dataset=row.dataset_id,
        target=row.uid,
        details={"version": row.version, "set_by": row.set_by},
    )


def _budget_act(row: BudgetAdjustment, _how: str) -> AuditEvent:
    return AuditEvent(
        action="privacy.budget",
        outcome="raised" if row.kind == "raise" else "reset",
        dataset=row.dataset_id,
        target=row.organisation,
        reason=row.reason,
        correlation=row.id,
        details={"epsilon_micro": row.credit_micro,
                 "remaining_before_micro": row.remaining_before_micro,
                 "remaining_after_micro": row.remaining_after_micro},
    )  # fmt: skip


def _user(row: UserAccount, how: str) -> AuditEvent:
    return AuditEvent(action="admin.user", outcome=how, target=row.id, details={"role": row.role})


def _token(row: ApiToken, how: str) -> AuditEvent:
    revoked = getattr(row, "revoked_at", None) is not None
    return AuditEvent(
        action="admin.token",
        outcome="revoked" if revoked else how,
        target=row.id,
        details={"user": row.user_id},
    )


def _run(row: ComputeRun, how: str) -> AuditEvent:
    digest = store.digest(repr(row.result).encode()) if row.result else None
    return AuditEvent(
        action="compute.run",
        outcome=row.state,
        organisation=row.organisation,
        actor=row.requested_by,
        dataset=",".join(sorted(row.datasets))[:120],
        target=row.id,
        reason=row.error,
        correlation=row.job_id,
        details={"model": row.model, "model_hash": row.model_hash, "stage": row.stage,
                 "params": row.params, "partial_digest": digest, "change": how},
    )  # fmt: skip


def _job(row: FederatedJob, how: str) -> AuditEvent:
    return AuditEvent(
        action="compute.job",
        outcome=row.state,
        actor=row.requested_by,
        role=row.requested_role,
        purpose=row.purpose,
        target=row.id,
        reason=row.error,
        correlation=row.id,
        details={"model": row.model, "model_hash": row.model_hash, "params": row.params,
                 "stage": row.stage, "epsilon": row.epsilon, "change": how},
    )  # fmt: skip


def _asked(row: AskedQuery, _how: str) -> AuditEvent:
    refused = row.status >= 400
    return AuditEvent(
        action="privacy.ask",
        outcome="denied" if refused else "answered",
        actor=row.subject,
        dataset=row.dataset_id,
        target=row.partner,
        reason=str(row.answer.get("detail", "")) if refused else "",
        correlation=row.id,
        details={"agreement_id": row.agreement_id, "status": row.status,
                 **{k: row.query.get(k) for k in CHARGE_SHAPE if k in row.query},
                 "epsilon": row.query.get("epsilon")},
    )  # fmt: skip


def _share(row: RunShare, _how: str) -> AuditEvent:
    return AuditEvent(
        action="share.run",
        outcome="shared",
        actor=row.shared_by,
        organisation=row.organisation,
        purpose=row.purpose,
        target=row.recipient or row.organisation,
        correlation=row.job_id,
        details={"share_id": row.id, "decisions": row.decisions},
    )


def _published(row: PublishedResult, _how: str) -> AuditEvent:
    return AuditEvent(
        action="publish.run",
        outcome="published",
        actor=row.published_by,
        organisation=row.organisation,
        purpose=row.purpose,
        target=row.id,
        correlation=row.job_id,
        details={"model": row.model, "decisions": row.decisions},
    )


def _received(row: ReceivedRun, _how: str) -> AuditEvent:
    return AuditEvent(
        action="share.received",
        outcome="received",
        organisation=row.sender,
        actor=row.shared_by,
        target=row.recipient or "all users",
        correlation=str(row.job.get("id", "")),
        details={"share_id": row.id, "model": row.job.get("model")},
    )


DESCRIBE: dict[type, Callable[[Any, str], AuditEvent]] = {
    DecisionRecord: _decision,
    EpsilonCharge: _charge,
    NegotiationRecord: _negotiation,
    AgreementRecord: _agreement,
    AgreementBlock: _block,
    TransferRecord: _transfer,
    UsagePolicyRecord: _policy,
    BudgetAdjustment: _budget_act,
    UserAccount: _user,
    ApiToken: _token,
    ComputeRun: _run,
    FederatedJob: _job,
    AskedQuery: _asked,
    RunShare: _share,
    PublishedResult: _published,
    ReceivedRun: _received,
}
# Changes that are bookkeeping, not events (a job's progress, a use count going up).
QUIET_CHANGES: dict[type, frozenset[str]] = {
    FederatedJob: frozenset({"holders", "context", "stage", "updated_at"}),
    AgreementRecord: frozenset({"use_count"}),
    NegotiationRecord: frozenset({"updated_at", "decision_ids", "peer_pid"}),
    TransferRecord: frozenset({"updated_at", "peer_pid"}),
}


def describe(row: Any, how: str) -> AuditEvent | None:
    """The audit event of a record, with the acting person filled in (None if not audited)."""
    fn = DESCRIBE.get(type(row))
    if fn is None:
        return None
    ev = fn(row, how)
    actor = current.get() or NOBODY
    return AuditEvent(
        **{
            **ev.__dict__,
            "actor": ev.actor or actor.subject,
            "organisation": ev.organisation or actor.organisation,
            "role": ev.role or actor.role,
        }
    )


class LogSink:
    """The audit log as identity's `AuditSink`: a refused request becomes an entry, its client
    address reduced to its network."""

    def refusal(self, session: Session, target: str, reason: str, details: dict[str, Any]) -> None:
        """Append `auth.refused` in the session's transaction."""
        client = str(details.get("client", "-"))
        event = AuditEvent(
            action="auth.refused",
            outcome="denied",
            target=target,
            reason=reason,
            details={**details, "client": mask_ip(client)},
        )
        store.append(session, event)


def record(session: Session, row: Any, how: str) -> None:
    """Append the event of a record written with a Core statement (`append_row`)."""
    ev = describe(row, how)
    if ev is not None:
        store.append(session, ev)


def _changed(session: Session, row: Any) -> bool:
    from sqlalchemy import inspect

    quiet = QUIET_CHANGES.get(type(row), frozenset())
    state = inspect(row)
    return any(
        attr.history.has_changes() for attr in state.attrs if attr.key not in quiet
    ) and session.is_modified(row)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    events: list[AuditEvent] = []
    for how, rows in (
        ("new", session.new),
        ("changed", session.dirty),
        ("deleted", session.deleted),
    ):
        for row in rows:
            if type(row) not in DESCRIBE:
                continue
            if how == "changed" and not _changed(session, row):
                continue
            ev = describe(row, how)
            if ev is not None:
                events.append(ev)
    if events:
        with session.no_autoflush:
            for ev in events:
                store.append(session, ev)


_installed = False


def install() -> None:
    """Record every audited change of every session of this process (idempotent)."""
    global _installed
    if not _installed:
        from connector.storage.engine import APPEND_HOOKS

        event.listen(Session, "before_flush", _before_flush)
        APPEND_HOOKS.append(lambda session, row: record(session, row, "new"))
        _installed = True
