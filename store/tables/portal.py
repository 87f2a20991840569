"""Tables of the browser portal: sign-in sessions and login throttling, applicants' drafts, uploaded material
files, and the ratings (好差评) with their follow-up."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from onelicense.store.tables.types import UTCDateTime, empty_dict, new_id, utcnow


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie carries a random id, the table only its sha256 (a leaked table signs nobody
    in). Revoked at logout or when the user is revoked; the CSRF token of its forms lives with it."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(index=True, max_length=32)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per account ("login:<name>") and per client address ("ip:<addr>"): after N failures in a
    row the key is locked until `locked_until`."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=300)
    failures: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Draft(SQLModel, table=True):
    """An application being filled in (草稿), per applicant account: resumed later, deleted at submission."""

    __tablename__ = "drafts"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(index=True, max_length=32)
    industry_code: str
    answers: dict[str, Any] = Field(default_factory=empty_dict, sa_type=JSON)
    materials: dict[str, Any] = Field(default_factory=empty_dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Upload(SQLModel, table=True):
    """A material file an applicant uploaded: the bytes live under the data folder by their sha256; the name the
    applicant gave is metadata only (never a path)."""

    __tablename__ = "uploads"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    owner_id: str = Field(index=True, max_length=32)
    sha256: str = Field(max_length=64)
    original_name: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Rating(SQLModel, table=True):
    """好差评: the applicant's rating of the whole service (department_code "") or of one department, after the
    decision. A poor one (差评, score ≤ 2) opens a follow-up for the department's head: a reply due by
    `reply_due` (working days) with the 整改 taken."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("application_id", "department_code"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    application_id: str = Field(foreign_key="applications.id", index=True, max_length=32)
    department_code: str = Field(default="", max_length=50, index=True)
    score: int
    comment: str | None = Field(default=None, sa_type=Text)
    rated_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reply_due: date | None = None
    reply: str | None = Field(default=None, sa_type=Text)
    replied_by: str | None = Field(default=None, max_length=32)
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
