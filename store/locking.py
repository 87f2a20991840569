"""Row locks and optimistic version checks shared by the service functions.

Every state change of a review or an application is a conditional UPDATE ... WHERE id = ? AND version = ?:
zero rows updated means someone else changed the row first, and the caller gets a Conflict instead of
silently overwriting their work."""

from __future__ import annotations

from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, Executable, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from onelicense.clock import utcnow
from onelicense.errors import Conflict, NotFound
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License


def lock_application(session: Session, application_id: str) -> Application:
    """Start the write transaction by locking the application row, then read it fresh.

    All changes to an application or its reviews take this lock first, so they run one at a time per
    application (PostgreSQL: row lock; SQLite: the database write lock) and always in the same order,
    application before review, which rules out deadlocks. Reading after the lock means the caller decides on
    the latest committed state, e.g. whether its decision is the last one."""
    locked = _rowcount(
        session,
        update(Application)
        .where(col(Application.id) == application_id)
        .values(version=Application.version)  # a write that changes nothing: it only takes the lock
        .execution_options(synchronize_session=False),
    )
    if locked == 0:
        raise NotFound("申请不存在")
    statement = select(Application).where(Application.id == application_id)
    return session.exec(statement.execution_options(populate_existing=True)).one()


def lock_license(session: Session, license_id: str) -> License:
    """The license row locked and read fresh (as `lock_application` does for an application): a change request
    and the license's end (注销, 撤销, 吊销) take it in turn, so neither decides on a status the other is changing."""
    locked = _rowcount(
        session,
        update(License)
        .where(col(License.id) == license_id)
        .values(version=License.version)
        .execution_options(synchronize_session=False),
    )
    if locked == 0:
        raise NotFound("许可证不存在")
    statement = select(License).where(License.id == license_id)
    return session.exec(statement.execution_options(populate_existing=True)).one()


class Versioned(Protocol):
    """A table row with an id and an optimistic-lock version (applications, reviews, licenses, permits)."""

    id: str
    version: int


def update_versioned(session: Session, row: Versioned, conflict_message: str, **values: Any) -> None:
    """Write `values` to `row` only if its version is still the one we read, and bump the version.

    Raises Conflict when another transaction got there first. On success the in-memory row carries the new
    values as if freshly loaded, so the ORM has nothing left to flush for it."""
    table: Any = type(row)
    version = row.version
    if "updated_at" in table.model_fields:
        values.setdefault("updated_at", utcnow())
    values["version"] = version + 1
    statement = (
        update(table)
        .where(col(table.id) == row.id, col(table.version) == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(session, statement) != 1:
        raise Conflict(conflict_message)
    for name, value in values.items():
        set_committed_value(row, name, value)


def check_version(row: Versioned, expected_version: int | None, message: str) -> None:
    """Refuse a caller whose view of the row is stale (it read another version than the current one)."""
    if expected_version is not None and expected_version != row.version:
        raise Conflict(message)


def _rowcount(session: Session, statement: Executable) -> int:
    """Rows an UPDATE matched (a DML statement's result is a cursor result, which counts them)."""
    return cast("CursorResult[Any]", session.execute(statement)).rowcount
