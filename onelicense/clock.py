"""Time as the reform counts it: stored in UTC, read in China's time zone (北京时间, UTC+8, no daylight saving).

Every date a user sees (a reference number's day, a permit's issue date, a deadline on the working-day calendar)
is the Beijing date of a UTC instant. One definition here, used by every layer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CHINA_TIME = timezone(timedelta(hours=8), "北京时间")  # a fixed offset is exact: China has no daylight saving


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC (what the database stores)."""
    return datetime.now(UTC)


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
