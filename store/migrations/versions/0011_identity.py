"""Who may act for a company: registry_entries (the local stand-in of the business registry), one_time_codes (SMS
codes proving a phone or a binding), rate_counters (fixed-window limits); users.verified_usccs, phone_verified_at,
password_changed_at, oidc_subject; applications.holder_verified.

Accounts that existed before were created by an administrator (`users create`) or registered themselves; the
former keep acting for their USCCs (the administrator vouched), the latter must verify (their claims stay in
users.usccs, unverified).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_entries",
        sa.Column("uscc", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_representative", sa.String(length=100), nullable=False),
        sa.Column("legal_rep_phone", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uscc", name="pk_registry_entries"),
    )
    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_one_time_codes"),
    )
    op.create_index("ix_one_time_codes_purpose", "one_time_codes", ["purpose"])
    op.create_index("ix_one_time_codes_subject", "one_time_codes", ["subject"])
    op.create_index("ix_one_time_codes_user_id", "one_time_codes", ["user_id"])
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_counters"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("verified_usccs", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("phone_verified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(length=300), nullable=True))
        batch.create_unique_constraint("uq_users_oidc_subject", ["oidc_subject"])
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("holder_verified", sa.Boolean(), nullable=False, server_default=sa.false()))
    # accounts an administrator created (no self-registration: no password set at registration with a phone as
    # login) keep acting for what they were created for
    users = sa.table("users", sa.column("usccs", sa.JSON()), sa.column("verified_usccs", sa.JSON()),
                     sa.column("phone", sa.String()), sa.column("login", sa.String()))  # fmt: skip
    op.execute(
        users.update()
        .where(sa.or_(users.c.phone.is_(None), users.c.login.is_(None), users.c.login != users.c.phone))
        .values(verified_usccs=users.c.usccs)
    )
    # applications already holding a premises slot keep it
    applications = sa.table("applications", sa.column("open_key", sa.String()), sa.column("holder_verified", sa.Boolean()))
    op.execute(applications.update().where(applications.c.open_key.is_not(None)).values(holder_verified=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("holder_verified")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_oidc_subject", type_="unique")
        batch.drop_column("oidc_subject")
        batch.drop_column("password_changed_at")
        batch.drop_column("phone_verified_at")
        batch.drop_column("verified_usccs")
    op.drop_table("rate_counters")
    op.drop_index("ix_one_time_codes_user_id", table_name="one_time_codes")
    op.drop_index("ix_one_time_codes_subject", table_name="one_time_codes")
    op.drop_index("ix_one_time_codes_purpose", table_name="one_time_codes")
    op.drop_table("one_time_codes")
    op.drop_table("registry_entries")
