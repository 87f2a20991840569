"""Working days that never silently run out. With the clock frozen in late December 2026 the calendar holds 2026
only: deadlines counted into 2027 (across 元旦 and 春节) are marked provisional in the services' answers; importing
the 2027 arrangement counts the open ones again — reviews, commitments, their rectification — with an audit
event and a notice where a promised date moves; a date already passed, or an import of the same data, moves
nothing. Expected dates are counted here from the YAML files, not with the code under test."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
import yaml
from sqlmodel import Session, select

from onelicense.clock import CHINA_TIME
from onelicense.errors import Forbidden
from onelicense.forms.catalog import SHIPPED_CATALOG
from onelicense.forms.errors import CatalogError
from onelicense.review.calendar import parse_arrangements
from onelicense.review.obligations import ObligationKind
from onelicense.services import aggregation, calendar, licenses, notifications, obligations
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import Settings
from onelicense.store.tables.application import AuditEvent, DepartmentReview
from onelicense.store.tables.calendar import CalendarYear
from onelicense.store.tables.lifecycle import Notification, Obligation
from tests.builders import ADMIN, APPLICANT, SYSTEM, conditions_for, decide_all, reviewer, submit_valid

FIXTURE = Path(__file__).parent / "fixtures" / "calendar-2027-test.yaml"
SHIPPED = SHIPPED_CATALOG / "calendar.yaml"


def _days(*files: Path) -> tuple[set[date], set[date]]:
    off: set[date] = set()
    worked: set[date] = set()
    for file in files:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        off |= {date.fromisoformat(str(d)) for d in data["holidays"]}
        worked |= {date.fromisoformat(str(d)) for d in data["makeup_workdays"]}
    return off, worked


def working_days_after(start: date, n: int, *files: Path) -> date:
    """The n-th working day after `start`, on the days the files list (weekdays elsewhere)."""
    off, worked = _days(*files)
    day = start
    while n > 0:
        day += timedelta(days=1)
        if day in worked or (day.weekday() < 5 and day not in off):
            n -= 1
    return day


def at(day: date, hour: int = 10) -> time_machine.travel:
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TIME), tick=False)


def arrangement_2027() -> dict:  # type: ignore[type-arg]
    return parse_arrangements(yaml.safe_load(FIXTURE.read_text(encoding="utf-8")))


@pytest.fixture
def config(isolated_settings: Settings) -> LicenseConfig:
    return LicenseConfig.from_settings()


def test_deadlines_into_2027_are_provisional_then_corrected_when_2027_is_imported(
    session: Session, config: LicenseConfig
) -> None:
    monday = date(2026, 12, 28)
    with at(monday):
        conditions = conditions_for("CONVENIENCE_STORE", ["FOOD_BUSINESS", "OUTDOOR_SIGN"])
        application = submit_valid(session, APPLICANT, "CONVENIENCE_STORE", conditions=conditions).application
        [food_review] = [
            r for r in session.exec(select(DepartmentReview).where(DepartmentReview.application_id == application.id))
            if r.department_code == "SCJG"
        ]  # fmt: skip
        # 5 promised working days from Monday 28 December: counted through 1 January as if it were a weekday
        assert food_review.due_on == working_days_after(monday, 5, SHIPPED) == date(2027, 1, 4)
        assert calendar.working_calendar(session).provisional(food_review.due_on)
        assert calendar.coverage_warning(calendar=calendar.working_calendar(session)) is not None

        # a second application reaches its license the same day: its 60-working-day 要件后补 runs through 春节
        other = submit_valid(session, APPLICANT, "CONVENIENCE_STORE", conditions=conditions).application
        decide_all(session, other.id)
        aggregation.aggregate(session, other.id)
        licenses.issue_license(session, SYSTEM, other.id, config=config)
        supply = session.exec(
            select(Obligation).where(Obligation.application_id == other.id, Obligation.kind == ObligationKind.SUPPLY)
        ).one()
        assert supply.due_on == working_days_after(monday, 60, SHIPPED)
        supply_due = supply.due_on
        text = notifications.render(session, _reminder_of(session, supply)).body
        assert "按常规工作日推算，待节假日安排公布后校正" in text

    # the department orders rectification of an older obligation on 30 December: 10 working days into January
    with at(date(2026, 12, 30)):
        overdue = _an_overdue_obligation(session, config)
        ordered = obligations.order_rectification(session, reviewer("CGJ"), overdue.id, reason="请补交", days=10)
        assert ordered.rectify_due_on == working_days_after(date(2026, 12, 30), 10, SHIPPED)

    with at(date(2026, 12, 31)):
        preview = calendar.import_years(session, ADMIN, arrangement_2027(), source="test", apply=False)
        assert not preview.applied and [c.year for c in preview.changes if c.changed] == [2027]
        assert session.get(CalendarYear, 2027) is None  # a preview writes nothing
        with pytest.raises(Forbidden):
            calendar.import_years(session, reviewer("SCJG"), arrangement_2027(), source="test")
        result = calendar.import_years(session, ADMIN, arrangement_2027(), source="文件 calendar-2027-test.yaml")
        assert result.applied

        session.expire_all()
        assert session.get(DepartmentReview, food_review.id).due_on == working_days_after(monday, 5, SHIPPED, FIXTURE)  # type: ignore[union-attr]
        assert session.get(DepartmentReview, food_review.id).due_on == date(2027, 1, 5)  # type: ignore[union-attr]
        after_supply = session.get(Obligation, supply.id)
        assert after_supply is not None
        assert after_supply.due_on == working_days_after(monday, 60, SHIPPED, FIXTURE) > supply_due
        after_rectify = session.get(Obligation, overdue.id)
        assert after_rectify is not None
        assert after_rectify.rectify_due_on == working_days_after(date(2026, 12, 30), 10, SHIPPED, FIXTURE)
        assert not calendar.working_calendar(session).provisional(after_supply.due_on)

        moved = {(m.kind, m.row_id, m.column) for m in result.moved}
        assert {("department_review", food_review.id, "due_on"), ("obligation", supply.id, "due_on"),
                ("obligation", overdue.id, "rectify_due_on")} <= moved  # fmt: skip
        recounts = session.exec(select(AuditEvent).where(AuditEvent.action == "deadline.recount")).all()
        assert {(e.entity_type, e.entity_id) for e in recounts} >= {("obligation", supply.id), ("department_review", food_review.id)}
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "calendar.import")).one().entity_id == "2027"
        notices = {n.id: notifications.render(session, n) for n in session.exec(
            select(Notification).where(Notification.event == "deadline_moved"))}  # fmt: skip
        assert any("承诺办结日由 2027年1月4日 调整为 2027年1月5日" in r.body for r in notices.values())
        assert any("履约期限由" in r.body for r in notices.values())
        assert calendar.coverage_warning(calendar=calendar.working_calendar(session)) is None

        again = calendar.import_years(session, ADMIN, arrangement_2027(), source="test")
        assert not again.applied and again.moved == ()


def test_a_deadline_already_passed_is_not_moved(session: Session) -> None:
    with at(date(2026, 12, 28)):
        application = submit_valid(session, APPLICANT, "CONVENIENCE_STORE").application
        reviews = list(session.exec(select(DepartmentReview).where(DepartmentReview.application_id == application.id)))
        before = {r.id: r.due_on for r in reviews}
    with at(date(2027, 3, 1)):  # every one of these is past its promised day now
        result = calendar.import_years(session, ADMIN, arrangement_2027(), source="test")
    assert result.applied and result.moved == ()
    session.expire_all()
    assert {r.id: session.get(DepartmentReview, r.id).due_on for r in reviews} == before  # type: ignore[union-attr]


def test_the_calendar_warns_sixty_days_before_it_ends(session: Session) -> None:
    with at(date(2026, 10, 31)):
        assert calendar.coverage_warning(calendar=calendar.working_calendar(session)) is None
    with at(date(2026, 11, 1)):
        warning = calendar.coverage_warning(calendar=calendar.working_calendar(session))
        assert warning is not None and "2026-12-31" in warning and "onelicense calendar import" in warning
    with at(date(2027, 1, 4)):
        assert "已于 2026-12-31 结束" in (calendar.coverage_warning(calendar=calendar.working_calendar(session)) or "")


def test_a_year_a_release_ships_later_is_seeded_and_counted_by_the_sweep(
    session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onelicense.review.roles import SYSTEM_ACTOR
    from onelicense.settings import get_settings
    from onelicense.store.calendar import seed_shipped_years

    with at(date(2026, 12, 28)):
        application = submit_valid(session, APPLICANT, "CONVENIENCE_STORE").application
        [review] = [r for r in session.exec(select(DepartmentReview).where(
            DepartmentReview.application_id == application.id)) if r.department_code == "SCJG"]  # fmt: skip
        assert review.due_on == date(2027, 1, 4)
    # the next release's catalog folder: the shipped 2026 and the (here: test) 2027
    folder = tmp_path / "catalog"
    folder.mkdir()
    for item in SHIPPED_CATALOG.glob("*.yaml"):
        (folder / item.name).write_bytes(item.read_bytes())
    off, worked = _days(SHIPPED, FIXTURE)
    (folder / "calendar.yaml").write_text(
        yaml.safe_dump({"holidays": sorted(off), "makeup_workdays": sorted(worked)}), encoding="utf-8"
    )
    monkeypatch.setenv("ONELICENSE_CATALOG_DIR", str(folder))
    get_settings.cache_clear()
    assert seed_shipped_years(session.connection()) == [2027]
    session.commit()
    assert session.get(CalendarYear, 2027).recomputed_at is None  # type: ignore[union-attr]
    with at(date(2026, 12, 29)):
        moved = calendar.recompute_pending(session, SYSTEM_ACTOR)
        assert [(m.row_id, m.after) for m in moved if m.kind == "department_review" and m.row_id == review.id] == [
            (review.id, date(2027, 1, 5))
        ]
        assert calendar.recompute_pending(session, SYSTEM_ACTOR) == ()  # done once
    get_settings.cache_clear()


def test_a_partial_or_impossible_arrangement_is_refused() -> None:
    with pytest.raises(CatalogError, match="2027 年只有 3 个放假日"):
        parse_arrangements({"holidays": ["2027-01-01", "2027-01-02", "2027-01-03"]})
    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    with pytest.raises(CatalogError, match="调休上班日应在周末"):
        parse_arrangements({**data, "makeup_workdays": ["2027-02-22"]})  # a Monday
    with pytest.raises(CatalogError, match="既是放假日又是调休上班日"):
        parse_arrangements({**data, "makeup_workdays": ["2027-02-06"]})


def _reminder_of(session: Session, supply: Obligation) -> Notification:
    """A reminder notice of `supply`, written as the sweep would (its text quotes the due date)."""
    notifications.notify(session, "obligation_reminder", f"test:{supply.id}", user_id=supply.holder_user_id,
                         application_id=supply.application_id, obligation_id=supply.id)  # fmt: skip
    session.commit()
    return session.exec(select(Notification).where(Notification.id == f"obligation_reminder:test:{supply.id}")).one()


def _an_overdue_obligation(session: Session, config: LicenseConfig) -> Obligation:
    """A 要件后补 obligation of a license issued in September, past due and marked overdue by the sweep."""
    with at(date(2026, 9, 1)):
        conditions = conditions_for("CONVENIENCE_STORE", ["FOOD_BUSINESS", "OUTDOOR_SIGN"])
        application = submit_valid(session, APPLICANT, "CONVENIENCE_STORE", conditions=conditions).application
        decide_all(session, application.id)
        aggregation.aggregate(session, application.id)
        licenses.issue_license(session, SYSTEM, application.id, config=config)
    supply = session.exec(
        select(Obligation).where(Obligation.application_id == application.id, Obligation.kind == ObligationKind.SUPPLY)
    ).one()
    with at(supply.due_on + timedelta(days=1)):
        obligations.sweep(session)
    session.refresh(supply)
    return supply
