"""Application and user tables: applications, department reviews, decision history, audit log, outbox, users.

The audit log is made append-only by triggers (UPDATE/DELETE refused), on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 19:43:26.028729
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("industry_code", sa.String(), nullable=False),
        sa.Column("holder_name", sa.String(), nullable=False),
        sa.Column("uscc", sa.String(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("permit_codes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("composite_opinion", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_applications_idempotency_key")),
        sa.UniqueConstraint("reference", name=op.f("uq_applications_reference")),
    )
    op.create_index(op.f("ix_applications_industry_code"), "applications", ["industry_code"], unique=False)
    op.create_index(op.f("ix_applications_status"), "applications", ["status"], unique=False)
    op.create_index(op.f("ix_applications_submitted_by"), "applications", ["submitted_by"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("entity_type", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"], unique=False)
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False)
    op.create_index("ix_audit_events_entity", "audit_events", ["entity_type", "entity_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("department_code", sa.String(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_users_token_hash")),
    )
    op.create_index(op.f("ix_users_department_code"), "users", ["department_code"], unique=False)

    op.create_table(
        "department_reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("department_code", sa.String(), nullable=False),
        sa.Column("permit_codes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("assignee", sa.String(), nullable=True),
        sa.Column("decision", sa.String(length=32), nullable=True),
        sa.Column("opinion", sa.Text(), nullable=True),
        sa.Column("requested_items", sa.JSON(), nullable=False),
        sa.Column("suggested_opinion", sa.Text(), nullable=True),
        sa.Column("key_fields", sa.JSON(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_department_reviews_application_id_applications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department_reviews")),
        sa.UniqueConstraint(
            "application_id", "department_code", name=op.f("uq_department_reviews_application_id_department_code")
        ),
    )
    op.create_index(
        op.f("ix_department_reviews_application_id"), "department_reviews", ["application_id"], unique=False
    )
    op.create_index(
        op.f("ix_department_reviews_department_code"), "department_reviews", ["department_code"], unique=False
    )
    op.create_index(op.f("ix_department_reviews_opened_at"), "department_reviews", ["opened_at"], unique=False)
    op.create_index(op.f("ix_department_reviews_status"), "department_reviews", ["status"], unique=False)

    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("department_code", sa.String(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_outbox_messages_application_id_applications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(op.f("ix_outbox_messages_application_id"), "outbox_messages", ["application_id"], unique=False)
    op.create_index(op.f("ix_outbox_messages_done_at"), "outbox_messages", ["done_at"], unique=False)
    op.create_index(op.f("ix_outbox_messages_kind"), "outbox_messages", ["kind"], unique=False)
    op.create_index(op.f("ix_outbox_messages_next_attempt_at"), "outbox_messages", ["next_attempt_at"], unique=False)

    op.create_table(
        "decision_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("review_id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("department_code", sa.String(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=True),
        sa.Column("requested_items", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_decision_records_application_id_applications")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["department_reviews.id"], name=op.f("fk_decision_records_review_id_department_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_records")),
    )
    op.create_index(op.f("ix_decision_records_application_id"), "decision_records", ["application_id"], unique=False)
    op.create_index(op.f("ix_decision_records_review_id"), "decision_records", ["review_id"], unique=False)

    _make_audit_log_append_only()


_PG_APPEND_ONLY = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
"""

_SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events"
    " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
    " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
]


def _make_audit_log_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f("ix_decision_records_review_id"), table_name="decision_records")
    op.drop_index(op.f("ix_decision_records_application_id"), table_name="decision_records")

    op.drop_table("decision_records")
    op.drop_index(op.f("ix_outbox_messages_next_attempt_at"), table_name="outbox_messages")
    op.drop_index(op.f("ix_outbox_messages_kind"), table_name="outbox_messages")
    op.drop_index(op.f("ix_outbox_messages_done_at"), table_name="outbox_messages")
    op.drop_index(op.f("ix_outbox_messages_application_id"), table_name="outbox_messages")

    op.drop_table("outbox_messages")
    op.drop_index(op.f("ix_department_reviews_status"), table_name="department_reviews")
    op.drop_index(op.f("ix_department_reviews_opened_at"), table_name="department_reviews")
    op.drop_index(op.f("ix_department_reviews_department_code"), table_name="department_reviews")
    op.drop_index(op.f("ix_department_reviews_application_id"), table_name="department_reviews")

    op.drop_table("department_reviews")
    op.drop_index(op.f("ix_users_department_code"), table_name="users")

    op.drop_table("users")
    op.drop_index("ix_audit_events_entity", table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_action"), table_name="audit_events")

    op.drop_table("audit_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_index(op.f("ix_applications_submitted_by"), table_name="applications")
    op.drop_index(op.f("ix_applications_status"), table_name="applications")
    op.drop_index(op.f("ix_applications_industry_code"), table_name="applications")

    op.drop_table("applications")
