"""License number counters: license_counters (prefix = region + year, last serial), taken under a row lock, so
concurrent issuers never compute the same serial. Existing licenses seed the counters.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "license_counters",
        sa.Column("prefix", sa.String(length=16), primary_key=True),
        sa.Column("last_serial", sa.Integer(), nullable=False, server_default="0"),
    )
    # number = region (6) + year (4) + serial (7) + check (1)
    op.execute(
        "INSERT INTO license_counters (prefix, last_serial) "
        "SELECT substr(number, 1, 10), MAX(CAST(substr(number, 11, 7) AS INTEGER)) FROM licenses "
        "GROUP BY substr(number, 1, 10)"
    )


def downgrade() -> None:
    op.drop_table("license_counters")
