"""The department desk's reading side (部门审查工作台): one page of a department's queue with its 红黄绿灯 counts,
and the licenses holding the department's permits with the permit changes a reviewer may make from there.

Colour is computed in SQL from the colour-change days stored on each review (`SlaDates`), with today's local
date as a parameter: the counts are one GROUP BY and the page one ordered, limited query, however long the
queue. State changes go through services.reviews and services.licenses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from onelicense import clock
from onelicense.errors import Forbidden, InvalidRequest, NotFound
from onelicense.licenses.status import (
    TERMINAL,
    TRANSITIONS,
    EffectiveStatus,
    LicenseStatus,
    Operation,
    effective_permit_status,
)
from onelicense.review.roles import Actor, Role, require_role
from onelicense.review.sla import SlaLevel, WorkingCalendar
from onelicense.review.transitions import OPEN_REVIEW_STATUSES, ReviewStatus
from onelicense.services import catalog as catalogs
from onelicense.services import licenses
from onelicense.store import inputs, license_queries
from onelicense.store.access import OVERSEERS
from onelicense.store.tables.application import Application, DepartmentReview
from onelicense.store.tables.license import License, LicensePermit
from onelicense.store.tables.user import User

# what a department's reviewer may do to one of its permits from the desk (暂扣, 发还, 撤销)
DESK_OPERATIONS = (Operation.SUSPEND, Operation.RESTORE, Operation.WITHDRAW)


class QueueSort(StrEnum):
    DUE = "due"  # least time left first (承诺时限 soonest)
    OPENED = "opened"  # longest waiting first


@dataclass(frozen=True)
class BoardRow:
    """One review as the queue lists it: 申请编号, 行业, 申请人, status, colour, time left, who holds it."""

    review_id: str
    application_id: str
    reference: str
    industry_code: str
    holder_name: str
    status: ReviewStatus
    round: int
    opened_at: datetime
    due_on: date | None
    level: SlaLevel
    working_days_left: int | None  # to the promised limit; negative once past it
    assignee_name: str | None
    version: int


@dataclass(frozen=True)
class QueuePage:
    """One page of a department's queue, the counts per colour of every review matching the filters (colour
    aside), and how many match the colour filter too (for paging)."""

    department_code: str
    rows: tuple[BoardRow, ...]
    counts: dict[SlaLevel, int]
    total: int
    page: int
    page_size: int
    today: date

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def queue_page(
    session: Session,
    actor: Actor,
    *,
    status: ReviewStatus | str | Iterable[ReviewStatus | str] | None = None,
    industry: str | None = None,
    level: SlaLevel | str | None = None,
    sort: QueueSort | str = QueueSort.DUE,
    page: int = 1,
    page_size: int = 50,
    department: str | None = None,
    today: date | None = None,
) -> QueuePage:
    """A reviewer's own department's queue (an overseer names `department`); open reviews unless `status` says
    otherwise. `today` is the local date the colours are computed for (default: now in China)."""
    department = _department(actor, department)
    statuses = _statuses(status)
    wanted = inputs.enum_value(SlaLevel, level, "督办等级") if level else None
    order = inputs.enum_value(QueueSort, sort, "排序方式")
    if not isinstance(page, int) or page < 1:
        raise InvalidRequest("页码必须是正整数")
    page_size = inputs.page_size(page_size)
    today = today or clock.today()
    colour = level_expression(today)

    conditions: list[ColumnElement[bool]] = [
        col(DepartmentReview.department_code) == department,
        col(DepartmentReview.status).in_(statuses),
    ]
    if industry:
        conditions.append(col(Application.industry_code) == industry)

    counted = select_columns(colour.label("level"), func.count()).select_from(DepartmentReview)
    if industry:  # the join only when it filters: the counts of a whole queue read one table
        counted = counted.join(Application, col(Application.id) == col(DepartmentReview.application_id))
    counted = counted.where(*conditions).group_by(colour)
    counts = dict.fromkeys(SlaLevel, 0)
    for value, n in session.execute(counted):
        counts[SlaLevel(value)] = int(n)
    total = counts[wanted] if wanted else sum(counts.values())

    listed = (
        select_columns(
            col(DepartmentReview.id),
            col(DepartmentReview.application_id),
            col(Application.reference),
            col(Application.industry_code),
            col(Application.holder_name),
            col(DepartmentReview.status),
            col(DepartmentReview.round),
            col(DepartmentReview.opened_at),
            col(DepartmentReview.due_on),
            colour.label("level"),
            col(User.name),
            col(DepartmentReview.version),
        )
        .join(Application, col(Application.id) == col(DepartmentReview.application_id))
        .outerjoin(User, col(User.id) == col(DepartmentReview.assignee))
        .where(*conditions)
    )
    if wanted is not None:
        listed = listed.where(colour == wanted.value)
    first = col(DepartmentReview.due_on) if order is QueueSort.DUE else col(DepartmentReview.opened_at)
    listed = listed.order_by(first, col(DepartmentReview.opened_at), col(DepartmentReview.id))
    listed = listed.offset((page - 1) * page_size).limit(page_size)

    calendar = catalogs.calendar(session)
    rows = tuple(
        BoardRow(
            review_id=r[0],
            application_id=r[1],
            reference=r[2],
            industry_code=r[3],
            holder_name=r[4],
            status=ReviewStatus(r[5]),
            round=r[6],
            opened_at=r[7],
            due_on=r[8],
            level=SlaLevel(r[9]),
            working_days_left=working_days_left(today, r[8], calendar) if r[8] else None,
            assignee_name=r[10],
            version=r[11],
        )
        for r in session.execute(listed)
    )
    return QueuePage(department, rows, counts, total, page, page_size, today)


def level_expression(today: date) -> ColumnElement[Any]:
    """`SlaDates.level_on(today)` as SQL over the stored days (a review without days counts as green)."""
    return case(
        (
            and_(
                col(DepartmentReview.past_statutory_on).is_not(None),
                col(DepartmentReview.past_statutory_on) <= today,
            ),
            literal(SlaLevel.PAST_STATUTORY.value),
        ),
        (col(DepartmentReview.red_on) <= today, literal(SlaLevel.RED.value)),
        (col(DepartmentReview.yellow_on) <= today, literal(SlaLevel.YELLOW.value)),
        else_=literal(SlaLevel.GREEN.value),
    )


def working_days_left(today: date, due_on: date, calendar: WorkingCalendar) -> int:
    """Working days after today up to and including `due_on` (0 on the due day itself); negative once past it:
    minus the working days from the day after `due_on` up to today."""
    if today <= due_on:
        return _working_days_between(today, due_on, calendar)
    return -_working_days_between(due_on, today, calendar)


def _working_days_between(after: date, until: date, calendar: WorkingCalendar) -> int:
    days, day = 0, after
    while day < until:
        day += timedelta(days=1)
        days += calendar.is_working_day(day)
    return days


# ------------------------------------------------------------------------------------------------- licenses


@dataclass(frozen=True)
class DeskPermit:
    """A permit of the department as it stands today, with the desk operations its stored status allows."""

    permit: LicensePermit
    effective: EffectiveStatus  # the more restrictive of the permit's own status and its license's
    operations: tuple[Operation, ...]

    @property
    def status(self) -> LicenseStatus:
        return self.effective.status


@dataclass(frozen=True)
class DeskLicense:
    license: License
    permits: tuple[DeskPermit, ...]  # only the department's


@dataclass(frozen=True)
class LicensePage:
    department_code: str
    items: tuple[DeskLicense, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def department_licenses(
    session: Session,
    actor: Actor,
    *,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
    department: str | None = None,
    today: date | None = None,
) -> LicensePage:
    """Licenses holding a permit of the reviewer's department, newest first, each with only that department's
    permits; `q` narrows to a holder name fragment or a license number."""
    department = _department(actor, department)
    if not isinstance(page, int) or page < 1:
        raise InvalidRequest("页码必须是正整数")
    page_size = inputs.page_size(page_size)
    today = today or clock.today()
    holding = select(LicensePermit.license_id).where(col(LicensePermit.department_code) == department)
    conditions: list[ColumnElement[bool]] = [col(License.id).in_(holding)]
    if q and q.strip():
        text = inputs.text(q, "查询条件", max_length=100)
        conditions.append(
            or_(col(License.holder_name).contains(text, autoescape=True), col(License.number) == text.upper())
        )
    total, found, permits = license_queries.licenses_page(
        session, conditions, page, page_size, [col(LicensePermit.department_code) == department]
    )
    items = tuple(DeskLicense(row, tuple(_desk_permit(row, p, today) for p in permits[row.id])) for row in found)
    return LicensePage(department, items, total, page, page_size)


def change_department_permit(
    session: Session, actor: Actor, number: str, permit_code: str, operation: Operation | str, *, reason: str
) -> LicensePermit:
    """Suspend, restore or withdraw the permit `permit_code` of license `number` (services.licenses.change_permit
    checks the department and the transition)."""
    chosen = inputs.enum_value(Operation, operation, "许可变更操作")
    if chosen not in DESK_OPERATIONS:
        raise InvalidRequest(f"工作台不提供「{chosen.label}」操作")
    reason = inputs.text(reason, f"{chosen.label}原因", max_length=500)
    permit = session.exec(
        select(LicensePermit)
        .join(License, col(License.id) == col(LicensePermit.license_id))
        .where(col(License.number) == number, col(LicensePermit.permit_code) == permit_code)
    ).first()
    if permit is None:
        raise NotFound(f"许可证 {number} 中没有该许可")
    return licenses.change_permit(session, actor, permit.number, chosen, reason=reason)


def _desk_permit(license_: License, permit: LicensePermit, today: date) -> DeskPermit:
    """A permit of an ended license (注销, 撤销, 吊销) offers no operation: services.licenses refuses them."""
    allowed = (
        ()
        if license_.status in TERMINAL
        else tuple(op for op in DESK_OPERATIONS if permit.status in TRANSITIONS[op][0])
    )
    effective = effective_permit_status(license_.status, permit.status, permit.valid_until, today)
    return DeskPermit(permit, effective, allowed)


# ---------------------------------------------------------------------------------------------------- helpers


def _department(actor: Actor, department: str | None) -> str:
    """A reviewer's own department (it may not name another); an overseer must name one."""
    if actor.role is Role.REVIEWER:
        if department is not None and department != actor.department_code:
            raise Forbidden("只能查看和办理本部门的事项")
        if not actor.department_code:
            raise Forbidden("该审批人员未设置所属部门")
        return actor.department_code
    require_role(actor, OVERSEERS, "查看部门工作台")
    if not department:
        raise InvalidRequest("请指定部门")
    return department


def _statuses(status: ReviewStatus | str | Iterable[ReviewStatus | str] | None) -> list[ReviewStatus]:
    if status is None:
        return sorted(OPEN_REVIEW_STATUSES)
    if isinstance(status, str):
        return [inputs.enum_value(ReviewStatus, status, "审查状态")]
    chosen = [inputs.enum_value(ReviewStatus, s, "审查状态") for s in status]
    return chosen or sorted(OPEN_REVIEW_STATUSES)
