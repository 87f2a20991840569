"""Who may act for a company (主体身份核验): the local stand-in of the business registry (市场主体登记), the
one-time codes that prove a phone or a binding, and the fixed-window counters every rate limit uses.

An applicant account claims the 统一社会信用代码 it acts for (users.usccs); a claim becomes a verified binding
(users.verified_usccs) only through `services.bindings`: a code sent to the legal representative's mobile on
record in the registry (the representative, or an agent it authorizes by passing the code on), an identity
provider's assertion (OIDC), or an administrator who created the account."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from onelicense.store.tables.types import UTCDateTime, new_id, utcnow


class RegistryEntry(SQLModel, table=True):
    """One business as the registry records it: the embedded default's stand-in for the 市场主体登记 system (a
    deployment points ONELICENSE_REGISTRY_URL at the real one instead)."""

    __tablename__ = "registry_entries"

    uscc: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200, description="企业名称 as registered")
    legal_representative: str = Field(max_length=100, description="法定代表人（负责人）")
    legal_rep_phone: str | None = Field(default=None, max_length=20, description="the representative's mobile on record")
    status: str = Field(default="存续", max_length=20, description="登记状态: 存续 | 注销 | 吊销 | 迁出 …")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OneTimeCode(SQLModel, table=True):
    """A code sent by SMS: to confirm a mobile number (`purpose` "phone") or a binding to a USCC ("binding").
    Only its hash is kept; a code is spent on its first correct use, refused after `max_attempts` wrong ones and
    after `expires_at`."""

    __tablename__ = "one_time_codes"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    purpose: str = Field(max_length=20, index=True)
    subject: str = Field(max_length=100, index=True, description="what it proves: a phone number or a USCC")
    user_id: str | None = Field(default=None, max_length=32, index=True, description="who asked (None: registration)")
    code_hash: str = Field(max_length=64)
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RateCounter(SQLModel, table=True):
    """Hits of one key (e.g. "sms:<phone hash>", "register:<address>") in the current fixed window."""

    __tablename__ = "rate_counters"

    key: str = Field(primary_key=True, max_length=200)
    window_start: datetime = Field(sa_type=UTCDateTime)
    hits: int = 0
