"""The append-only audit log (审计日志): who did what to which entity, with the state before and after.

`record` only adds the row: the service function that changes the state commits both together."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import Session, col, select

from review.roles import Actor
from store.tables.application import AuditEvent
from store.tables.types import utcnow


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session (no commit). `action` reads like `review.decide`."""
    event = AuditEvent(
        at=utcnow(),
        actor=actor.label,
        action=action,
        entity_type=entity,
        entity_id=entity_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    session.add(event)
    return event


def events_for(session: Session, entity: str, entity_id: str) -> list[AuditEvent]:
    """The audit trail of one entity, oldest first."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity, AuditEvent.entity_id == entity_id)
        .order_by(col(AuditEvent.id))
    )
    return list(session.exec(statement))


def snapshot(obj: object, *fields: str) -> dict[str, Any]:
    """The named attributes of a row, JSON-ready, for `before` / `after`."""
    return {name: jsonable(getattr(obj, name)) for name in fields}


def jsonable(value: Any) -> Any:
    """Enums to their value, datetimes to ISO 8601, containers recursively; everything else unchanged."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value
