"""信用公示: what the public sees of broken commitments (告知承诺制), read-only.

- 拟列入失信名单公示: holders under investigation whose 公示 period runs today or later — the holder, the department,
  the permit and the commitment broken, the basis, the period and where to make a statement (陈述申辩). The
  investigation's own notes stay inside.
- 失信名单: holders listed and not yet repaired (信用修复) whose listing has not run out — listed on, until, the
  reason given when listing, the permit withdrawn with it.

An entry leaves the list by itself on repair or expiry; the records stay in the database for the record. The same
rows feed the page, its JSON and the CSV exchange format (`EXCHANGE_COLUMNS`, documented in docs/lifecycle.md)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from onelicense import clock
from onelicense.review.obligations import ObligationStatus
from onelicense.services import catalog as catalogs
from onelicense.services.queries.spreadsheet import csv_bytes
from onelicense.store.tables.license import License
from onelicense.store.tables.lifecycle import CreditRecord, Obligation

BASIS = "申请人在告知承诺书中承诺按期履行{commitment}义务；未履行的，审批机关依法撤销相关许可，并将失信信息记入信用记录"
STATEMENT = "公示期内，当事人可向{department}提出陈述、申辩（可登录“一业一证”服务平台或到政务服务中心窗口提交）"

MAX_ROWS = 5_000  # per list and page; narrow by USCC for more


@dataclass(frozen=True)
class CreditEntry:
    """One public row of either list (`kind` 公示 or 失信名单)."""

    kind: str  # "publicity" (拟列入公示) | "listed" (失信名单)
    holder_name: str
    uscc: str
    department: str
    permit_name: str
    permit_number: str
    commitment: str
    basis: str
    start: date  # 公示 from / listed on
    end: date  # 公示 until (last day) / listed until (last day)
    reason: str | None  # the reason given when listing (None while in 公示)
    statement: str | None  # how to make a statement (公示 only)

    @property
    def kind_label(self) -> str:
        return "拟列入失信名单公示" if self.kind == "publicity" else "失信名单"


@dataclass(frozen=True)
class CreditLists:
    today: date
    publicity: tuple[CreditEntry, ...]
    listed: tuple[CreditEntry, ...]


def credit_lists(session: Session, *, uscc: str | None = None, today: date | None = None) -> CreditLists:
    """Both public lists as they stand `today` (Beijing date), newest first, optionally for one USCC."""
    today = today or clock.today()
    return CreditLists(today, tuple(_publicity(session, today, uscc)), tuple(_listed(session, today, uscc)))


def _publicity(session: Session, today: date, uscc: str | None) -> Iterator[CreditEntry]:
    statement = (
        select(Obligation, License.holder_name)
        .join(License, col(License.id) == col(Obligation.license_id))
        .where(
            col(Obligation.status) == ObligationStatus.INVESTIGATING,
            col(Obligation.publicity_until) >= today,
            *([col(Obligation.uscc) == uscc.upper()] if uscc else []),
        )
        .order_by(col(Obligation.publicity_from).desc(), col(Obligation.id))
        .limit(MAX_ROWS)
    )
    for obligation, holder_name in session.exec(statement):
        assert obligation.publicity_from is not None and obligation.publicity_until is not None  # set together
        department = catalogs.department_name(obligation.department_code)
        yield CreditEntry(
            "publicity", holder_name, obligation.uscc, department, catalogs.permit_names([obligation.permit_code])[0],
            obligation.permit_number, obligation.commitment, BASIS.format(commitment=obligation.commitment),
            obligation.publicity_from, obligation.publicity_until, None, STATEMENT.format(department=department),
        )  # fmt: skip


def _listed(session: Session, today: date, uscc: str | None) -> Iterator[CreditEntry]:
    statement = (
        select(CreditRecord, Obligation)
        .join(Obligation, col(Obligation.id) == col(CreditRecord.obligation_id))
        .where(
            col(CreditRecord.restored_on).is_(None),
            col(CreditRecord.blocked_until) >= today,
            *([col(CreditRecord.uscc) == uscc.upper()] if uscc else []),
        )
        .order_by(col(CreditRecord.listed_on).desc(), col(CreditRecord.id))
        .limit(MAX_ROWS)
    )
    for record, obligation in session.exec(statement):
        yield CreditEntry(
            "listed", record.holder_name, record.uscc, catalogs.department_name(obligation.department_code),
            catalogs.permit_names([obligation.permit_code])[0], obligation.permit_number, obligation.commitment,
            BASIS.format(commitment=obligation.commitment), record.listed_on, record.blocked_until, record.reason, None,
        )  # fmt: skip


# The exchange format of the CSV (one row per entry; UTF-8 with BOM; dates ISO 8601): column names and meaning are
# documented in docs/lifecycle.md so that a 信用中国 / credit-platform feed can take it as it is.
EXCHANGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("名单类型", "拟列入失信名单公示 | 失信名单"),
    ("市场主体名称", "持证人名称"),
    ("统一社会信用代码", "18 位"),
    ("认定部门", "作出决定的审批部门"),
    ("涉及许可事项", "许可事项名称"),
    ("许可编号", "分项许可编号"),
    ("承诺类型", "全信任 | 非核心要件信任 | 要件后补"),
    ("认定依据", "告知承诺书所载承诺及其后果"),
    ("起始日期", "公示开始日 | 列入日期"),
    ("截止日期", "公示期最后一日 | 失信名单有效期最后一日"),
    ("列入理由", "列入失信名单时部门给出的理由（公示中为空）"),
    ("陈述申辩", "公示期内陈述、申辩的途径（失信名单为空）"),
)


def credit_csv(lists: CreditLists) -> bytes:
    return csv_bytes([name for name, _ in EXCHANGE_COLUMNS], _csv_rows([*lists.publicity, *lists.listed]))


def _csv_rows(entries: Sequence[CreditEntry]) -> Iterator[tuple[object, ...]]:
    for e in entries:
        yield (e.kind_label, e.holder_name, e.uscc, e.department, e.permit_name, e.permit_number, e.commitment,
               e.basis, e.start.isoformat(), e.end.isoformat(), e.reason or "", e.statement or "")  # fmt: skip
