"""The one clock, and time as the reform counts it: stored in UTC, read in China's time zone (北京时间, UTC+8, no
daylight saving).

Every step that reads "now" or "today" (deadlines, the sweep, listing after 公示, the renewal window, expiry, the
red/yellow/green colours, random inspections, timestamps stored) reads `utcnow()` / `today()` here. Outside
production the clock can be moved (ONELICENSE_CLOCK_SHIFT, e.g. P45D) so that training and acceptance tests walk
a months-long commitment cycle in an afternoon; every page then says so (`moved_by`). Every date a user sees is
the Beijing date of a UTC instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from onelicense.settings import get_settings

CHINA_TIME = timezone(timedelta(hours=8), "北京时间")  # a fixed offset is exact: China has no daylight saving
# said beside a deadline counted into a year whose holiday arrangement (节假日安排) is not yet in the calendar
PROVISIONAL_NOTE = "按常规工作日推算，待节假日安排公布后校正"


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC (what the database stores), moved by ONELICENSE_CLOCK_SHIFT if set."""
    shift = get_settings().clock_shift
    return datetime.now(UTC) + shift if shift else datetime.now(UTC)


def today() -> date:
    """Today's date in Beijing on the one clock."""
    return china_date(utcnow())


def moved_by() -> timedelta | None:
    """How far the clock is moved (None: it is not), for the banner every page shows while it is."""
    return get_settings().clock_shift or None


def moved_notice() -> str | None:
    """The banner's text while the clock is moved: a training or test system, never production."""
    shift = moved_by()
    if shift is None:
        return None
    days = shift.total_seconds() / 86400
    direction = "拨快" if days > 0 else "拨慢"
    return f"测试时钟：系统时间已{direction} {abs(days):g} 天（当前按 {china_time(utcnow())} 计），仅供培训与验收测试，不是正式办理。"


def china_date(at: datetime) -> date:
    """The Beijing calendar date of an aware instant."""
    return at.astimezone(CHINA_TIME).date()


def china_time(at: datetime) -> str:
    """`2026-03-04 09:30` in Beijing time."""
    return at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")


def cn_date(value: date | datetime) -> str:
    """`2026年3月4日`: a date as printed on Chinese documents (a datetime is read in Beijing time)."""
    if isinstance(value, datetime):
        value = china_date(value)
    return f"{value.year}年{value.month}月{value.day}日"
