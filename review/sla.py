"""Red / yellow / green supervision (红黄绿灯督办): how far a review or an application is into its time limit,
counted in working days on a calendar whose public holidays and make-up working days are data.

Pure: the caller passes the calendar and the limits (from the catalog) and the pauses (补正, 现场核查)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from onelicense.clock import CHINA_TIME, PROVISIONAL_NOTE
from onelicense.review.transitions import LabelledEnum


class SlaLevel(LabelledEnum):
    """督办等级, in increasing order of urgency."""

    GREEN = "green", "绿灯（正常）"
    YELLOW = "yellow", "黄灯（临近承诺时限）"
    RED = "red", "红灯（超过承诺时限）"
    PAST_STATUTORY = "past_statutory", "超过法定时限"


__all__ = ["PROVISIONAL_NOTE", "SlaDates", "SlaLevel", "SlaState", "WorkingCalendar", "nth_working_day"]


@dataclass(frozen=True)
class WorkingCalendar:
    """Monday to Friday, minus public holidays, plus make-up working days (调休上班) that fall on a weekend.

    `covered_years`: the years whose holiday arrangement (the State Council's 节假日安排) the data holds. A day
    past them is counted as a plain weekday calendar would, and a deadline that reaches it is provisional
    (`provisional`) until that year's arrangement is imported. None: coverage is not tracked (weekdays only, or a
    calendar made for a test)."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)
    covered_years: frozenset[int] | None = None

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    @property
    def covered_until(self) -> date | None:
        """The last day of the unbroken run of covered years from the first (None: not tracked or empty)."""
        if not self.covered_years:
            return None
        year = min(self.covered_years)
        while year + 1 in self.covered_years:
            year += 1
        return date(year, 12, 31)

    def provisional(self, day: date | None) -> bool:
        """Whether a deadline on `day` was counted past the arrangement the data holds (so it may still move)."""
        if day is None or self.covered_years is None:
            return False
        end = self.covered_until
        return end is None or day > end


@dataclass(frozen=True)
class SlaState:
    level: SlaLevel
    used_days: int  # working days counted so far
    remaining_days: int  # working days left before the promised limit (negative once past it)


def working_days_used(
    started: datetime,
    now: datetime,
    calendar: WorkingCalendar,
    paused: Iterable[tuple[datetime, datetime | None]] = (),
    tz: tzinfo = CHINA_TIME,
) -> int:
    """Working days from the day after `started` up to and including the day of `now`, in local time.

    The day of acceptance does not count (the usual reading of 行政许可法 time limits), and neither does any day
    inside a pause, e.g. while the applicant supplements materials; an open pause (end None) runs until now."""
    first, last = (started.astimezone(tz).date() + timedelta(days=1)), now.astimezone(tz).date()
    paused_days: set[date] = set()
    for begin, end in paused:
        day, until = begin.astimezone(tz).date(), (end or now).astimezone(tz).date()
        while day <= until:
            paused_days.add(day)
            day += timedelta(days=1)
    used, day = 0, first
    while day <= last:
        if calendar.is_working_day(day) and day not in paused_days:
            used += 1
        day += timedelta(days=1)
    return used


def sla_state(
    started: datetime,
    now: datetime,
    promised_days: int,
    calendar: WorkingCalendar,
    *,
    statutory_days: int | None = None,
    paused: Iterable[tuple[datetime, datetime | None]] = (),
    yellow_remaining_days: int = 1,
    yellow_used_fraction: float = 2 / 3,
    tz: tzinfo = CHINA_TIME,
) -> SlaState:
    """The supervision level: yellow when at most `yellow_remaining_days` are left or `yellow_used_fraction` of
    the promised limit is used — never on the day the work started (a 1-day promise is not yellow from its first
    minute); red past the promised limit; a further level past the statutory limit."""
    used = working_days_used(started, now, calendar, paused, tz)
    remaining = promised_days - used
    if statutory_days is not None and used > statutory_days:
        level = SlaLevel.PAST_STATUTORY
    elif remaining < 0:
        level = SlaLevel.RED
    elif used > 0 and (remaining <= yellow_remaining_days or used >= yellow_used_fraction * promised_days):
        level = SlaLevel.YELLOW
    else:
        level = SlaLevel.GREEN
    return SlaState(level=level, used_days=used, remaining_days=remaining)


@dataclass(frozen=True)
class SlaDates:
    """The same supervision as `sla_state`, as the days on which a review changes colour: stored with the review
    when it is (re)opened, so a queue of thousands is counted, filtered and sorted by colour in the database.

    On a local day `t`: past_statutory from `past_statutory_on`, red from `red_on`, yellow from `yellow_on`."""

    yellow_on: date
    due_on: date  # the last working day of the promised limit (承诺时限)
    red_on: date  # the first day past it
    past_statutory_on: date | None

    def level_on(self, today: date) -> SlaLevel:
        if self.past_statutory_on is not None and today >= self.past_statutory_on:
            return SlaLevel.PAST_STATUTORY
        if today >= self.red_on:
            return SlaLevel.RED
        if today >= self.yellow_on:
            return SlaLevel.YELLOW
        return SlaLevel.GREEN


def sla_dates(
    started: datetime,
    promised_days: int,
    calendar: WorkingCalendar,
    *,
    statutory_days: int | None = None,
    yellow_remaining_days: int = 1,
    yellow_used_fraction: float = 2 / 3,
    tz: tzinfo = CHINA_TIME,
) -> SlaDates:
    """The colour-change days of a review started at `started` (no pause: a reopened review starts afresh). A
    level holds once `used` working days reach a threshold, and `used` reaches n on the n-th working day."""
    start = started.astimezone(tz).date()
    # yellow once used >= k, the smallest k >= 1 with remaining <= N or used >= fraction * promised
    k = next(
        (
            used
            for used in range(1, promised_days + 1)
            if promised_days - used <= yellow_remaining_days or used >= yellow_used_fraction * promised_days
        ),
        max(1, promised_days),
    )
    return SlaDates(
        yellow_on=nth_working_day(start, k, calendar),
        due_on=nth_working_day(start, promised_days, calendar),
        red_on=nth_working_day(start, promised_days + 1, calendar),
        past_statutory_on=nth_working_day(start, statutory_days + 1, calendar) if statutory_days is not None else None,
    )


def nth_working_day(start: date, n: int, calendar: WorkingCalendar) -> date:
    """The day on which the n-th working day after `start` (not counting it) falls; `start` for n <= 0."""
    day, used = start, 0
    while used < n:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            used += 1
    return day
