"""The only SQL of model runs at the holder (the `compute_run` table)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from connector.storage.tables import ComputeRun


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
