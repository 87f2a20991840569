"""Application-side tables: the application (申请), one review per department (部门审查), the decision history,
the append-only audit log and the outbox that drives department pushes and aggregation durably."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from onelicense.review.transitions import ApplicationStatus, Decision, ReviewStatus
from onelicense.store.tables.types import EnumText, UTCDateTime, empty_dict, empty_list, new_id, utcnow


class Application(SQLModel, table=True):
    """One merged-form application for one industry, reviewed in parallel by several departments."""

    __tablename__ = "applications"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    reference: str = Field(unique=True, max_length=32, description="human-readable 申请编号, e.g. SQ20250612-7F3A2C")
    industry_code: str = Field(index=True)
    holder_name: str
    uscc: str = Field(description="统一社会信用代码")
    answers: dict[str, Any] = Field(default_factory=empty_dict, sa_type=JSON)
    materials: dict[str, Any] = Field(default_factory=empty_dict, sa_type=JSON)
    permit_codes: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    status: ApplicationStatus = Field(
        default=ApplicationStatus.SUBMITTED, sa_type=EnumText(ApplicationStatus), index=True
    )
    version: int = Field(default=1, description="optimistic lock: bumped by every conditional update")
    submitted_by: str = Field(index=True, description="user id of the applicant")
    idempotency_key: str | None = Field(default=None, unique=True, description="client key: a retried submit")
    request_digest: str | None = Field(
        default=None, max_length=64, description="sha256 of the submitted request: a key reused with another body"
    )
    # "USCC|industry|address" while the application or its license is active, NULL once it is not: one active
    # application or license per holder, industry and premises (migration 0004)
    open_key: str | None = Field(default=None, unique=True, max_length=700)
    # the submitting account's binding to the USCC was verified when it submitted (migration 0011): only then may
    # the application take the premises slot (open_key) and be granted instantly (秒批)
    holder_verified: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    composite_opinion: dict[str, Any] | None = Field(default=None, sa_type=JSON, description="综合审批意见")
    # 告知承诺书 as signed: {"signer", "text", "signed_at"}, the text verbatim (migration 0007)
    commitment_signature: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # "new" (新办) or "change" (变更) of the license `license_id`: a change is reviewed only by the departments whose
    # permits read a changed field, and its approval updates that license instead of issuing one (migration 0009)
    kind: str = Field(default="new", max_length=16)
    license_id: str | None = Field(default=None, index=True, max_length=32)
    # why a change or renewal application was closed (已终止办理) without being decided: its license ended
    # (migration 0012)
    status_reason: str | None = Field(default=None, sa_type=Text)


class DepartmentReview(SQLModel, table=True):
    """One department's review of one application (部门审查任务): the unit of the department queue."""

    __tablename__ = "department_reviews"
    __table_args__ = (UniqueConstraint("application_id", "department_code"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    application_id: str = Field(foreign_key="applications.id", index=True, max_length=32)
    department_code: str = Field(index=True)
    permit_codes: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    status: ReviewStatus = Field(default=ReviewStatus.PENDING, sa_type=EnumText(ReviewStatus), index=True)
    assignee: str | None = Field(default=None, description="user id of the reviewer who claimed or decided")
    decision: Decision | None = Field(default=None, sa_type=EnumText(Decision))
    opinion: str | None = Field(default=None, sa_type=Text)
    requested_items: list[str] = Field(
        default_factory=empty_list, sa_type=JSON, description="fields/materials to amend"
    )
    suggested_opinion: str | None = Field(default=None, sa_type=Text, description="辅助审批: the system's draft")
    key_fields: dict[str, Any] = Field(default_factory=empty_dict, sa_type=JSON, description="department payload")
    round: int = Field(default=1, description="1 for the first review, +1 after each amendment")
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # 红黄绿灯 as the local days the review turns yellow, is due (promised limit), turns red, passes the statutory
    # limit: set whenever it is (re)opened (services.catalog.review_dates), so the queue counts, filters and sorts
    # by colour in SQL (migration 0007)
    yellow_on: date | None = None
    due_on: date | None = Field(default=None, index=True)
    red_on: date | None = None
    past_statutory_on: date | None = None
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, description="optimistic lock: bumped by every conditional update")


class DecisionRecord(SQLModel, table=True):
    """Every decision ever taken on a review, one row per round: the current state lives on DepartmentReview."""

    __tablename__ = "decision_records"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    review_id: str = Field(foreign_key="department_reviews.id", index=True, max_length=32)
    application_id: str = Field(foreign_key="applications.id", index=True, max_length=32)
    department_code: str
    round: int
    decision: Decision = Field(sa_type=EnumText(Decision))
    opinion: str | None = Field(default=None, sa_type=Text)
    requested_items: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    actor: str = Field(description="Actor.label of the reviewer")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Append-only audit log: who did what to which entity, with the state before and after.

    The 0001 migration installs triggers that refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    # an integer key keeps insertion order readable; nothing else refers to audit rows
    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(description="Actor.label")
    action: str = Field(index=True, description="e.g. application.submit, review.decide")
    entity_type: str
    entity_id: str
    # the X-Request-ID of the request that caused it (migration 0016); None for the worker, the CLI, the flows
    request_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class OutboxMessage(SQLModel, table=True):
    """Work that must happen after a commit and survive a crash: a department push, an aggregation.

    Written in the same transaction as the state change that calls for it; a dispatcher leases due messages,
    does the work and marks them done or failed (with backoff)."""

    __tablename__ = "outbox_messages"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    kind: str = Field(index=True, description="department_push | aggregate")
    application_id: str = Field(foreign_key="applications.id", index=True, max_length=32)
    department_code: str | None = Field(default=None)
    payload: dict[str, Any] = Field(default_factory=empty_dict, sa_type=JSON)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # who holds the lease ("host:pid:start"): it renews the lease while working; a dead owner's lease is reclaimed
    lease_owner: str | None = Field(default=None, max_length=200)
    last_error: str | None = Field(default=None, sa_type=Text)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # set when retrying cannot help (a permanent error, or too many attempts): off the dispatcher's list, on the
    # admins' dead-letter list until one of them retries or discards it
    dead_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
