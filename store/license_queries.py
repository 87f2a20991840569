"""Read-only license queries: the live status behind every QR scan (stored statuses combined with the dates)
and the publicity list (证照公示). State changes live in services.licenses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, func, or_
from sqlmodel import Session, col, select

from licenses.status import CompositeStatus, LicenseStatus, PermitState, composite_status, permit_status
from onelicense.clock import china_date
from onelicense.errors import NotFound
from store.tables.license import License, LicensePermit
from store.tables.types import utcnow


@dataclass(frozen=True)
class PermitNow:
    permit: LicensePermit
    status: LicenseStatus  # stored status, or 失效 when past its last valid day


@dataclass(frozen=True)
class LicenseNow:
    """A license as it stands at `checked_at`: what the public verification page shows."""

    license: License
    permits: tuple[PermitNow, ...]
    composite: CompositeStatus
    checked_at: datetime

    @property
    def blocking_permits(self) -> tuple[PermitNow, ...]:
        return tuple(p for p in self.permits if p.permit.permit_code in self.composite.blocking)


# The query behind every QR scan: one round trip, built once (statement construction costs more than SQLite).
_CURRENT_STATUS = (
    select(License, LicensePermit)
    .outerjoin(LicensePermit, col(LicensePermit.license_id) == col(License.id))
    .where(col(License.number) == bindparam("number"))
    .order_by(col(LicensePermit.position))
)


def current_status(session: Session, number: str, *, at: datetime | None = None) -> LicenseNow:
    """The live status of a license (stored statuses combined with the dates); NotFound if unknown."""
    rows = session.execute(_CURRENT_STATUS, {"number": number}).all()
    if not rows:
        raise NotFound(f"许可证 {number} 不存在")
    return _now(rows[0][0], [permit for _, permit in rows if permit is not None], at or utcnow())


def _now(license_: License, permits: list[LicensePermit], at: datetime) -> LicenseNow:
    today = china_date(at)
    states = tuple(PermitNow(p, permit_status(p.status, p.valid_until, today)) for p in permits)
    composite = composite_status(
        license_.status, [PermitState(p.permit.permit_code, p.status, p.permit.mandatory) for p in states]
    )
    return LicenseNow(license_, states, composite, at)


@dataclass(frozen=True)
class PublicityPage:
    """One page of the publicity list (证照公示)."""

    items: tuple[LicenseNow, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def licenses_page(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    page: int,
    page_size: int,
    permit_conditions: Sequence[ColumnElement[bool]] = (),
) -> tuple[int, list[License], dict[str, list[LicensePermit]]]:
    """One page of the licenses matching `conditions`, newest first: (how many match, the page, each license's
    permits in certificate order, narrowed by `permit_conditions`). Two queries, whatever the page size."""
    total = session.exec(select(func.count()).select_from(License).where(*conditions)).one()
    rows = list(
        session.exec(
            select(License)
            .where(*conditions)
            .order_by(col(License.issued_at).desc(), col(License.number).desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    permits: dict[str, list[LicensePermit]] = {row.id: [] for row in rows}
    if rows:
        statement = (
            select(LicensePermit)
            .where(col(LicensePermit.license_id).in_(list(permits)), *permit_conditions)
            .order_by(col(LicensePermit.position))
        )
        for permit in session.exec(statement):
            permits[permit.license_id].append(permit)
    return int(total), rows, permits


def search_publicity(
    session: Session,
    *,
    q: str | None = None,
    industry: str | None = None,
    page: int = 1,
    page_size: int = 20,
    at: datetime | None = None,
) -> PublicityPage:
    """Issued licenses matching a name fragment, a USCC or a license number, and/or an industry, newest first."""
    page, page_size = max(1, page), min(max(1, page_size), 100)
    conditions = []
    if q and q.strip():
        q = q.strip()
        conditions.append(
            or_(
                col(License.holder_name).contains(q, autoescape=True),
                col(License.uscc) == q.upper(),
                col(License.number) == q.upper(),
            )
        )
    if industry:
        conditions.append(col(License.industry_code) == industry)
    total, rows, permits = licenses_page(session, conditions, page, page_size)
    at = at or utcnow()
    return PublicityPage(tuple(_now(row, permits[row.id], at) for row in rows), int(total), page, page_size)
