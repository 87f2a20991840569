"""Red / yellow / green supervision on a working-day calendar with holidays and make-up days as data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from onelicense.clock import CHINA_TIME
from onelicense.review.sla import SlaLevel, WorkingCalendar, sla_state, working_days_used

# National Day week 2025: 1-8 Oct off, Sunday 28 Sep and Saturday 11 Oct are make-up working days (check)
CALENDAR = WorkingCalendar(
    holidays=frozenset(date(2025, 10, d) for d in range(1, 9)),
    makeup_workdays=frozenset({date(2025, 9, 28), date(2025, 10, 11)}),
)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TIME)


def test_acceptance_day_and_weekends_do_not_count() -> None:
    monday = date(2025, 6, 9)
    assert working_days_used(at(monday), at(monday, 17), CALENDAR) == 0
    assert working_days_used(at(monday), at(monday + timedelta(days=4)), CALENDAR) == 4  # Tue-Fri
    assert working_days_used(at(monday), at(monday + timedelta(days=7)), CALENDAR) == 5  # + next Monday


def test_holidays_and_make_up_days_come_from_the_calendar() -> None:
    # Fri 26 Sep → Sun 12 Oct: Sun 28 Sep (make-up), Mon 29, Tue 30, Thu 9, Fri 10, Sat 11 (make-up)
    assert working_days_used(at(date(2025, 9, 26)), at(date(2025, 10, 12)), CALENDAR) == 6


def test_pauses_stop_the_clock() -> None:
    monday = date(2025, 6, 9)
    paused = [(at(date(2025, 6, 10)), at(date(2025, 6, 12)))]  # Tue-Thu supplementing
    assert working_days_used(at(monday), at(date(2025, 6, 13)), CALENDAR, paused) == 1
    open_pause = [(at(date(2025, 6, 12)), None)]
    assert working_days_used(at(monday), at(date(2025, 6, 20)), CALENDAR, open_pause) == 2


@pytest.mark.parametrize(
    ("days_later", "level"),
    [
        (1, SlaLevel.GREEN),  # 1 of 10 used
        (8, SlaLevel.GREEN),  # 6 used: 4 left, under 2/3
        (10, SlaLevel.YELLOW),  # 8 used ≥ 2/3 of 10
        (15, SlaLevel.RED),  # 11 used > 10 promised
        (30, SlaLevel.PAST_STATUTORY),  # 21 used > 20 statutory
    ],
)
def test_levels(days_later: int, level: SlaLevel) -> None:
    monday = date(2025, 6, 9)
    state = sla_state(at(monday), at(monday + timedelta(days=days_later)), 10, CALENDAR, statutory_days=20)
    assert state.level is level
    assert state.remaining_days == 10 - state.used_days


def test_one_day_left_is_yellow_even_for_short_limits() -> None:
    monday = date(2025, 6, 9)
    assert sla_state(at(monday), at(monday), 2, CALENDAR).level is SlaLevel.GREEN
    assert sla_state(at(monday), at(monday + timedelta(days=1)), 2, CALENDAR).level is SlaLevel.YELLOW
    assert SlaLevel.RED.label.startswith("红灯")


def test_a_one_day_promise_is_green_on_its_first_day_and_yellow_on_its_last() -> None:
    """Issue 20: a 1-day promise was yellow from its first minute. It is green the day the work starts, yellow
    when its single working day is being used up, red after; the stored dates agree (SQL colours)."""
    from datetime import datetime as dt

    from onelicense.review.sla import nth_working_day, sla_dates

    calendar = CALENDAR
    started = dt(2025, 6, 9, 9, tzinfo=CHINA_TIME)  # a Monday
    dates = sla_dates(started, 1, calendar)
    for day, level in ((started.date(), SlaLevel.GREEN), (nth_working_day(started.date(), 1, calendar), SlaLevel.YELLOW),
                       (nth_working_day(started.date(), 2, calendar), SlaLevel.RED)):  # fmt: skip
        now = dt(day.year, day.month, day.day, 17, tzinfo=CHINA_TIME)
        assert sla_state(started, now, 1, calendar).level is level, day
        assert dates.level_on(day) is level, day
