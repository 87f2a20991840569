"""The working-day calendar in use, and its administration: every deadline is counted on the holiday arrangements
(节假日安排) in the database, which an administrator extends without a release.

- `working_calendar(session)`: the calendar of the database `session` (or the default one) is on; re-read when a
  year is imported (checked at most every ONELICENSE_CALENDAR_REFRESH_SECONDS).
- `compare(session, incoming)` / `import_years(...)`: what an import would change, and the import itself — the
  years written, an audit event, and in the same transaction every open deadline that the changed years touch
  counted again (`recompute`), each move audited and, where a date promised to an applicant or holder moves, a
  notice to them.
- `coverage_warning(today)`: the calendar runs out within COVERAGE_WARNING_DAYS (catalog check, readiness).

A deadline counted past the last covered year is marked provisional wherever it is shown
(`review.sla.PROVISIONAL_NOTE`) and is counted again when that year arrives."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from onelicense import clock
from onelicense.clock import utcnow
from onelicense.review.calendar import YearArrangement, calendar_of
from onelicense.review.obligations import ObligationStatus, obligations_of
from onelicense.review.roles import Actor, Role, require_role
from onelicense.review.sla import PROVISIONAL_NOTE, WorkingCalendar, nth_working_day
from onelicense.review.transitions import OPEN_REVIEW_STATUSES
from onelicense.settings import get_settings
from onelicense.store import audit
from onelicense.store import calendar as rows
from onelicense.store.db import read_scope, transaction
from onelicense.store.tables.application import Application, DepartmentReview
from onelicense.store.tables.calendar import CalendarYear
from onelicense.store.tables.license import LicensePermit
from onelicense.store.tables.lifecycle import Obligation
from onelicense.store.tables.portal import Rating

log = logging.getLogger("onelicense.calendar")

COVERAGE_WARNING_DAYS = 60
__all__ = ["PROVISIONAL_NOTE", "working_calendar"]

# ------------------------------------------------------------------------------------------------ the calendar in use


@dataclass
class _Cached:
    checked: float
    key: tuple[int, str]
    calendar: WorkingCalendar


_cache: dict[str, _Cached] = {}
_lock = threading.Lock()


def working_calendar(session: Session | None = None) -> WorkingCalendar:
    """The calendar of the database `session` is on (None: the configured database). Cheap: the years are read
    again only when their fingerprint changed, and the fingerprint at most every refresh interval."""
    if session is not None:
        return _calendar(_url(session), lambda: session)
    try:
        with read_scope() as reader:
            return _calendar(_url(reader), lambda: reader)
    except SQLAlchemyError:  # a database not created yet (a command run before `db upgrade`)
        log.warning("工作日历：数据库尚不可读，暂按随版本发布的节假日安排计算")
        return calendar_of(rows.shipped_arrangements().values())


def _url(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url if isinstance(bind, Connection) else bind.url)


def _calendar(url: str, reader: Callable[[], Session]) -> WorkingCalendar:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(url)
    if cached is not None and now - cached.checked < get_settings().calendar_refresh_seconds:
        return cached.calendar
    session = reader()
    key = rows.fingerprint(session)
    if cached is None or cached.key != key:
        cached = _Cached(now, key, calendar_of(rows.arrangements(session).values()))
    else:
        cached.checked = now
    with _lock:
        _cache[url] = cached
    return cached.calendar


def forget() -> None:
    """Drop what this process read (after an import here; other processes notice within the refresh interval)."""
    with _lock:
        _cache.clear()


def coverage_warning(today: date | None = None, calendar: WorkingCalendar | None = None) -> str | None:
    """A warning when the holiday arrangements end within COVERAGE_WARNING_DAYS of `today` (or have ended)."""
    today = today or clock.today()
    calendar = calendar or working_calendar()
    end = calendar.covered_until
    if end is None:
        return "工作日历中没有任何年度的节假日安排：所有期限均按常规工作日推算。请导入节假日安排（onelicense calendar import）。"
    if end - today > timedelta(days=COVERAGE_WARNING_DAYS):
        return None
    when = "已于" if end < today else "将于"
    return (
        f"工作日历的节假日安排{when} {end.isoformat()} 结束（剩余 {max((end - today).days, 0)} 天）：此后的期限按常规工作日推算"
        f"并标注“{PROVISIONAL_NOTE}”。国务院办公厅公布 {end.year + 1} 年节假日安排后，请用 onelicense calendar import 导入。"
    )


# ------------------------------------------------------------------------------------------------ an import


@dataclass(frozen=True)
class YearChange:
    """What an import changes in one year (all empty and `new` False: the same data again)."""

    year: int
    new: bool
    holidays_added: tuple[date, ...] = ()
    holidays_removed: tuple[date, ...] = ()
    workdays_added: tuple[date, ...] = ()
    workdays_removed: tuple[date, ...] = ()

    @property
    def changed(self) -> bool:
        return self.new or any(
            (self.holidays_added, self.holidays_removed, self.workdays_added, self.workdays_removed)
        )

    def lines(self) -> list[str]:
        """The diff in Chinese, one line per kind of change."""
        if not self.changed:
            return [f"{self.year} 年：与现有数据相同"]
        out = [f"{self.year} 年：{'新增年度' if self.new else '修改'}"]
        for label, days, sign in (
            ("放假", self.holidays_added, "+"),
            ("放假", self.holidays_removed, "-"),
            ("调休上班", self.workdays_added, "+"),
            ("调休上班", self.workdays_removed, "-"),
        ):
            if days:
                out.append(f"  {sign} {label}：{'、'.join(d.isoformat() for d in days)}")
        return out


@dataclass(frozen=True)
class MovedDeadline:
    """One stored deadline counted again: which row and column, from and to."""

    kind: str  # review | obligation | rating
    row_id: str
    column: str
    before: date
    after: date


@dataclass(frozen=True)
class ImportResult:
    changes: tuple[YearChange, ...]
    moved: tuple[MovedDeadline, ...] = field(default=())
    applied: bool = False


def compare(session: Session, incoming: Mapping[int, YearArrangement]) -> tuple[YearChange, ...]:
    """Year by year, what importing `incoming` would change in the database's calendar."""
    current = rows.arrangements(session)
    changes = []
    for year, new in sorted(incoming.items()):
        old = current.get(year)
        if old is None:
            changes.append(YearChange(year, True, tuple(sorted(new.holidays)), (), tuple(sorted(new.workdays)), ()))
            continue
        changes.append(
            YearChange(
                year,
                False,
                tuple(sorted(new.holidays - old.holidays)),
                tuple(sorted(old.holidays - new.holidays)),
                tuple(sorted(new.workdays - old.workdays)),
                tuple(sorted(old.workdays - new.workdays)),
            )
        )
    return tuple(changes)


def import_years(
    session: Session, actor: Actor, incoming: Mapping[int, YearArrangement], *, source: str, apply: bool = True
) -> ImportResult:
    """Show (`apply` False) or make the import: the changed years written, audited, and every open deadline they
    touch counted again with notices where a promised date moves — one transaction. Admins only."""
    require_role(actor, {Role.ADMIN}, "导入节假日安排")
    changes = compare(session, incoming)
    changed = [c for c in changes if c.changed]
    if not apply or not changed:
        return ImportResult(changes, (), False)
    source = source[:200]
    with transaction(session):
        now = utcnow()
        for change in changed:
            data = incoming[change.year].as_data()
            row = session.get(CalendarYear, change.year) or CalendarYear(year=change.year, source=source, imported_by="")
            row.holidays, row.workdays = data["holidays"], data["makeup_workdays"]
            row.source, row.imported_at, row.imported_by = source, now, actor.label
            session.add(row)
            audit.record(session, actor, "calendar.import", "calendar_year", str(change.year), None,
                         {"source": source, "changes": change.lines()})  # fmt: skip
        session.flush()
        moved = _recompute(session, actor, {c.year for c in changed})
    forget()
    return ImportResult(changes, tuple(moved), True)


def recompute_pending(session: Session, actor: Actor) -> tuple[MovedDeadline, ...]:
    """Count again the deadlines touched by years that arrived without an import (a release's newly shipped
    years, seeded by `db upgrade`): the daily sweep runs it; a no-op when there are none. Commits."""
    with transaction(session):
        pending = list(session.exec(select(CalendarYear).where(col(CalendarYear.recomputed_at).is_(None))))
        if not pending:
            return ()
        moved = _recompute(session, actor, {row.year for row in pending})
    forget()
    return tuple(moved)


def _recompute(session: Session, actor: Actor, years: set[int]) -> list[MovedDeadline]:
    """Every open deadline whose count runs through one of `years`, counted again on the calendar as it now stands
    (no commit). Marks the years recomputed."""
    calendar = calendar_of(rows.arrangements(session).values())
    first = date(min(years), 1, 1)
    moved = [
        *_reviews(session, calendar, first),
        *_obligations(session, calendar, first),
        *_ratings(session, calendar, first),
    ]
    for item in moved:
        audit.record(session, actor, "deadline.recount", item.kind, item.row_id,
                     {item.column: item.before.isoformat()}, {item.column: item.after.isoformat()})  # fmt: skip
    _notify_moves(session, moved)
    now = utcnow()
    for year in years:
        row = session.get(CalendarYear, year)
        if row is not None:
            row.recomputed_at = now
            session.add(row)
    return moved


def _reviews(session: Session, calendar: WorkingCalendar, first: date) -> list[MovedDeadline]:
    """Open reviews not yet past their promised day whose colour-change days reach the changed years."""
    from onelicense.services import catalog as catalogs

    today = clock.today()
    moved = []
    last_day = func.coalesce(col(DepartmentReview.past_statutory_on), col(DepartmentReview.red_on))
    open_reviews = session.exec(
        select(DepartmentReview).where(
            col(DepartmentReview.status).in_(list(OPEN_REVIEW_STATUSES)),
            col(DepartmentReview.red_on) > today,
            last_day >= first,
        )
    )
    for review in open_reviews:
        dates = catalogs.review_date_columns(review.permit_codes, review.opened_at, calendar)
        before = review.due_on
        if all(getattr(review, column) == value for column, value in dates.items()):
            continue
        for column, value in dates.items():
            setattr(review, column, value)
        session.add(review)
        if before is not None and before != dates["due_on"]:
            moved.append(MovedDeadline("department_review", review.id, "due_on", before, dates["due_on"]))
    return moved


def _obligations(session: Session, calendar: WorkingCalendar, first: date) -> list[MovedDeadline]:
    """Open obligations' deadlines not yet passed that reach the changed years: the due date of one not yet
    overdue, a rectification deadline while rectifying, the end of the 公示 while investigating."""
    from onelicense.services import catalog as catalogs

    catalog = catalogs.catalog()
    inspection_days = get_settings().inspection_days
    today = clock.today()
    moved = []
    running = {
        "due_on": (ObligationStatus.OPEN, ObligationStatus.SUBMITTED),
        "rectify_due_on": (ObligationStatus.RECTIFYING,),
        "publicity_until": (ObligationStatus.INVESTIGATING,),
    }
    statement = select(Obligation).where(
        ((col(Obligation.due_on) >= first) & col(Obligation.status).in_(list(running["due_on"])))
        | ((col(Obligation.rectify_due_on) >= first) & (col(Obligation.status) == ObligationStatus.RECTIFYING))
        | ((col(Obligation.publicity_until) >= first) & (col(Obligation.status) == ObligationStatus.INVESTIGATING))
    )
    for obligation in session.exec(statement):
        wanted: dict[str, date] = {}
        if obligation.status in running["due_on"]:
            permit = session.exec(select(LicensePermit).where(LicensePermit.number == obligation.permit_number)).first()
            spec = catalog.permits.get(obligation.permit_code)
            if permit is not None and spec is not None:
                for item in obligations_of(spec, permit.issued_on, calendar, inspection_days=inspection_days):
                    if item.kind is obligation.kind:
                        wanted["due_on"] = item.due_on
        if obligation.status in running["rectify_due_on"] and obligation.rectify_due_on is not None:
            wanted["rectify_due_on"] = _recount(
                obligation.rectify_due_on, obligation.rectify_from, obligation.rectify_days, calendar
            )
        if obligation.status in running["publicity_until"] and obligation.publicity_until is not None:
            wanted["publicity_until"] = _recount(
                obligation.publicity_until, obligation.publicity_from, obligation.publicity_days, calendar
            )
        for column, value in wanted.items():
            before = getattr(obligation, column)
            if before != value and before >= today:
                setattr(obligation, column, value)
                moved.append(MovedDeadline("obligation", obligation.id, column, before, value))
                session.add(obligation)
    return moved


def _recount(before: date, start: date | None, days: int | None, calendar: WorkingCalendar) -> date:
    """A deadline of `days` working days from `start`, counted again (a row ordered before the counts were stored
    keeps its date: it was counted on years that were all covered then)."""
    if start is not None and days is not None:
        return nth_working_day(start, days, calendar)
    return before  # counted before this release, on the years it already had: nothing to correct


def _ratings(session: Session, calendar: WorkingCalendar, first: date) -> list[MovedDeadline]:
    moved = []
    days = get_settings().rating_reply_days
    today = clock.today()
    statement = select(Rating).where(
        col(Rating.reply).is_(None), col(Rating.reply_due) >= first, col(Rating.reply_due) >= today
    )
    for rating in session.exec(statement):
        assert rating.reply_due is not None
        value = nth_working_day(clock.china_date(rating.created_at), days, calendar)
        if value != rating.reply_due:
            moved.append(MovedDeadline("rating", rating.id, "reply_due", rating.reply_due, value))
            rating.reply_due = value
            session.add(rating)
    return moved


_PROMISED = {
    ("department_review", "due_on"): "承诺办结日",
    ("obligation", "due_on"): "履约期限",
    ("obligation", "rectify_due_on"): "整改期限",
    ("obligation", "publicity_until"): "公示期",
}


def _notify_moves(session: Session, moved: Sequence[MovedDeadline]) -> None:
    """A notice to the applicant or holder for each date promised to it that moved."""
    from onelicense.services import notifications

    for item in moved:
        what = _PROMISED.get((item.kind, item.column))
        if what is None:
            continue
        detail = f"{what}由 {clock.cn_date(item.before)} 调整为 {clock.cn_date(item.after)}"
        key = f"{item.row_id}:{item.column}:{item.after.isoformat()}"
        if item.kind == "department_review":
            review = session.get(DepartmentReview, item.row_id)
            application = session.get(Application, review.application_id) if review else None
            if application is None:
                continue
            notifications.notify(session, "deadline_moved", key, user_id=application.submitted_by,
                                 application_id=application.id, detail=detail)  # fmt: skip
        else:
            obligation = session.get(Obligation, item.row_id)
            if obligation is None:
                continue
            notifications.notify(session, "deadline_moved", key, user_id=obligation.holder_user_id,
                                 application_id=obligation.application_id, obligation_id=obligation.id,
                                 detail=detail)  # fmt: skip


def describe(changes: Sequence[YearChange]) -> list[str]:
    return [line for change in changes for line in change.lines()]


def as_mapping(arrangements: Mapping[int, YearArrangement]) -> dict[str, Any]:
    """Arrangements as the YAML file's data (what `calendar export` writes and `import` reads)."""
    holidays: list[str] = []
    workdays: list[str] = []
    for _, arrangement in sorted(arrangements.items()):
        data = arrangement.as_data()
        holidays += data["holidays"]
        workdays += data["makeup_workdays"]
    return {"holidays": holidays, "makeup_workdays": workdays}
