"""License editions (版次) and changes (变更): licenses.edition and licenses.edition_at, set when a change or a
renewal reissues the certificate and its signed token; applications.kind ("new" or "change") and
applications.license_id, the license a change application amends.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 20:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("licenses") as batch:
        batch.add_column(sa.Column("edition", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("edition_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="new"))
        batch.add_column(sa.Column("license_id", sa.String(length=32), nullable=True))
        batch.create_index("ix_applications_license_id", ["license_id"])


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_index("ix_applications_license_id")
        batch.drop_column("license_id")
        batch.drop_column("kind")
    with op.batch_alter_table("licenses") as batch:
        batch.drop_column("edition_at")
        batch.drop_column("edition")
