"""The publicity list (证照公示) as a spreadsheet: one row per permit, each with its effective status (the more
restrictive of the permit's own and its license's: licenses.status.effective_permit_status), the same words the
verify page shows. Public fields only: what a holder prints on its wall."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlmodel import Session

from onelicense.clock import china_date
from onelicense.services.queries.spreadsheet import csv_bytes
from onelicense.store import license_queries
from onelicense.store.license_queries import LicenseNow

MAX_LICENSES = 10_000  # one export; narrow the query (name, USCC, industry) for more
_PAGE = 100

HEADER = (
    "许可证编号",
    "经营者名称",
    "统一社会信用代码",
    "行业",
    "发证机关",
    "发证日期",
    "许可证状态",
    "许可编号",
    "许可事项",
    "发证部门",
    "有效期至",
    "许可状态",
    "状态说明",
)


def publicity_csv(
    session: Session, *, q: str | None = None, industry: str | None = None, at: datetime | None = None
) -> bytes:
    """Every license matching the publicity query (at most MAX_LICENSES, newest first), a row per permit."""
    return csv_bytes(HEADER, (row for item in _licenses(session, q, industry, at) for row in _rows(item)))


def _licenses(session: Session, q: str | None, industry: str | None, at: datetime | None) -> Iterator[LicenseNow]:
    for page in range(1, MAX_LICENSES // _PAGE + 1):
        found = license_queries.search_publicity(session, q=q, industry=industry, page=page, page_size=_PAGE, at=at)
        yield from found.items
        if page >= found.pages:
            return


def _rows(item: LicenseNow) -> Iterator[tuple[object, ...]]:
    license_ = item.license
    head = (
        license_.number,
        license_.holder_name,
        license_.uscc,
        license_.industry_name,
        license_.authority_name,
        china_date(license_.issued_at).isoformat(),
        item.composite.label,
    )
    for p in item.permits:
        valid = p.permit.valid_until.isoformat() if p.permit.valid_until else "长期"
        yield (*head, p.permit.number, p.permit.permit_name, p.permit.department_name, valid, p.status.label,
               p.effective.note or "")  # fmt: skip
