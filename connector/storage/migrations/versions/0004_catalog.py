"""catalogue entries and the federated catalogue index

`catalog_entry` holds each local dataset's published DCAT-AP description (steward part and
measured facts); `federated_source` and `federated_entry` are the gateway's index of the
members' catalogues, kept (and marked stale) when a member cannot be reached.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_entry",
        sa.Column("dataset_id", sa.String(length=120), primary_key=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("description", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("themes", sa.String(length=200), nullable=False),
        sa.Column("privacy_class", sa.String(length=20), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=120), nullable=True),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_catalog_entry_modified", "catalog_entry", ["modified"])
    op.create_table(
        "federated_source",
        sa.Column("partner", sa.String(length=40), primary_key=True),
        sa.Column("participant_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_modified", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "federated_entry",
        sa.Column("partner", sa.String(length=40), primary_key=True),
        sa.Column("dataset_iri", sa.String(length=300), primary_key=True),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("themes", sa.String(length=200), nullable=False),
        sa.Column("privacy_class", sa.String(length=20), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("west", sa.Float(), nullable=True),
        sa.Column("south", sa.Float(), nullable=True),
        sa.Column("east", sa.Float(), nullable=True),
        sa.Column("north", sa.Float(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_federated_entry_order", "federated_entry", ["partner", "title"])


def downgrade() -> None:
    op.drop_index("ix_federated_entry_order", "federated_entry")
    op.drop_table("federated_entry")
    op.drop_table("federated_source")
    op.drop_index("ix_catalog_entry_modified", "catalog_entry")
    op.drop_table("catalog_entry")
