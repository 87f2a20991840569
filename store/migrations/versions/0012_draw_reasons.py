"""Reasons on the record. Redraws of 双随机: inspection_draws.drawn_on (the Beijing date of the draw) and
day_sequence (1 for the day's first draw, unique per day, so two draws at once cannot both count as the first), and
reason, which a redraw must give; draws recorded before get their date and place in the day, their reason stays
empty (not asked then). applications.status_reason: why a change or renewal application was closed (已终止办理)
when its license ended.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspection_draws") as batch:
        batch.add_column(sa.Column("drawn_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("day_sequence", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
    _number_the_draws_of_each_day()
    with op.batch_alter_table("inspection_draws") as batch:
        batch.alter_column("drawn_on", existing_type=sa.Date(), nullable=False)
        batch.alter_column("day_sequence", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("uq_inspection_draws_drawn_on_day_sequence", ["drawn_on", "day_sequence"])
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))


def _number_the_draws_of_each_day() -> None:
    from onelicense.clock import china_date
    from onelicense.store.tables.types import UTCDateTime  # aware UTC on both dialects (SQLite stores naive UTC)

    draws = sa.table(
        "inspection_draws",
        sa.column("id", sa.String()),
        sa.column("drawn_at", UTCDateTime()),
        sa.column("drawn_on", sa.Date()),
        sa.column("day_sequence", sa.Integer()),
    )
    bind = op.get_bind()
    counted: dict[object, int] = {}
    for draw_id, drawn_at in bind.execute(
        sa.select(draws.c.id, draws.c.drawn_at).order_by(draws.c.drawn_at, draws.c.id)
    ):
        day = china_date(drawn_at)
        counted[day] = counted.get(day, 0) + 1
        bind.execute(draws.update().where(draws.c.id == draw_id).values(drawn_on=day, day_sequence=counted[day]))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("status_reason")
    with op.batch_alter_table("inspection_draws") as batch:
        batch.drop_constraint("uq_inspection_draws_drawn_on_day_sequence", type_="unique")
        batch.drop_column("reason")
        batch.drop_column("day_sequence")
        batch.drop_column("drawn_on")
