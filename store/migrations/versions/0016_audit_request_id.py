"""The request id (X-Request-ID) of the request that caused an audit event, so that an auditor can find the log
lines of the same request. A plain ADD COLUMN on both databases: a batch rebuild would drop the table's
append-only triggers.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_events", "request_id")
