"""asked queries and shared runs: the console's record of DP queries, and runs shared

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asked_query",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("partner", sa.String(length=40), nullable=False),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("agreement_id", sa.String(length=80), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_asked_query_subject"), "asked_query", ["subject"], unique=False)
    op.create_table(
        "run_share",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("job_id", sa.String(length=80), nullable=False),
        sa.Column("shared_by", sa.String(length=120), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_run_share_job_id"), "run_share", ["job_id"], unique=False)
    op.create_table(
        "received_run",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("shared_by", sa.String(length=120), nullable=False),
        sa.Column("recipient", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("job", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("received_run")
    op.drop_index(op.f("ix_run_share_job_id"), table_name="run_share")
    op.drop_table("run_share")
    op.drop_index(op.f("ix_asked_query_subject"), table_name="asked_query")
    op.drop_table("asked_query")
