"""Notices as served documents: notifications.subject and body hold the text as it was rendered when the notice was
made (or, for rows a sweep inserted set-based, when it was first dispatched or shown), never re-rendered from later
facts. Rows made before keep NULL until first shown or sent, then are fixed the same way.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("subject", sa.Text(), nullable=True))
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("body")
        batch.drop_column("subject")
