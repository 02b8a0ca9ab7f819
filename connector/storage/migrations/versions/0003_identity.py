"""users, API tokens and the replay store for connector-to-connector tokens

Local users carry one role each; their bearer tokens are stored as SHA-256 digests only. The
replay store remembers (issuer, jti) of every accepted peer token until it expires, in the
database so that every worker of a connector refuses the same replay.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("name", sa.String(length=120), nullable=False, unique=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column(
            "user_id", sa.String(length=40), sa.ForeignKey("user_account.id"), nullable=False
        ),
        sa.Column("token_sha256", sa.String(length=64), nullable=False, unique=True),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"])
    op.create_table(
        "seen_assertion",
        sa.Column("issuer", sa.String(length=120), primary_key=True),
        sa.Column("jti", sa.String(length=120), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_seen_assertion_expires_at", "seen_assertion", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_seen_assertion_expires_at", "seen_assertion")
    op.drop_table("seen_assertion")
    op.drop_index("ix_api_token_user_id", "api_token")
    op.drop_table("api_token")
    op.drop_table("user_account")
