"""Read-only license queries: the live status behind every QR scan (stored statuses combined with the dates)
and the publicity list (证照公示). State changes live in services.licenses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, func, or_
from sqlmodel import Session, col, select

from onelicense.clock import china_date
from onelicense.errors import NotFound
from onelicense.licenses.status import (
    CompositeStatus,
    EffectiveStatus,
    LicenseStatus,
    PermitState,
    composite_status,
    effective_permit_status,
)
from onelicense.review.obligations import ObligationKind, ObligationStatus
from onelicense.store.tables.application import AuditEvent
from onelicense.store.tables.license import License, LicensePermit
from onelicense.store.tables.lifecycle import Obligation
from onelicense.store.tables.types import utcnow


@dataclass(frozen=True)
class PermitNow:
    permit: LicensePermit
    effective: EffectiveStatus  # licenses.status.effective_permit_status: what every reader shows

    @property
    def status(self) -> LicenseStatus:
        """The status shown for this permit: the more restrictive of its own and its license's."""
        return self.effective.status

    @property
    def own(self) -> LicenseStatus:
        """The permit's own status: stored, or 失效 when past its last valid day."""
        return self.effective.own


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


def public_stamp(session: Session, number: str) -> tuple[int, datetime, int] | None:
    """What moves whenever the public page of a license may change: the license row's version and last update,
    and the newest audit event anywhere (every state change — license, permit, obligation — writes one in its own
    transaction). One indexed query; None for an unknown number."""
    newest_event = select(func.max(AuditEvent.id)).scalar_subquery()
    statement = select(License.version, License.updated_at, newest_event).where(col(License.number) == number)
    row = session.execute(statement).first()
    return None if row is None else (int(row[0]), row[1], int(row[2] or 0))


def _now(license_: License, permits: list[LicensePermit], at: datetime) -> LicenseNow:
    today = china_date(at)
    states = tuple(
        PermitNow(p, effective_permit_status(license_.status, p.status, p.valid_until, today)) for p in permits
    )
    composite = composite_status(
        license_.status, [PermitState(p.permit.permit_code, p.own, p.permit.mandatory) for p in states]
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


# the public history (许可证履历): what happened to a license and its permits, by action, without who or why
_HISTORY_LABELS = {
    "license.issue": "新发",
    "license.reissue": "换发新版",
    "license.change": "变更",
    "license.suspend": "暂扣",
    "license.restore": "发还",
    "license.withdraw": "撤销",
    "license.cancel": "注销",
    "license.revoke": "吊销",
    "license_permit.suspend": "暂扣",
    "license_permit.restore": "发还",
    "license_permit.withdraw": "撤销",
    "license_permit.cancel": "注销",
    "license_permit.revoke": "吊销",
    "license_permit.renew": "延续",
}


@dataclass(frozen=True)
class HistoryEntry:
    day: date
    label: str
    permit_name: str | None  # None: the license as a whole


def public_history(session: Session, now: LicenseNow) -> list[HistoryEntry]:
    """The license's public history, oldest first (one indexed query): issuance, editions, changes and every status
    operation, plus the permits that ran out (失效) by their dates."""
    names = {p.permit.number: p.permit.permit_name for p in now.permits}
    statement = (
        select(AuditEvent.at, AuditEvent.action, AuditEvent.entity_id)
        .where(
            or_(
                (col(AuditEvent.entity_type) == "license") & (col(AuditEvent.entity_id) == now.license.number),
                (col(AuditEvent.entity_type) == "license_permit") & col(AuditEvent.entity_id).in_(list(names)),
            ),
            col(AuditEvent.action).in_(list(_HISTORY_LABELS)),
        )
        .order_by(col(AuditEvent.id))
    )
    entries = [
        HistoryEntry(china_date(at), _HISTORY_LABELS[action], names.get(entity_id))
        for at, action, entity_id in session.exec(statement)
    ]
    for p in now.permits:
        if p.own is LicenseStatus.EXPIRED and p.permit.valid_until is not None:
            entries.append(HistoryEntry(p.permit.valid_until + timedelta(days=1), "失效", p.permit.permit_name))
    return sorted(entries, key=lambda e: e.day)  # stable: same-day events keep the order they happened in


def pending_inspections(session: Session, license_id: str) -> frozenset[str]:
    """The permit numbers of the license granted on a commitment (先予许可) whose 事后核查 is not done yet: the public
    page says so beside their status. One indexed query."""
    statement = select(Obligation.permit_number).where(
        col(Obligation.license_id) == license_id,
        col(Obligation.kind) == ObligationKind.INSPECTION,
        col(Obligation.status) == ObligationStatus.OPEN,
    )
    return frozenset(session.exec(statement))
