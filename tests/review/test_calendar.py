"""The working-day calendar is data: holidays are not working days, make-up days are, and the levels follow."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onelicense.clock import CHINA_TIME
from onelicense.forms.errors import CatalogError
from onelicense.review.calendar import get_calendar, load_calendar
from onelicense.review.sla import SlaLevel, sla_dates, sla_state


def test_shipped_calendar_knows_holidays_and_make_up_days():
    calendar = get_calendar()
    assert not calendar.is_working_day(date(2026, 10, 1))  # 国庆
    assert calendar.is_working_day(date(2026, 10, 10))  # a Saturday worked in exchange
    assert calendar.is_working_day(date(2026, 11, 25))


def test_a_review_across_the_national_day_holiday_is_not_late():
    calendar = get_calendar()
    opened = datetime(2026, 9, 29, 2, tzinfo=UTC)
    # five promised working days: 9/30 and 10/8, 10/9, 10/10 (make-up Saturday) have passed by 10/10
    state = sla_state(opened, datetime(2026, 10, 10, 8, tzinfo=UTC), 5, calendar, statutory_days=20)
    assert state.used_days == 4 and state.level == SlaLevel.YELLOW
    late = sla_state(opened, datetime(2026, 10, 14, 8, tzinfo=UTC), 5, calendar, statutory_days=20)
    assert late.level == SlaLevel.RED


def test_a_bad_date_is_named(tmp_path):
    (tmp_path / "calendar.yaml").write_text("holidays: [not-a-date]\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"calendar.yaml \[holidays\]"):
        load_calendar(tmp_path)


@settings(max_examples=300, deadline=None)
@given(
    opened=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20), timezones=st.just(UTC)),
    days_later=st.integers(min_value=0, max_value=80),
    promised=st.integers(min_value=1, max_value=30),
    extra=st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
)
def test_colour_change_days_agree_with_the_level_on_every_day(opened, days_later, promised, extra):
    """The stored days (sla_dates) give the queue's colour in SQL; they must say what sla_state says, across
    holidays and make-up days."""
    calendar = get_calendar()
    statutory = None if extra is None else promised + extra
    now = opened + timedelta(days=days_later)
    expected = sla_state(opened, now, promised, calendar, statutory_days=statutory).level
    dates = sla_dates(opened, promised, calendar, statutory_days=statutory)
    assert dates.level_on(now.astimezone(CHINA_TIME).date()) == expected
