"""Set-based inserts that skip rows whose key already exists, on SQLite and PostgreSQL alike: what lets a sweep
run again, or two run at once, without writing anything twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def _insert(session: Session, table: Table) -> Any:
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no insert-or-skip for {dialect}")


def insert_missing_from(session: Session, table: Table, columns: Sequence[str], source: Select[Any]) -> int:
    """INSERT INTO table (columns) SELECT … ON CONFLICT DO NOTHING (no commit); returns how many were new.
    `source` must have a WHERE clause (SQLite reads `SELECT … ON CONFLICT` ambiguously without one)."""
    statement = _insert(session, table).from_select(list(columns), source).on_conflict_do_nothing()
    return int(session.connection().execute(statement).rowcount or 0)


def insert_missing(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the rows whose key is not there yet (no commit); returns how many were new."""
    if not rows:
        return 0
    statement = _insert(session, table).values([dict(r) for r in rows]).on_conflict_do_nothing()
    return int(session.connection().execute(statement).rowcount or 0)
