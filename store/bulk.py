"""Set-based inserts that skip rows whose key already exists, on SQLite and PostgreSQL alike: what lets a sweep
run again, or two run at once, without writing anything twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Selectable, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def _insert(session: Session, model: type[SQLModel]) -> Any:
    table: Table = model.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no insert-or-skip for {dialect}")


def insert_missing_from(session: Session, model: type[SQLModel], columns: Sequence[str], source: Selectable) -> int:
    """INSERT INTO the model's table (columns) SELECT … ON CONFLICT DO NOTHING (no commit); returns how many were new.
    `source` must have a WHERE clause (SQLite reads `SELECT … ON CONFLICT` ambiguously without one)."""
    statement = (
        _insert(session, model)
        .from_select(list(columns), source)
        .on_conflict_do_nothing()
        .execution_options(preserve_rowcount=True)  # SQLAlchemy reports INSERT counts only when asked
    )
    return int(session.connection().execute(statement).rowcount or 0)


def insert_missing(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the rows whose key is not there yet (no commit); returns how many were new."""
    if not rows:
        return 0
    connection = session.connection()
    statement = _insert_or_skip(connection.dialect.name, model)
    return int(connection.execute(statement, [dict(r) for r in rows]).rowcount or 0)


@cache
def _insert_or_skip(dialect: str, model: type[SQLModel]) -> Any:
    # built once and run with the rows as parameters: a submit's notice goes through here, and building the
    # statement with the row's values in it cost more than running it
    table: Table = model.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing().execution_options(preserve_rowcount=True)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing().execution_options(preserve_rowcount=True)
    raise NotImplementedError(f"no insert-or-skip for {dialect}")
