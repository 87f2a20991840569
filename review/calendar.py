"""The working-day calendar (public holidays, make-up working days), kept as data in the catalog folder
(forms/catalog/calendar.yaml) beside the permits whose time limits it counts."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from forms.catalog import SHIPPED_CATALOG
from forms.errors import CatalogError, CatalogProblem
from review.sla import WorkingCalendar

FILE = "calendar.yaml"


def load_calendar(folder: Path) -> WorkingCalendar:
    path = folder / FILE
    if not path.is_file():
        return WorkingCalendar()  # weekdays only
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    days: dict[str, frozenset[date]] = {}
    for key in ("holidays", "makeup_workdays"):
        values = data.get(key) or []
        bad = [v for v in values if not isinstance(v, date)]
        if bad:
            raise CatalogError([CatalogProblem(FILE, key, f"应为日期（YYYY-MM-DD）：{bad[0]!r}")])
        days[key] = frozenset(values)
    return WorkingCalendar(holidays=days["holidays"], makeup_workdays=days["makeup_workdays"])


@lru_cache(maxsize=4)
def get_calendar(folder: Path | None = None) -> WorkingCalendar:
    """The calendar kept in `folder` (default: the shipped catalog's), loaded once per process."""
    return load_calendar(Path(folder or SHIPPED_CATALOG))
