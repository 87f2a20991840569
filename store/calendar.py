"""The calendar_years rows: reading them as arrangements, and seeding the years shipped with the catalog.

Seeding never overwrites a year already in the database (an administrator's import wins over a release's data);
it runs after every schema upgrade, so a release that ships a new year brings it without a command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Connection, func, insert, select
from sqlmodel import Session, col
from sqlmodel import select as sqlmodel_select

from onelicense.clock import utcnow
from onelicense.forms.catalog import SHIPPED_CATALOG
from onelicense.review.calendar import YearArrangement, load_arrangements
from onelicense.settings import get_settings
from onelicense.store.tables.calendar import CalendarYear

SHIPPED = "随版本发布（catalog/calendar.yaml）"
SYSTEM = "system"


def shipped_arrangements() -> dict[int, YearArrangement]:
    """The reviewed years in the catalog folder in use (a deployment's own, else the shipped one)."""
    return load_arrangements(Path(get_settings().catalog_dir or SHIPPED_CATALOG))


def seed_shipped_years(connection: Connection, *, recomputed: bool = False) -> list[int]:
    """Insert the shipped years the table lacks; returns them. `recomputed`: mark them as already counted (the
    first seeding, when every stored deadline was counted on these very years)."""
    table = CalendarYear.__table__  # type: ignore[attr-defined]
    present = set(connection.execute(select(table.c.year)).scalars())
    now = utcnow()
    rows = [
        {
            "year": year,
            "holidays": arrangement.as_data()["holidays"],
            "workdays": arrangement.as_data()["makeup_workdays"],
            "source": SHIPPED,
            "imported_at": now,
            "imported_by": SYSTEM,
            "recomputed_at": now if recomputed else None,
        }
        for year, arrangement in sorted(shipped_arrangements().items())
        if year not in present
    ]
    if rows:
        connection.execute(insert(table), rows)
    return [int(str(r["year"])) for r in rows]


def arrangements(session: Session) -> dict[int, YearArrangement]:
    """Every year in the table as an arrangement."""
    rows = session.exec(sqlmodel_select(CalendarYear).order_by(col(CalendarYear.year)))
    return {row.year: as_arrangement(row) for row in rows}


def as_arrangement(row: CalendarYear) -> YearArrangement:
    return YearArrangement(
        row.year,
        frozenset(date.fromisoformat(d) for d in row.holidays),
        frozenset(date.fromisoformat(d) for d in row.workdays),
    )


def fingerprint(session: Session) -> tuple[int, str]:
    """Changes whenever a year is added or replaced: how many years, and the latest import time."""
    count, latest = session.execute(select(func.count(), func.max(col(CalendarYear.imported_at)))).one()
    return int(count or 0), str(latest)
