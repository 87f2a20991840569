"""Identity and dead letters: applications.request_digest (a reused idempotency key with another body is refused),
applications.open_key (unique: one active application or license per USCC, industry and premises), users.usccs
(the USCCs an applicant account acts for), outbox_messages.dead_at (the admins' dead-letter list).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("request_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("open_key", sa.String(length=700), nullable=True))
        batch.create_unique_constraint("uq_applications_open_key", ["open_key"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("usccs", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("dead_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("usccs")
    with op.batch_alter_table("applications") as batch:
        batch.drop_constraint("uq_applications_open_key", type_="unique")
        batch.drop_column("open_key")
        batch.drop_column("request_digest")
