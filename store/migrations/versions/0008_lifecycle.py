"""Life after issuance: obligations (承诺事项), credit_records (失信名单) and notifications (通知).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 20:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=96), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("application_id", sa.String(length=32), nullable=True),
        sa.Column("obligation_id", sa.String(length=32), nullable=True),
        sa.Column("permit_id", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_dispatched_at"), "notifications", ["dispatched_at"], unique=False)
    op.create_index(op.f("ix_notifications_user_id"), "notifications", ["user_id"], unique=False)
    op.create_table(
        "obligations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("license_id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=True),
        sa.Column("holder_user_id", sa.String(length=32), nullable=True),
        sa.Column("uscc", sa.String(length=32), nullable=False),
        sa.Column("permit_code", sa.String(), nullable=False),
        sa.Column("permit_number", sa.String(length=40), nullable=False),
        sa.Column("department_code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("commitment", sa.String(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("submitted", sa.JSON(), nullable=True),
        sa.Column("rectify_due_on", sa.Date(), nullable=True),
        sa.Column("publicity_until", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["license_id"], ["licenses.id"], name=op.f("fk_obligations_license_id_licenses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligations")),
    )
    op.create_index(op.f("ix_obligations_department_code"), "obligations", ["department_code"], unique=False)
    op.create_index(op.f("ix_obligations_license_id"), "obligations", ["license_id"], unique=False)
    op.create_index("ix_obligations_status_due_on", "obligations", ["status", "due_on"], unique=False)
    op.create_index("ix_obligations_status_rectify_due_on", "obligations", ["status", "rectify_due_on"], unique=False)
    op.create_index(op.f("ix_obligations_uscc"), "obligations", ["uscc"], unique=False)
    op.create_table(
        "credit_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("uscc", sa.String(length=32), nullable=False),
        sa.Column("holder_name", sa.String(), nullable=False),
        sa.Column("obligation_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("blocked_until", sa.Date(), nullable=False),
        sa.Column("restored_on", sa.Date(), nullable=True),
        sa.Column("restore_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["obligation_id"], ["obligations.id"], name=op.f("fk_credit_records_obligation_id_obligations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_records")),
        sa.UniqueConstraint("obligation_id", name=op.f("uq_credit_records_obligation_id")),
    )
    op.create_index(op.f("ix_credit_records_uscc"), "credit_records", ["uscc"], unique=False)


def downgrade() -> None:
    op.drop_table("credit_records")
    op.drop_table("obligations")
    op.drop_table("notifications")
