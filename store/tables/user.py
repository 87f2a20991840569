"""Users and their API tokens: a role and, for reviewers, the department they act for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from onelicense.review.roles import Role
from onelicense.store.tables.types import EnumText, UTCDateTime, empty_list, new_id, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    name: str
    role: Role = Field(sa_type=EnumText(Role))
    department_code: str | None = Field(default=None, index=True)
    # only the sha256 of the token is stored: a leaked database does not leak usable tokens
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # set by services.users.revoke_user: the token authenticates nobody from then on (migration 0003)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the 统一社会信用代码 an applicant account acts for: it may submit for these only (migration 0004)
    usccs: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    # portal sign-in (migration 0007): the account name (an applicant's is its mobile number), the argon2 hash of
    # its password, and the applicant's contact phone; a user without a password signs in with its API token only
    login: str | None = Field(default=None, unique=True, max_length=100)
    password_hash: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    # identity (migration 0011): the USCCs of `usccs` whose binding is verified (services.bindings), when the
    # phone was confirmed by a one-time code (nothing is sent to an unconfirmed number), and when the password
    # last changed (sessions opened before are ended)
    verified_usccs: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    phone_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # "<issuer>|<sub>" of the identity provider (统一身份认证, OIDC) the person signs in with, if any
    oidc_subject: str | None = Field(default=None, unique=True, max_length=300)
