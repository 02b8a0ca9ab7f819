"""agreement blocks: after a revocation, no new agreement for that organisation and dataset

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement_block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("agreement_id", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("blocked_by", sa.String(length=120), nullable=False),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(length=120), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_agreement_block_dataset_id"), "agreement_block", ["dataset_id"], unique=False
    )
    op.create_index(
        op.f("ix_agreement_block_organisation"), "agreement_block", ["organisation"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_agreement_block_organisation"), table_name="agreement_block")
    op.drop_index(op.f("ix_agreement_block_dataset_id"), table_name="agreement_block")
    op.drop_table("agreement_block")
