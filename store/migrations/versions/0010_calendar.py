"""The working-day calendar in the database (calendar_years: each year's holiday arrangement, imported without a
release), seeded with the reviewed years shipped in the catalog folder; what obligations' rectification and
publicity deadlines were counted from (rectify_from/_days, publicity_from/_days), so they can be counted again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("workdays", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("recomputed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("year", name="pk_calendar_years"),
    )
    with op.batch_alter_table("obligations") as batch:
        batch.add_column(sa.Column("rectify_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("rectify_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("publicity_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("publicity_days", sa.Integer(), nullable=True))
    # the years shipped so far: every deadline stored until now was counted on exactly these, so they count as
    # recomputed (store.calendar seeds later shipped years after every upgrade, for the sweep to recompute)
    from onelicense.store.calendar import seed_shipped_years

    seed_shipped_years(op.get_bind(), recomputed=True)


def downgrade() -> None:
    with op.batch_alter_table("obligations") as batch:
        batch.drop_column("publicity_days")
        batch.drop_column("publicity_from")
        batch.drop_column("rectify_days")
        batch.drop_column("rectify_from")
    op.drop_table("calendar_years")
