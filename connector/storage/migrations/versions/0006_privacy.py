"""the epsilon ledger: budgets per (dataset, organisation) and every charge against them

`epsilon_budget` holds the total, spent and reserved budget in micro-epsilon (integers, so the
ledger adds up exactly); `epsilon_charge` each reservation and how it ended (committed,
refunded, refused).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "epsilon_budget",
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("total_micro", sa.Integer(), nullable=False),
        sa.Column("spent_micro", sa.Integer(), nullable=False),
        sa.Column("reserved_micro", sa.Integer(), nullable=False),
        sa.Column("queries", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "organisation"),
    )
    op.create_table(
        "epsilon_charge",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("epsilon_micro", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("decision_id", sa.String(length=40), nullable=True),
        sa.Column("agreement_id", sa.String(length=80), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_epsilon_charge_dataset_id", "epsilon_charge", ["dataset_id"])
    op.create_index("ix_epsilon_charge_organisation", "epsilon_charge", ["organisation"])
    op.create_index("ix_epsilon_charge_created_at", "epsilon_charge", ["created_at"])


def downgrade() -> None:
    op.drop_table("epsilon_charge")
    op.drop_table("epsilon_budget")
