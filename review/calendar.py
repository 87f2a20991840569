"""The working-day calendar's data: each year's holiday arrangement (节假日安排 — the days off and the weekend days
worked in exchange, 调休上班) as the State Council publishes it, read from YAML and checked.

The shipped arrangements sit in the catalog folder (forms/catalog/calendar.yaml) beside the permits whose time
limits they count; they seed the database, which is the one source the services read (services.calendar), so an
administrator can import a new year without a release. A YAML file of the same shape is what an import reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from onelicense.forms.catalog import SHIPPED_CATALOG
from onelicense.forms.errors import CatalogError, CatalogProblem
from onelicense.review.sla import WorkingCalendar

FILE = "calendar.yaml"
# the statutory days off of a year (元旦 1, 春节 4, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3 since 2025): a year
# with fewer days off in the data is a partial arrangement, refused rather than counted with
MIN_DAYS_OFF = 13


@dataclass(frozen=True)
class YearArrangement:
    """One year's 节假日安排: its days off (放假, weekends inside a break included) and its make-up working days."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def as_data(self) -> dict[str, list[str]]:
        return {
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
            "makeup_workdays": [d.isoformat() for d in sorted(self.workdays)],
        }


def parse_arrangements(data: Mapping[str, Any] | None, where: str = FILE) -> dict[int, YearArrangement]:
    """The years of `data` ({holidays: [...], makeup_workdays: [...]}, dates as YAML dates or ISO strings), each
    checked: real dates, no day both off and worked, make-up days on weekends, and a whole year's days off."""
    data = data or {}
    days: dict[str, set[date]] = {}
    for key in ("holidays", "makeup_workdays"):
        values = data.get(key) or []
        if not isinstance(values, list):
            raise CatalogError([CatalogProblem(where, key, "应为日期列表")])
        parsed: set[date] = set()
        for value in values:
            day = _as_date(value)
            if day is None:
                raise CatalogError([CatalogProblem(where, key, f"应为日期（YYYY-MM-DD）：{value!r}")])
            parsed.add(day)
        days[key] = parsed
    problems: list[CatalogProblem] = []
    if both := sorted(days["holidays"] & days["makeup_workdays"]):
        problems.append(CatalogProblem(where, "makeup_workdays", f"{both[0]} 既是放假日又是调休上班日"))
    if weekdays := sorted(d for d in days["makeup_workdays"] if d.weekday() < 5):
        problems.append(CatalogProblem(where, "makeup_workdays", f"{weekdays[0]} 是工作日，调休上班日应在周末"))
    years = sorted({d.year for d in days["holidays"] | days["makeup_workdays"]})
    arrangements: dict[int, YearArrangement] = {}
    for year in years:
        off = frozenset(d for d in days["holidays"] if d.year == year)
        if len(off) < MIN_DAYS_OFF or date(year, 1, 1) not in off:
            problems.append(
                CatalogProblem(where, "holidays", f"{year} 年只有 {len(off)} 个放假日（或缺元旦）：安排不完整，未采用")
            )
            continue
        arrangements[year] = YearArrangement(year, off, frozenset(d for d in days["makeup_workdays"] if d.year == year))
    if problems:
        raise CatalogError(problems)
    return arrangements


def calendar_of(arrangements: Iterable[YearArrangement]) -> WorkingCalendar:
    """The working-day calendar the arrangements make, covering exactly their years."""
    items = list(arrangements)
    return WorkingCalendar(
        holidays=frozenset(d for a in items for d in a.holidays),
        makeup_workdays=frozenset(d for a in items for d in a.workdays),
        covered_years=frozenset(a.year for a in items),
    )


def load_arrangements(folder: Path) -> dict[int, YearArrangement]:
    """The arrangements kept in `folder`/calendar.yaml (none when the file is absent)."""
    path = folder / FILE
    if not path.is_file():
        return {}
    return parse_arrangements(yaml.safe_load(path.read_text(encoding="utf-8")), FILE)


def load_calendar(folder: Path) -> WorkingCalendar:
    path = folder / FILE
    if not path.is_file():
        return WorkingCalendar()  # weekdays only, coverage not tracked
    return calendar_of(load_arrangements(folder).values())


@lru_cache(maxsize=4)
def get_calendar(folder: Path | None = None) -> WorkingCalendar:
    """The calendar kept in `folder` (default: the shipped catalog's), loaded once per process."""
    return load_calendar(Path(folder or SHIPPED_CATALOG))


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
