"""The service centre's supervision board (督办看板): red / yellow / green counts per department, the cases near or
past their limits, applications per status, working days used against the promised and statutory limits, the
ratings (好差评) per department, and the CSV exports of the same numbers.

Counting is done in the database (GROUP BY over the colour-change days each review stores, see
`services.catalog.review_dates`), so the board costs a few queries whatever the number of reviews. Only the
timeliness averages need the working-day calendar per decided review: they are computed from the last
`TIMELINESS_SAMPLE` decided reviews, each in constant time (a running count of working days per calendar day)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Case, case, func
from sqlmodel import Session, col, select

from onelicense import clock
from onelicense.clock import china_date, china_time
from onelicense.errors import NotFound
from onelicense.review.roles import Actor, Role, require_role
from onelicense.review.sla import SlaLevel, WorkingCalendar
from onelicense.review.transitions import OPEN_REVIEW_STATUSES, ApplicationStatus, ReviewStatus
from onelicense.services import catalog as catalogs
from onelicense.services import notifications, obligations
from onelicense.services.notifications import Undelivered
from onelicense.services.obligations import OverdueInspections
from onelicense.services.queries.spreadsheet import csv_bytes
from onelicense.services.ratings import OVERALL, POOR_SCORE
from onelicense.store.tables.application import Application, DepartmentReview
from onelicense.store.tables.portal import Rating
from onelicense.store.tables.user import User

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
TIMELINESS_SAMPLE = 5000  # decided reviews whose working days are counted for the averages, newest first
CASES_SHOWN = 500  # cases listed (the counts cover them all)
URGENCY = (SlaLevel.PAST_STATUTORY, SlaLevel.RED, SlaLevel.YELLOW, SlaLevel.GREEN)


@dataclass(frozen=True)
class DepartmentLights:
    """Open reviews of one department by colour (在办件红黄绿灯)."""

    department_code: str
    green: int = 0
    yellow: int = 0
    red: int = 0
    past_statutory: int = 0

    @property
    def total(self) -> int:
        return self.green + self.yellow + self.red + self.past_statutory

    def count(self, level: SlaLevel) -> int:
        return int(getattr(self, level.value))


@dataclass(frozen=True)
class SupervisedCase:
    """An open review at yellow or worse, with what a supervisor needs to chase it (督办件)."""

    review_id: str
    application_id: str
    reference: str
    industry_code: str
    department_code: str
    level: SlaLevel
    due_on: date | None
    opened_at: datetime


@dataclass(frozen=True)
class Timeliness:
    """Decided reviews of one department or industry: average working days used against the limits (平均用时)."""

    key: str
    decided: int
    average_used: float
    average_promised: float
    average_statutory: float | None


@dataclass(frozen=True)
class RatingSummary:
    """Ratings of one department ("" = the whole service): how many, the average, the poor ones and their replies."""

    department_code: str
    count: int
    average: float
    poor: int
    awaiting_reply: int
    overdue_replies: int


@dataclass(frozen=True)
class Board:
    today: date
    lights: list[DepartmentLights]
    cases: list[SupervisedCase]
    statuses: list[tuple[ApplicationStatus, int]]
    by_department: list[Timeliness]
    by_industry: list[Timeliness]
    ratings: list[RatingSummary]
    timeliness_sample: int  # decided reviews the averages were computed from
    overdue_inspections: list[OverdueInspections]  # the departments' own 事后核查 past their deadline
    undelivered: list[Undelivered]  # notices nobody could be reached by, per channel
    lights_total: DepartmentLights = field(init=False)

    def __post_init__(self) -> None:
        totals = {level.value: sum(row.count(level) for row in self.lights) for level in SlaLevel}
        object.__setattr__(self, "lights_total", DepartmentLights("", **totals))

    def timeliness_of(self, department_code: str) -> Timeliness | None:
        return next((t for t in self.by_department if t.key == department_code), None)

    def rating_of(self, department_code: str) -> RatingSummary | None:
        return next((r for r in self.ratings if r.department_code == department_code), None)


def board(session: Session, actor: Actor, today: date | None = None) -> Board:
    """Everything the supervision board shows, as of the local China day `today` (default: now)."""
    require_role(actor, SUPERVISORS, "查看督办看板")
    today = today or clock.today()
    by_department, by_industry, sample = timeliness(session)
    return Board(
        today=today,
        lights=department_lights(session, today),
        cases=supervised_cases(session, today),
        statuses=status_counts(session),
        by_department=by_department,
        by_industry=by_industry,
        ratings=rating_summaries(session, today),
        timeliness_sample=sample,
        overdue_inspections=obligations.overdue_inspections(session, today),
        undelivered=notifications.undelivered(session),
    )


def level_expression(today: date) -> Case[str]:
    """The colour of a review on `today` in SQL, the same rule as `review.sla.SlaDates.level_on`. A review without
    stored days (none since migration 0007) counts as green."""
    return case(
        (col(DepartmentReview.past_statutory_on) <= today, SlaLevel.PAST_STATUTORY.value),
        (col(DepartmentReview.red_on) <= today, SlaLevel.RED.value),
        (col(DepartmentReview.yellow_on) <= today, SlaLevel.YELLOW.value),
        else_=SlaLevel.GREEN.value,
    )


def department_lights(session: Session, today: date) -> list[DepartmentLights]:
    """Open reviews per department and colour: one GROUP BY."""
    level = level_expression(today).label("level")
    statement = (
        select(DepartmentReview.department_code, level, func.count())
        .where(col(DepartmentReview.status).in_(OPEN_REVIEW_STATUSES))
        .group_by(col(DepartmentReview.department_code), level)
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for department, colour, count in session.exec(statement):
        counts[department][colour] = int(count)
    return [DepartmentLights(code, **counts[code]) for code in sorted(counts)]


def supervised_cases(session: Session, today: date, limit: int = CASES_SHOWN) -> list[SupervisedCase]:
    """Open reviews at yellow or worse: past the statutory limit first, then red, then yellow; oldest due first."""
    level = level_expression(today)
    rank = case(
        (col(DepartmentReview.past_statutory_on) <= today, 0),
        (col(DepartmentReview.red_on) <= today, 1),
        else_=2,
    )
    statement = (
        select(DepartmentReview, Application.reference, Application.industry_code, level)
        .join(Application, col(Application.id) == col(DepartmentReview.application_id))
        .where(col(DepartmentReview.status).in_(OPEN_REVIEW_STATUSES), col(DepartmentReview.yellow_on) <= today)
        .order_by(rank, col(DepartmentReview.due_on), col(DepartmentReview.opened_at), col(DepartmentReview.id))
        .limit(limit)
    )
    return [
        SupervisedCase(
            review.id,
            review.application_id,
            reference,
            industry,
            review.department_code,
            SlaLevel(colour),
            review.due_on,
            review.opened_at,
        )
        for review, reference, industry, colour in session.exec(statement)
    ]


@dataclass(frozen=True)
class CaseReview:
    """One department's part of a supervised application, as the supervisor chases it."""

    department_code: str
    status: ReviewStatus
    round: int
    level: SlaLevel | None  # None once the department has decided
    due_on: date | None
    opened_at: datetime
    claimed_at: datetime | None
    decided_at: datetime | None
    handled_by: str | None  # the reviewer's name: whom to call


@dataclass(frozen=True)
class CaseFile:
    """An application seen from the board (督办件): where each department stands. No personal data of the applicant."""

    application_id: str
    reference: str
    industry_code: str
    status: ApplicationStatus
    submitted_at: datetime
    reviews: list[CaseReview]


def case_file(session: Session, actor: Actor, application_id: str, today: date | None = None) -> CaseFile:
    """One supervised application with every department's review, colour and handler (督办件详情)."""
    require_role(actor, SUPERVISORS, "查看督办件")
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound("申请不存在")
    today = today or clock.today()
    level = level_expression(today)
    statement = (
        select(DepartmentReview, level, User.name)
        .outerjoin(User, col(User.id) == col(DepartmentReview.assignee))
        .where(col(DepartmentReview.application_id) == application_id)
        .order_by(col(DepartmentReview.department_code))
    )
    reviews = [
        CaseReview(
            review.department_code,
            review.status,
            review.round,
            SlaLevel(colour) if review.status in OPEN_REVIEW_STATUSES else None,
            review.due_on,
            review.opened_at,
            review.claimed_at,
            review.decided_at,
            name,
        )
        for review, colour, name in session.exec(statement)
    ]
    return CaseFile(
        application.id,
        application.reference,
        application.industry_code,
        application.status,
        application.created_at,
        reviews,
    )


def status_counts(session: Session) -> list[tuple[ApplicationStatus, int]]:
    """Applications per status, in the order of the status enum (zeros included)."""
    statement = select(Application.status, func.count()).group_by(col(Application.status))
    found = {ApplicationStatus(status): int(count) for status, count in session.exec(statement)}
    return [(status, found.get(status, 0)) for status in ApplicationStatus]


def timeliness(session: Session, sample: int = TIMELINESS_SAMPLE) -> tuple[list[Timeliness], list[Timeliness], int]:
    """Average working days used per department and per industry, of the last `sample` decided reviews, against
    the promised and statutory limits of their permits; and how many reviews that was."""
    # whole review rows: SQLModel's typed select takes four columns at most, and the sample bounds the cost
    statement = (
        select(DepartmentReview, Application.industry_code)
        .join(Application, col(Application.id) == col(DepartmentReview.application_id))
        .where(col(DepartmentReview.decided_at).is_not(None))
        .order_by(col(DepartmentReview.decided_at).desc())
        .limit(sample)
    )
    rows = [
        (r.department_code, industry, tuple(r.permit_codes or ()), r.opened_at, r.decided_at)
        for r, industry in session.exec(statement)
        if r.decided_at is not None
    ]
    if not rows:
        return [], [], 0
    counter = WorkingDayCounter(
        catalogs.calendar(session), min(china_date(r[3]) for r in rows), max(china_date(r[4]) for r in rows)
    )
    limits: dict[tuple[str, ...], tuple[int, int | None]] = {}
    per_department: dict[str, list[tuple[int, int, int | None]]] = defaultdict(list)
    per_industry: dict[str, list[tuple[int, int, int | None]]] = defaultdict(list)
    for department, industry, permits, opened_at, decided_at in rows:
        if permits not in limits:
            limits[permits] = catalogs.review_limits(permits)
        promised, statutory = limits[permits]
        used = counter.between(china_date(opened_at), china_date(decided_at))
        per_department[department].append((used, promised, statutory))
        per_industry[industry].append((used, promised, statutory))
    return _averages(per_department), _averages(per_industry), len(rows)


class WorkingDayCounter:
    """Working days between two local days in constant time: a running count per calendar day of the range, the
    same count as `review.sla.working_days_used` (the start day excluded, the end day included, no pauses)."""

    def __init__(self, calendar: WorkingCalendar, first: date, last: date) -> None:
        self.first = first
        self.running: list[int] = []
        count, day = 0, first
        while day <= last:
            count += calendar.is_working_day(day)
            self.running.append(count)
            day += timedelta(days=1)

    def between(self, start: date, end: date) -> int:
        if end <= start:
            return 0
        return self.running[(end - self.first).days] - self.running[(start - self.first).days]


def _averages(groups: dict[str, list[tuple[int, int, int | None]]]) -> list[Timeliness]:
    result = []
    for key in sorted(groups):
        rows = groups[key]
        statutory = [s for _, _, s in rows if s is not None]
        result.append(
            Timeliness(
                key=key,
                decided=len(rows),
                average_used=round(sum(u for u, _, _ in rows) / len(rows), 1),
                average_promised=round(sum(p for _, p, _ in rows) / len(rows), 1),
                average_statutory=round(sum(statutory) / len(statutory), 1) if statutory else None,
            )
        )
    return result


def rating_summaries(session: Session, today: date) -> list[RatingSummary]:
    """Ratings per department (the whole service first): one GROUP BY."""
    poor = col(Rating.score) <= POOR_SCORE
    given = (
        select(Rating.department_code, func.count(), func.avg(Rating.score), func.sum(case((poor, 1), else_=0)))
        .group_by(col(Rating.department_code))
        .order_by(col(Rating.department_code))
    )
    unanswered = (
        select(Rating.department_code, func.count(), func.sum(case((col(Rating.reply_due) < today, 1), else_=0)))
        .where(poor, col(Rating.reply).is_(None))
        .group_by(col(Rating.department_code))
    )
    waiting = {code: (int(count), int(overdue or 0)) for code, count, overdue in session.exec(unanswered)}
    return [
        RatingSummary(code, int(count), round(float(average or 0), 2), int(p or 0), *waiting.get(code, (0, 0)))
        for code, count, average, p in session.exec(given)
    ]


# ---------------------------------------------------------------------------------------------------- CSV


def departments_csv(data: Board) -> bytes:
    """The per-department table as CSV, UTF-8 with a BOM (so Excel reads the Chinese names)."""
    header = [
        "部门代码",
        "部门名称",
        *(level.label for level in reversed(URGENCY)),
        "在办合计",
        "已办结（统计样本）",
        "平均用时（工作日）",
        "平均承诺时限（工作日）",
        "平均法定时限（工作日）",
        "评价数",
        "平均评分",
        "差评数",
    ]
    lights = {row.department_code: row for row in data.lights}
    codes = sorted(set(lights) | {t.key for t in data.by_department} | {r.department_code for r in data.ratings})
    rows: list[list[object]] = []
    for code in codes:
        if code == OVERALL:
            continue
        light = lights.get(code, DepartmentLights(code))
        done = data.timeliness_of(code)
        rated = data.rating_of(code)
        rows.append(
            [
                code,
                catalogs.department_name(code),
                *(light.count(level) for level in reversed(URGENCY)),
                light.total,
                done.decided if done else 0,
                done.average_used if done else "",
                done.average_promised if done else "",
                "" if done is None or done.average_statutory is None else done.average_statutory,
                rated.count if rated else 0,
                rated.average if rated else "",
                rated.poor if rated else 0,
            ]
        )
    return csv_bytes(header, rows)


def cases_csv(data: Board) -> bytes:
    """The supervised cases as CSV (UTF-8 with a BOM), in the board's order."""
    header = ["督办等级", "申请编号", "行业", "审查部门", "承诺办结日", "受理时间（北京时间）", "审查任务ID"]
    rows: list[list[object]] = [
        [
            case_.level.label,
            case_.reference,
            catalogs.industry_name(case_.industry_code),
            catalogs.department_name(case_.department_code),
            case_.due_on.isoformat() if case_.due_on else "",
            china_time(case_.opened_at),
            case_.review_id,
        ]
        for case_ in data.cases
    ]
    return csv_bytes(header, rows)
