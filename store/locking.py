"""Row locks and optimistic version checks shared by the service functions.

Every state change of a review or an application is a conditional UPDATE ... WHERE id = ? AND version = ?:
zero rows updated means someone else changed the row first, and the caller gets a Conflict instead of
silently overwriting their work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, select

from onelicense.errors import Conflict, NotFound
from store.tables.application import Application
from store.tables.types import utcnow


def lock_application(session: Session, application_id: str) -> Application:
    """Start the write transaction by locking the application row, then read it fresh.

    All changes to an application or its reviews take this lock first, so they run one at a time per
    application (PostgreSQL: row lock; SQLite: the database write lock) and always in the same order,
    application before review, which rules out deadlocks. Reading after the lock means the caller decides on
    the latest committed state, e.g. whether its decision is the last one."""
    result = session.execute(
        update(Application)
        .where(Application.id == application_id)  # type: ignore[arg-type]
        .values(version=Application.version)  # a write that changes nothing: it only takes the lock
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("申请不存在")
    statement = select(Application).where(Application.id == application_id)
    return session.exec(statement.execution_options(populate_existing=True)).one()


def update_versioned(session: Session, row: SQLModel, conflict_message: str, **values: Any) -> None:
    """Write `values` to `row` only if its version is still the one we read, and bump the version.

    Raises Conflict when another transaction got there first. On success the in-memory row carries the new
    values as if freshly loaded, so the ORM has nothing left to flush for it."""
    table: Any = type(row)
    version: int = row.version  # type: ignore[attr-defined]
    if "updated_at" in table.model_fields:
        values.setdefault("updated_at", utcnow())
    values["version"] = version + 1
    result = session.execute(
        update(table)
        .where(table.id == row.id, table.version == version)  # type: ignore[attr-defined]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(conflict_message)
    for name, value in values.items():
        set_committed_value(row, name, value)


def check_version(row: SQLModel, expected_version: int | None, message: str) -> None:
    """Refuse a caller whose view of the row is stale (it read another version than the current one)."""
    if expected_version is not None and expected_version != row.version:  # type: ignore[attr-defined]
        raise Conflict(message)
