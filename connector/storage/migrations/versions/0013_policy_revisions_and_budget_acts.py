"""policy revisions, stewards' test cases, and budget raises and resets

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    revisions = op.create_table(
        "policy_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("set_by", sa.String(length=120), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_policy_revision_dataset_id"), "policy_revision", ["dataset_id"], unique=False
    )
    # The policies set before revisions were kept start each history.
    policies = sa.table(
        "usage_policy",
        sa.column("dataset_id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("document", sa.JSON),
        sa.column("set_by", sa.String),
        sa.column("set_at", sa.DateTime(timezone=True)),
    )
    rows = op.get_bind().execute(sa.select(policies)).mappings().all()
    if rows:
        op.bulk_insert(
            revisions,
            [
                {
                    "dataset_id": r["dataset_id"],
                    "version": r["version"],
                    "document": r["document"],
                    "set_by": r["set_by"] or "",
                    "set_at": r["set_at"],
                    "note": "",
                }
                for r in rows
            ],
        )
    op.create_table(
        "policy_cases",
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("cases", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    op.create_table(
        "budget_adjustment",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("credit_micro", sa.Integer(), nullable=False),
        sa.Column("remaining_before_micro", sa.Integer(), nullable=False),
        sa.Column("remaining_after_micro", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(length=120), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_budget_adjustment_dataset_id"), "budget_adjustment", ["dataset_id"], unique=False
    )
    with op.batch_alter_table("epsilon_budget") as batch:
        batch.add_column(
            sa.Column("credit_micro", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("epsilon_budget") as batch:
        batch.drop_column("credit_micro")
    op.drop_index(op.f("ix_budget_adjustment_dataset_id"), table_name="budget_adjustment")
    op.drop_table("budget_adjustment")
    op.drop_table("policy_cases")
    op.drop_index(op.f("ix_policy_revision_dataset_id"), table_name="policy_revision")
    op.drop_table("policy_revision")
