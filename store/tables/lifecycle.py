"""Tables of a license's life after issuance: the commitments it carries (obligations), the dishonesty list
(失信名单) by holder, and the notifications sent to holders (the portal inbox; other channels through the outbox).

Obligation statuses change only through `services.obligations` (one step at a time, `review.obligations`) and
the daily sweep's set-based updates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from onelicense.review.obligations import ObligationKind, ObligationStatus
from onelicense.store.tables.types import EnumText, UTCDateTime, empty_dict, empty_list, new_id, utcnow


class Obligation(SQLModel, table=True):
    """One commitment of one issued permit: materials the holder owes (要件后补) or a check the department owes
    (事后核查), with its due date on the working-day calendar, and where it went from there."""

    __tablename__ = "obligations"
    __table_args__ = (
        # the daily sweep reads by status and day: reminders and overdue by due_on, lapses by rectify_due_on
        Index("ix_obligations_status_due_on", "status", "due_on"),
        Index("ix_obligations_status_rectify_due_on", "status", "rectify_due_on"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    license_id: str = Field(foreign_key="licenses.id", index=True, max_length=32)
    application_id: str | None = Field(default=None, max_length=32)
    holder_user_id: str | None = Field(default=None, max_length=32, description="the applicant who is notified")
    uscc: str = Field(index=True, max_length=32)
    permit_code: str
    permit_number: str = Field(max_length=40)
    department_code: str = Field(index=True)
    kind: ObligationKind = Field(sa_type=EnumText(ObligationKind))
    commitment: str = Field(description="全信任 | 非核心要件信任 | 要件后补")
    materials: list[str] = Field(default_factory=empty_list, sa_type=JSON, description="material codes owed or checked")
    due_on: date = Field(sa_type=Date)
    status: ObligationStatus = Field(default=ObligationStatus.OPEN, sa_type=EnumText(ObligationStatus))
    breached: bool = Field(default=False, description="was ever overdue or failed its inspection (not 守信)")
    submitted: dict[str, str] | None = Field(default=None, sa_type=JSON, description="material code → upload ref")
    rectify_due_on: date | None = Field(default=None, sa_type=Date, description="限期整改 deadline")
    publicity_until: date | None = Field(default=None, sa_type=Date, description="last day of the 公示 period")
    # what the two deadlines above were counted from, so a newly imported holiday arrangement can count them again
    rectify_from: date | None = Field(default=None, sa_type=Date, description="the day 限期整改 was ordered")
    rectify_days: int | None = Field(default=None, description="working days given to rectify")
    publicity_from: date | None = Field(default=None, sa_type=Date, description="the day the 公示 began")
    publicity_days: int | None = Field(default=None, description="working days of the 公示 period")
    note: str | None = Field(default=None, sa_type=Text, description="the last reason, finding or record")
    # migration 0015: the holder's 陈述申辩 during the 公示 and the department's answer (listing waits for it)
    statement: str | None = Field(default=None, sa_type=Text, description="陈述申辩")
    statement_answer: str | None = Field(default=None, sa_type=Text, description="the department's answer")
    # 信用修复 by application: the holder's statement and evidence (material label → upload ref), when it applied
    # and the working day by which the department decides
    repair_statement: str | None = Field(default=None, sa_type=Text)
    repair_evidence: dict[str, str] | None = Field(default=None, sa_type=JSON)
    repair_requested_on: date | None = Field(default=None, sa_type=Date)
    repair_due_on: date | None = Field(default=None, sa_type=Date)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CreditRecord(SQLModel, table=True):
    """A holder on the dishonesty list (失信名单) for a broken commitment: no commitment-based approval until
    `blocked_until`, unless restored (信用修复) earlier."""

    __tablename__ = "credit_records"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    uscc: str = Field(index=True, max_length=32)
    holder_name: str
    obligation_id: str = Field(foreign_key="obligations.id", unique=True, max_length=32)
    reason: str = Field(sa_type=Text)
    listed_on: date = Field(sa_type=Date)
    blocked_until: date = Field(sa_type=Date)
    restored_on: date | None = Field(default=None, sa_type=Date)
    restore_note: str | None = Field(default=None, sa_type=Text)


class Notification(SQLModel, table=True):
    """One message to a license holder, shown in its portal inbox and sent by the configured channels (webhook,
    email) through the outbox. The id is its dedupe key (e.g. ``reminder:5:<obligation id>``), so the sweep may
    run again and the same event is never announced twice. The text is rendered from `templates/notifications/`
    once, when the notice is made (a sweep's set-based rows: when first dispatched or shown), and kept verbatim in
    `subject` and `body`: a notice is a document served with fixed content; later facts make new notices
    (migration 0013). Addresses are looked up at sending time, never stored here."""

    __tablename__ = "notifications"

    id: str = Field(primary_key=True, max_length=96)
    event: str = Field(max_length=40)
    user_id: str | None = Field(default=None, index=True, max_length=32)
    application_id: str | None = Field(default=None, max_length=32)
    obligation_id: str | None = Field(default=None, max_length=32)
    permit_id: str | None = Field(default=None, max_length=32, description="license_permits.id")
    detail: str | None = Field(default=None, sa_type=Text, description="a reason or note the text quotes")
    subject: str | None = Field(default=None, sa_type=Text, description="the subject as served (NULL: not yet)")
    body: str | None = Field(default=None, sa_type=Text, description="the text as served (NULL: not yet)")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # set once the outbox messages of its channels are written (the sweep inserts rows only)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationReceipt(SQLModel, table=True):
    """One attempt to deliver a notification by one channel (migration 0014): `sent`, `failed` (the channel did not
    take it; the outbox tries again) or `no_address` (nobody to send it to on that channel). Which kind of address
    was used (the account's confirmed phone, the application's contact), never the address itself."""

    __tablename__ = "notification_receipts"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    notification_id: str = Field(index=True, max_length=96)
    channel: str = Field(max_length=20)
    result: str = Field(index=True, max_length=20, description="sent | failed | no_address")
    address_source: str | None = Field(default=None, max_length=20, description="account | application")
    detail: str | None = Field(default=None, sa_type=Text, description="why it failed (no personal data)")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InspectionDraw(SQLModel, table=True):
    """One recorded random draw (双随机) of licenses issued on commitments for on-site checks: the seed, the quotas,
    the population it drew from and what it chose, so the draw can be recomputed and audited. Every draw is kept;
    a second draw of the same Beijing day (a redraw) carries the reason it was made, so drawing until a selection
    suits someone shows."""

    __tablename__ = "inspection_draws"
    __table_args__ = (UniqueConstraint("drawn_on", "day_sequence"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    seed: str = Field(max_length=64)
    drawn_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    drawn_on: date = Field(sa_type=Date, description="the Beijing date of drawn_at")
    day_sequence: int = Field(description="1 for the first draw of drawn_on; 2, 3 ... are redraws")
    reason: str | None = Field(default=None, sa_type=Text, description="why the day was drawn again (重抽原因)")
    drawn_by: str = Field(max_length=200, description="the actor's label")
    quotas: dict[str, int] = Field(default_factory=empty_dict, sa_type=JSON)
    population: dict[str, list[str]] = Field(default_factory=empty_dict, sa_type=JSON, description="permit numbers")
    population_digest: str = Field(max_length=64)
    selected: dict[str, list[str]] = Field(default_factory=empty_dict, sa_type=JSON, description="permit numbers")
