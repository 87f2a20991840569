"""License editions (版次) and changes (变更): licenses.edition and licenses.edition_at, set when a change or a
renewal reissues the certificate and its signed token; applications.kind ("new" or "change") and
applications.license_id, the license a change application amends; inspection_draws, the recorded random draws (双随机)
of licenses issued on commitments.

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
    op.create_table(
        "inspection_draws",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drawn_by", sa.String(length=200), nullable=False),
        sa.Column("quotas", sa.JSON(), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False),
        sa.Column("population_digest", sa.String(length=64), nullable=False),
        sa.Column("selected", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inspection_draws"),
    )


def downgrade() -> None:
    op.drop_table("inspection_draws")
    with op.batch_alter_table("applications") as batch:
        batch.drop_index("ix_applications_license_id")
        batch.drop_column("license_id")
        batch.drop_column("kind")
    with op.batch_alter_table("licenses") as batch:
        batch.drop_column("edition_at")
        batch.drop_column("edition")
