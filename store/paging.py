"""Totals for paged lists: how many rows a list query matches, whatever page of it is read (the API's lists answer
`{items, total, page, pages}`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlmodel import Session
from sqlmodel.sql._expression_select_cls import SelectBase


def count_rows(session: Session, statement: SelectBase[*tuple[Any, ...]]) -> int:
    """The number of rows `statement` selects (its ordering, offset and limit ignored)."""
    matching = statement.order_by(None).offset(None).limit(None).subquery()
    return int(session.execute(sql_select(func.count()).select_from(matching)).scalar_one())
