"""License-side tables: the composite license (行业综合许可证) and its constituent permits (分项许可).

Stored statuses change only through `services.licenses`; 失效 (expired) is never stored but derived from the
dates at read time (licenses.status)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from onelicense.licenses.status import LicenseStatus
from onelicense.store.tables.types import EnumText, UTCDateTime, new_id, utcnow


class License(SQLModel, table=True):
    """One composite license; at most one per application (exactly-once issuing)."""

    __tablename__ = "licenses"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    number: str = Field(unique=True, max_length=32, description="许可证编号, licenses.numbering")
    application_id: str | None = Field(
        default=None, foreign_key="applications.id", unique=True, max_length=32, description="null: migrated data"
    )
    idempotency_key: str | None = Field(default=None, unique=True, description="caller's key for a retried issue")
    holder_name: str = Field(index=True)
    uscc: str = Field(index=True, max_length=32, description="统一社会信用代码")
    legal_representative: str = Field(description="printed on the certificate, masked on public pages")
    business_address: str
    industry_code: str = Field(index=True)
    industry_name: str
    authority_name: str = Field(description="发证机关")
    issued_at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: LicenseStatus = Field(default=LicenseStatus.VALID, sa_type=EnumText(LicenseStatus))
    status_reason: str | None = Field(default=None, sa_type=Text)
    key_id: str = Field(max_length=16, description="kid of the key that signed the token")
    token: str = Field(sa_type=Text, description="the signed token in the QR code")
    pdf_path: str | None = Field(default=None, description="the rendered certificate; re-rendered when missing")
    document_key_id: str | None = Field(
        default=None,
        max_length=16,
        description="kid of the document key that signed the PDF at pdf_path; set when it is written (migration 0017)",
    )
    version: int = Field(default=1, description="optimistic lock: bumped by every conditional update")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # 版次: a change (变更) or a renewal (延续) reissues the certificate and its token; an older token's page says
    # 已更新 and links this one (migration 0009)
    edition: int = Field(default=1, description="第几版 of the certificate")
    edition_at: datetime | None = Field(default=None, sa_type=UTCDateTime, description="when this edition was issued")


class LicensePermit(SQLModel, table=True):
    """One constituent permit of a license, numbered ``<license number>-NN`` by its position."""

    __tablename__ = "license_permits"
    __table_args__ = (
        UniqueConstraint("license_id", "position"),
        UniqueConstraint("license_id", "permit_code"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    license_id: str = Field(foreign_key="licenses.id", index=True, max_length=32)
    position: int = Field(description="1-based order on the certificate and in the token")
    permit_code: str
    permit_name: str
    department_code: str = Field(index=True)
    department_name: str
    number: str = Field(unique=True, max_length=40)
    issued_on: date = Field(sa_type=Date)
    valid_until: date | None = Field(default=None, sa_type=Date)
    mandatory: bool = Field(default=True)
    status: LicenseStatus = Field(default=LicenseStatus.VALID, sa_type=EnumText(LicenseStatus))
    reason: str | None = Field(default=None, sa_type=Text, description="why the last operation was taken")
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LicenseCounter(SQLModel, table=True):
    """The last serial number given out per region and year: issuers take the next one under this row's lock, so
    concurrent issuers never compute the same number (migration 0006)."""

    __tablename__ = "license_counters"

    prefix: str = Field(primary_key=True, max_length=16, description="region code + year, e.g. 5001072026")
    last_serial: int = Field(default=0)
