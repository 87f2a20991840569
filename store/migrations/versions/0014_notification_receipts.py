"""Receipts of delivery: one row per attempt to send a notification by a channel (sent, failed, or no address to
send to), so a notice nobody could be reached by shows as undelivered instead of passing as done.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_receipts",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("notification_id", sa.String(length=96), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("address_source", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_notification_receipts_notification_id", "notification_receipts", ["notification_id"])
    op.create_index("ix_notification_receipts_result", "notification_receipts", ["result"])


def downgrade() -> None:
    op.drop_index("ix_notification_receipts_result", "notification_receipts")
    op.drop_index("ix_notification_receipts_notification_id", "notification_receipts")
    op.drop_table("notification_receipts")
