"""Column types shared by the tables: timezone-aware UTC datetimes and enums stored as their string value.

Both behave the same on SQLite and PostgreSQL, so service code never sees a naive datetime or a bare string
where it expects a state enum."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from onelicense.clock import utcnow

__all__ = ["EnumText", "UTCDateTime", "empty_dict", "empty_list", "new_id", "utcnow"]


def new_id() -> str:
    """Primary keys: uuid4 as 32 hex characters."""
    return uuid.uuid4().hex


# The default factories of JSON columns. Not the builtins `list` and `dict`: building a table row, pydantic asks each
# default factory's signature (whether it takes the validated data) at every construction, and for a builtin that
# means parsing its text signature with `tokenize`, ~0.1 ms a field (a department review has three such fields).
def empty_list() -> list[Any]:
    """A new empty list."""
    return []


def empty_dict() -> dict[str, Any]:
    """A new empty dict."""
    return {}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out.

    SQLite has no time zone support, so the value is stored as naive UTC there; PostgreSQL gets a timestamptz.
    A naive datetime is refused on the way in: it would silently mean local time to someone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EnumText(TypeDecorator[StrEnum]):
    """A StrEnum stored as its value in a VARCHAR: no native PostgreSQL enum type to migrate when a state is added."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        if value is None:
            return None
        return self.enum_class(value)
