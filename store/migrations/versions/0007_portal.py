"""The browser portal: users.login / password_hash / phone, applications.commitment_signature, and the tables
web_sessions, login_throttle, drafts, uploads and ratings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 18:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("department_reviews") as batch:
        for column in ("yellow_on", "due_on", "red_on", "past_statutory_on"):
            batch.add_column(sa.Column(column, sa.Date(), nullable=True))
        batch.create_index("ix_department_reviews_due_on", ["due_on"])
    _backfill_review_dates()
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("login", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch.create_unique_constraint("uq_users_login", ["login"])
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("commitment_signature", sa.JSON(), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("revoked_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", _when(), nullable=True),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttle"),
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("industry_code", sa.String(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_drafts"),
    )
    op.create_index("ix_drafts_user_id", "drafts", ["user_id"])
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_uploads"),
    )
    op.create_index("ix_uploads_owner_id", "uploads", ["owner_id"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("department_code", sa.String(length=50), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("reply_due", sa.Date(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_by", sa.String(length=32), nullable=True),
        sa.Column("replied_at", _when(), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"], name="fk_ratings_application_id_applications"),
        sa.PrimaryKeyConstraint("id", name="pk_ratings"),
        sa.UniqueConstraint("application_id", "department_code", name="uq_ratings_application_id_department_code"),
    )
    op.create_index("ix_ratings_application_id", "ratings", ["application_id"])
    op.create_index("ix_ratings_department_code", "ratings", ["department_code"])


def _backfill_review_dates() -> None:
    """Reviews opened before this migration get their colour-change days from the shipped catalog and calendar."""
    from onelicense.forms.catalog import get_catalog
    from onelicense.review.calendar import get_calendar
    from onelicense.review.sla import sla_dates
    from onelicense.store.tables.types import UTCDateTime

    catalog, calendar = get_catalog(), get_calendar()
    reviews = sa.table(
        "department_reviews",
        sa.column("id", sa.String()),
        sa.column("permit_codes", sa.JSON()),
        sa.column("opened_at", UTCDateTime()),
        *(sa.column(c, sa.Date()) for c in ("yellow_on", "due_on", "red_on", "past_statutory_on")),
    )
    connection = op.get_bind()
    for review_id, codes, opened_at in connection.execute(
        sa.select(reviews.c.id, reviews.c.permit_codes, reviews.c.opened_at)
    ).all():
        permits = [catalog.permits[c] for c in codes or [] if c in catalog.permits]
        promised = max((p.promised_days for p in permits), default=1)
        statutory = max((p.statutory_days for p in permits), default=None)
        dates = sla_dates(opened_at, promised, calendar, statutory_days=statutory)
        connection.execute(
            reviews.update()
            .where(reviews.c.id == review_id)
            .values(
                yellow_on=dates.yellow_on,
                due_on=dates.due_on,
                red_on=dates.red_on,
                past_statutory_on=dates.past_statutory_on,
            )
        )


def downgrade() -> None:
    for table in ("ratings", "uploads", "drafts", "login_throttle", "web_sessions"):
        op.drop_table(table)
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("commitment_signature")
    with op.batch_alter_table("department_reviews") as batch:
        batch.drop_index("ix_department_reviews_due_on")
        for column in ("past_statutory_on", "red_on", "due_on", "yellow_on"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_login", type_="unique")
        batch.drop_column("phone")
        batch.drop_column("password_hash")
        batch.drop_column("login")
