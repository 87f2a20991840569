"""License tables: the composite license (licenses) and its constituent permits (license_permits).

Exactly-once issuing rests on the unique application_id; the publicity search uses the holder name, USCC and
industry indexes; verification looks licenses up by their unique number.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:46:41.265301
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "licenses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=True),
        sa.Column("idempotency_key", sa.String(), nullable=True),
        sa.Column("holder_name", sa.String(), nullable=False),
        sa.Column("uscc", sa.String(length=32), nullable=False),
        sa.Column("legal_representative", sa.String(), nullable=False),
        sa.Column("business_address", sa.String(), nullable=False),
        sa.Column("industry_code", sa.String(), nullable=False),
        sa.Column("industry_name", sa.String(), nullable=False),
        sa.Column("authority_name", sa.String(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("pdf_path", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_licenses_application_id_applications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses")),
        sa.UniqueConstraint("application_id", name=op.f("uq_licenses_application_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_licenses_idempotency_key")),
        sa.UniqueConstraint("number", name=op.f("uq_licenses_number")),
    )
    op.create_index(op.f("ix_licenses_holder_name"), "licenses", ["holder_name"], unique=False)
    op.create_index(op.f("ix_licenses_industry_code"), "licenses", ["industry_code"], unique=False)
    op.create_index(op.f("ix_licenses_issued_at"), "licenses", ["issued_at"], unique=False)
    op.create_index(op.f("ix_licenses_uscc"), "licenses", ["uscc"], unique=False)

    op.create_table(
        "license_permits",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("license_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("permit_code", sa.String(), nullable=False),
        sa.Column("permit_name", sa.String(), nullable=False),
        sa.Column("department_code", sa.String(), nullable=False),
        sa.Column("department_name", sa.String(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["license_id"], ["licenses.id"], name=op.f("fk_license_permits_license_id_licenses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license_permits")),
        sa.UniqueConstraint("license_id", "permit_code", name=op.f("uq_license_permits_license_id_permit_code")),
        sa.UniqueConstraint("license_id", "position", name=op.f("uq_license_permits_license_id_position")),
        sa.UniqueConstraint("number", name=op.f("uq_license_permits_number")),
    )
    op.create_index(op.f("ix_license_permits_department_code"), "license_permits", ["department_code"], unique=False)
    op.create_index(op.f("ix_license_permits_license_id"), "license_permits", ["license_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_license_permits_license_id"), table_name="license_permits")
    op.drop_index(op.f("ix_license_permits_department_code"), table_name="license_permits")

    op.drop_table("license_permits")
    op.drop_index(op.f("ix_licenses_uscc"), table_name="licenses")
    op.drop_index(op.f("ix_licenses_issued_at"), table_name="licenses")
    op.drop_index(op.f("ix_licenses_industry_code"), table_name="licenses")
    op.drop_index(op.f("ix_licenses_holder_name"), table_name="licenses")

    op.drop_table("licenses")
