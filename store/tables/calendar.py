"""The working-day calendar's one source: each year's holiday arrangement (节假日安排) as imported.

Seeded from the reviewed years shipped in the catalog folder (never overwriting an imported year); later years
are imported by an administrator (`services.calendar.import_years`) without a release."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from onelicense.store.tables.types import UTCDateTime, empty_list, utcnow


class CalendarYear(SQLModel, table=True):
    __tablename__ = "calendar_years"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    holidays: list[str] = Field(default_factory=empty_list, sa_type=JSON, description="days off, ISO dates")
    workdays: list[str] = Field(default_factory=empty_list, sa_type=JSON, description="make-up working days, ISO dates")
    source: str = Field(max_length=200, description="where the arrangement came from (shipped, a file, a package)")
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    imported_by: str = Field(max_length=200)
    # when the open deadlines were last counted again on this year's data (None: not yet, e.g. a year a release
    # shipped: the next sweep does it)
    recomputed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
