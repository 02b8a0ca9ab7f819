"""The only SQL of federated compute: runs at the holder, jobs at the gateway."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from connector.storage.tables import AgreementRecord, ComputeRun, FederatedEntry, FederatedJob


class RunRepository:
    """Model stage runs this connector executes for other members."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, run_id: str) -> ComputeRun | None:
        """A run by its id."""
        return self.session.get(ComputeRun, run_id)

    def add(self, run: ComputeRun) -> None:
        """Store a new run (flushed, so a duplicate id fails here)."""
        self.session.add(run)
        self.session.flush()

    def save(self, run: ComputeRun) -> None:
        """Store a changed run."""
        self.session.add(run)

    def running(self) -> Sequence[ComputeRun]:
        """Runs not yet finished."""
        return self.session.exec(select(ComputeRun).where(ComputeRun.state == "running")).all()

    def recent(self, limit: int = 100) -> Sequence[ComputeRun]:
        """The latest runs, newest first."""
        q = select(ComputeRun).order_by(col(ComputeRun.created_at).desc()).limit(limit)
        return self.session.exec(q).all()


class JobRepository:
    """Federated jobs this connector drives as gateway."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, job_id: str) -> FederatedJob | None:
        """A job by id."""
        return self.session.get(FederatedJob, job_id)

    def add(self, job: FederatedJob) -> None:
        """Store a new job."""
        self.session.add(job)

    def save(self, job: FederatedJob) -> None:
        """Store a changed job."""
        self.session.add(job)

    def unfinished(self) -> Sequence[FederatedJob]:
        """Jobs a restarted gateway must resume."""
        return self.session.exec(select(FederatedJob).where(FederatedJob.state == "running")).all()

    def recent(self, limit: int = 50, requested_by: str | None = None) -> Sequence[FederatedJob]:
        """The latest jobs, newest first; `requested_by` keeps one person's."""
        q = select(FederatedJob)
        if requested_by is not None:
            q = q.where(FederatedJob.requested_by == requested_by)
        q = q.order_by(col(FederatedJob.created_at).desc()).limit(limit)
        return self.session.exec(q).all()

    def agreement_for(self, provider: str, dataset_id: str, purpose: str) -> AgreementRecord | None:
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

    def agreement_of_negotiation(self, negotiation_id: str) -> AgreementRecord | None:
        """The agreement a (consumer) negotiation ended with."""
        q = select(AgreementRecord).where(AgreementRecord.negotiation_id == negotiation_id)
        return self.session.exec(q).first()

    def holders_of(self, dataset_ids: tuple[str, ...]) -> Sequence[FederatedEntry]:
        """Federated-catalogue entries of these datasets, every member's."""
        q = select(FederatedEntry).where(col(FederatedEntry.dataset_id).in_(dataset_ids))
        return self.session.exec(q.order_by(FederatedEntry.partner)).all()
