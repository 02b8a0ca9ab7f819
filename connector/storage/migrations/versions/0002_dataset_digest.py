"""dataset content digest and update time

Re-registering a dataset at start-up must tell a changed file from an unchanged one, so the
register keeps the table's SHA-256 and when it last changed. Existing rows get an empty digest
(re-computed at the next start) and their registration time as update time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataset") as batch:
        batch.add_column(
            sa.Column("content_sha256", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE dataset SET updated_at = registered_at")
    with op.batch_alter_table("dataset") as batch:
        batch.alter_column("updated_at", nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("dataset") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("content_sha256")
