"""SQL for users, tokens and the replay store (the only module that queries those tables)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, delete, select
from sqlmodel.sql.expression import Select

from connector.storage.engine import append_row
from connector.storage.tables import ApiToken, ConsoleSession, SeenAssertion, UserAccount


class UserRepository:
    """Users and their tokens, inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: UserAccount | ApiToken) -> None:
        """Stage rows (flushed so constraint errors surface here)."""
        self.session.add_all(rows)
        self.session.flush()

    def by_name(self, name: str) -> UserAccount | None:
        """One user by name."""
        return self.session.exec(select(UserAccount).where(UserAccount.name == name)).first()

    def users_with_token_counts(self) -> Sequence[tuple[UserAccount, int]]:
        """Every user with the number of unrevoked tokens, by name."""
        active = (
            select(ApiToken.user_id, func.count().label("n"))
            .where(col(ApiToken.revoked_at).is_(None))
            .group_by(col(ApiToken.user_id))
            .subquery()
        )
        stmt = (
            select(UserAccount, func.coalesce(active.c.n, 0))
            .outerjoin(active, active.c.user_id == UserAccount.id)
            .order_by(col(UserAccount.name))
        )
        return [(u, int(n)) for u, n in self.session.exec(stmt).all()]

    def token_with_user(self, token_sha256: str) -> tuple[ApiToken, UserAccount] | None:
        """The token with this digest and its user, or None."""
        row = self.session.exec(_with_user().where(ApiToken.token_sha256 == token_sha256)).first()
        return (row[0], row[1]) if row else None

    def tokens(self, user_id: str | None = None) -> Sequence[tuple[ApiToken, UserAccount]]:
        """Tokens (of one user, or all), newest first."""
        stmt = _with_user()
        if user_id is not None:
            stmt = stmt.where(ApiToken.user_id == user_id)
        stmt = stmt.order_by(col(ApiToken.created_at).desc(), col(ApiToken.id))
        return [(t, u) for t, u in self.session.exec(stmt).all()]

    def token(self, token_id: str) -> tuple[ApiToken, UserAccount] | None:
        """One token and its user by id."""
        row = self.session.exec(_with_user().where(ApiToken.id == token_id)).first()
        return (row[0], row[1]) if row else None


def _with_user() -> Select[ApiToken, UserAccount]:
    """Tokens joined to their users: the shape every token query returns."""
    return select(ApiToken, UserAccount).join(
        UserAccount, col(UserAccount.id) == col(ApiToken.user_id)
    )


class ConsoleSessionRepository:
    """The web console's sessions, inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ConsoleSession) -> None:
        """Stage a new or changed session row."""
        self.session.add(row)
        self.session.flush()

    def get(self, session_id: str) -> ConsoleSession | None:
        """One session by id."""
        return self.session.get(ConsoleSession, session_id)

    def by_secret(self, secret_sha256: str) -> tuple[ConsoleSession, ApiToken, UserAccount] | None:
        """The session with this cookie digest, with its token and user."""
        stmt = (
            select(ConsoleSession, ApiToken, UserAccount)
            .join(ApiToken, col(ApiToken.id) == col(ConsoleSession.token_id))
            .join(UserAccount, col(UserAccount.id) == col(ApiToken.user_id))
            .where(ConsoleSession.secret_sha256 == secret_sha256)
        )
        row = self.session.exec(stmt).first()
        return (row[0], row[1], row[2]) if row else None


class ReplayRepository:
    """Accepted connector-to-connector token ids, until they expire."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def insert(self, issuer: str, jti: str, expires_at: datetime) -> None:
        """Record a token id; IntegrityError if it was already recorded."""
        append_row(self.session, SeenAssertion(issuer=issuer, jti=jti, expires_at=expires_at))

    def prune(self, now: datetime) -> int:
        """Forget ids whose tokens can no longer be accepted anyway."""
        stmt = delete(SeenAssertion).where(col(SeenAssertion.expires_at) < now)
        return int(self.session.exec(stmt).rowcount or 0)
