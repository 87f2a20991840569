"""The append-only audit log (审计日志): who did what to which entity, with the state before and after.

`record` only adds the row: the service function that changes the state commits both together. ID numbers
(身份证件号码: every field of the catalog's type id_number) never enter it: a snapshot keeps their first 4 and last
4 characters, enough to tell one from another, so the append-only log (kept for years, read by auditors) holds no
identity document numbers."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from onelicense.correlation import REQUEST_ID
from onelicense.forms.catalog import get_catalog
from onelicense.forms.model import FieldType
from onelicense.review.roles import Actor
from onelicense.settings import get_settings
from onelicense.store.tables.application import AuditEvent
from onelicense.store.tables.types import utcnow


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
        request_id=REQUEST_ID.get(),
        entity_type=entity,
        entity_id=entity_id,
        before=_masked(jsonable(before)) if before is not None else None,
        after=_masked(jsonable(after)) if after is not None else None,
    )
    session.add(event)
    return event


def mask_id_number(value: str) -> str:
    """1101**********002X: an ID number as the audit keeps it."""
    return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:] if len(value) > 8 else "*" * len(value)


@functools.cache
def _id_number_keys(catalog_dir: str | None) -> frozenset[str]:
    catalog = get_catalog(Path(catalog_dir) if catalog_dir else None)
    return frozenset(key for key, spec in catalog.fields.items() if spec.type is FieldType.ID_NUMBER)


def _masked(value: Any) -> Any:
    keys = _id_number_keys(str(get_settings().catalog_dir) if get_settings().catalog_dir else None)
    return _mask(value, keys)


def _mask(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: mask_id_number(v) if k in keys and isinstance(v, str) else _mask(v, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, keys) for v in value]
    return value


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
