"""usage policies, decision records, contract negotiations, agreements, transfers, DSP outbox

`usage_policy` holds stewards' ODRL policies; `decision_record` every PDP decision in OPA's
decision-log shape; `contract_negotiation`, `contract_agreement` and `transfer_process` the DSP
processes on either side; `dsp_outbox` the protocol messages still to deliver to other
connectors (so a restart resumes them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_agreement",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("negotiation_id", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=120), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_contract_agreement_consumer"), "contract_agreement", ["consumer"], unique=False
    )
    op.create_table(
        "contract_negotiation",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("peer_pid", sa.String(length=80), nullable=True),
        sa.Column("counterparty", sa.String(length=200), nullable=False),
        sa.Column("callback_address", sa.String(length=300), nullable=False),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("offer", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("approval", sa.String(length=20), nullable=False),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_role", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("agreement_id", sa.String(length=80), nullable=True),
        sa.Column("decision_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_contract_negotiation_counterparty"),
        "contract_negotiation",
        ["counterparty"],
        unique=False,
    )
    op.create_table(
        "decision_record",
        sa.Column("decision_id", sa.String(length=40), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("erased", sa.JSON(), nullable=False),
        sa.Column("policy_revision", sa.String(length=40), nullable=False),
        sa.Column("policy_uid", sa.String(length=300), nullable=True),
        sa.Column("context", sa.String(length=20), nullable=False),
        sa.Column("correlation", sa.String(length=80), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_index(
        op.f("ix_decision_record_dataset_id"), "decision_record", ["dataset_id"], unique=False
    )
    op.create_index(
        op.f("ix_decision_record_organisation"), "decision_record", ["organisation"], unique=False
    )
    op.create_index(
        op.f("ix_decision_record_timestamp"), "decision_record", ["timestamp"], unique=False
    )
    op.create_table(
        "dsp_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(length=80), nullable=False),
        sa.Column("participant_id", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("actor_sub", sa.String(length=80), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_dsp_outbox_next_attempt_at"), "dsp_outbox", ["next_attempt_at"], unique=False
    )
    op.create_index(op.f("ix_dsp_outbox_process"), "dsp_outbox", ["process"], unique=False)
    op.create_table(
        "transfer_process",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("peer_pid", sa.String(length=80), nullable=True),
        sa.Column("agreement_id", sa.String(length=80), nullable=False),
        sa.Column("counterparty", sa.String(length=200), nullable=False),
        sa.Column("callback_address", sa.String(length=300), nullable=False),
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_address", sa.JSON(), nullable=True),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_transfer_process_agreement_id"), "transfer_process", ["agreement_id"], unique=False
    )
    op.create_index(
        op.f("ix_transfer_process_token_sha256"), "transfer_process", ["token_sha256"], unique=False
    )
    op.create_table(
        "usage_policy",
        sa.Column("dataset_id", sa.String(length=120), nullable=False),
        sa.Column("uid", sa.String(length=300), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.String(length=120), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )


def downgrade() -> None:
    op.drop_table("usage_policy")
    op.drop_index(op.f("ix_transfer_process_token_sha256"), table_name="transfer_process")
    op.drop_index(op.f("ix_transfer_process_agreement_id"), table_name="transfer_process")
    op.drop_table("transfer_process")
    op.drop_index(op.f("ix_dsp_outbox_process"), table_name="dsp_outbox")
    op.drop_index(op.f("ix_dsp_outbox_next_attempt_at"), table_name="dsp_outbox")
    op.drop_table("dsp_outbox")
    op.drop_index(op.f("ix_decision_record_timestamp"), table_name="decision_record")
    op.drop_index(op.f("ix_decision_record_organisation"), table_name="decision_record")
    op.drop_index(op.f("ix_decision_record_dataset_id"), table_name="decision_record")
    op.drop_table("decision_record")
    op.drop_index(op.f("ix_contract_negotiation_counterparty"), table_name="contract_negotiation")
    op.drop_table("contract_negotiation")
    op.drop_index(op.f("ix_contract_agreement_consumer"), table_name="contract_agreement")
    op.drop_table("contract_agreement")
