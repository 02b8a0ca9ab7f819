"""The only SQL of the `federated_job` table: the jobs this connector drives as gateway."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from connector.storage.tables import FederatedJob, PublishedResult, ReceivedRun, RunShare


class JobRepository:
    """Federated jobs this connector drives as gateway."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, job_id: str) -> FederatedJob | None:
        """A job by id."""
        return self.session.get(FederatedJob, job_id)

    def owner_and_state(self, job_id: str) -> tuple[str, str] | None:
        """Who asked for a job and its state, without reading its result."""
        q = select(FederatedJob.requested_by, FederatedJob.state).where(FederatedJob.id == job_id)
        row = self.session.exec(q).first()
        return None if row is None else (str(row[0]), str(row[1]))

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


class ShareRepository:
    """Runs shared from here (`run_share`) and runs other members shared with us
    (`received_run`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: RunShare | ReceivedRun) -> None:
        """Store a new share."""
        self.session.add(row)

    def received(self, share_id: str) -> ReceivedRun | None:
        """A received share by id."""
        return self.session.get(ReceivedRun, share_id)

    def of_job(self, job_id: str) -> list[RunShare]:
        """Who one run was shared with, oldest first."""
        q = select(RunShare).where(RunShare.job_id == job_id).order_by(col(RunShare.created_at))
        return list(self.session.exec(q).all())

    def local_for(self, organisation: str, name: str) -> list[RunShare]:
        """Shares made here with this organisation: with everyone in it, or with `name`."""
        q = select(RunShare).where(
            RunShare.organisation == organisation, col(RunShare.recipient).in_(("", name))
        )
        return list(self.session.exec(q).all())

    def received_for(self, name: str) -> list[ReceivedRun]:
        """Shares received for everyone here, or for `name`."""
        q = select(ReceivedRun).where(col(ReceivedRun.recipient).in_(("", name)))
        return list(self.session.exec(q).all())


class PublicationRepository:
    """Runs published on the public portal (`published_result`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: PublishedResult) -> None:
        """Store a new publication."""
        self.session.add(row)

    def get(self, publication_id: str) -> PublishedResult | None:
        """One publication by id."""
        return self.session.get(PublishedResult, publication_id)

    def all(self, limit: int = 500) -> list[PublishedResult]:
        """Every publication, newest first."""
        q = select(PublishedResult).order_by(col(PublishedResult.published_at).desc())
        return list(self.session.exec(q.limit(limit)).all())

    def of_job(self, job_id: str) -> list[PublishedResult]:
        """The publications of one run, oldest first."""
        q = select(PublishedResult).where(PublishedResult.job_id == job_id)
        return list(self.session.exec(q.order_by(col(PublishedResult.published_at))).all())
