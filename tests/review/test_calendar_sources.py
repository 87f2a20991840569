"""The shipped holiday arrangements agree, day by day, with the packages that track the State Council's notices:
chinesecalendar (days off and make-up working days) and holidays (statutory days and days off "substituted
from" a weekend). A year none of them has is not in our data either: it stays provisional until imported."""

from __future__ import annotations

import re
from datetime import date, datetime

import chinese_calendar
import holidays
import pytest
from chinese_calendar import constants

from onelicense.forms.catalog import SHIPPED_CATALOG
from onelicense.review.calendar import load_arrangements

SHIPPED = load_arrangements(SHIPPED_CATALOG)


@pytest.mark.parametrize("year", sorted(SHIPPED))
def test_shipped_year_matches_chinesecalendar(year: int) -> None:
    ours = SHIPPED[year]
    assert ours.holidays == {d for d in constants.holidays if d.year == year}
    assert ours.workdays == {d for d in constants.workdays if d.year == year}


@pytest.mark.parametrize("year", sorted(SHIPPED))
def test_shipped_year_matches_the_holidays_package(year: int) -> None:
    ours = SHIPPED[year]
    listed = holidays.China(years=year)
    # it lists the statutory days and the weekdays given off; the rest of a break are weekends
    assert set(listed) <= ours.holidays
    assert all(d.weekday() >= 5 for d in ours.holidays - set(listed))
    substituted = {
        datetime.strptime(m.group(1), "%m/%d/%Y").date()
        for name in listed.values()
        if (m := re.search(r"substituted from (\d\d/\d\d/\d{4})", name))
    }
    assert substituted == ours.workdays


def test_a_year_no_source_has_yet_is_not_guessed() -> None:
    """When this fails a source has published the next year: check it against the notice and ship it."""
    next_year = max(SHIPPED) + 1
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_holiday(date(next_year, 1, 1))
    assert next_year not in SHIPPED
