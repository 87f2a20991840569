"""The outbox: work to do after a commit, stored in the same transaction as the change that calls for it.

A department push or an aggregation is never lost to a crash: the dispatcher leases due messages, does the
work, and marks each done or failed (retried later with backoff). Leases expire, so a message held by a
process that died is picked up again. Delivery is at least once: the handlers are idempotent.

These are bookkeeping writes, not business state changes, so they write no audit events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from onelicense.errors import NotFound
from onelicense.store.db import transaction
from onelicense.store.paging import count_rows
from onelicense.store.tables.application import OutboxMessage
from onelicense.store.tables.types import utcnow

DEPARTMENT_PUSH = "department_push"  # send the department's payload to its system
AGGREGATE = "aggregate"  # every department decided: compute the composite opinion
RENDER_PDF = "render_pdf"  # a license was issued: render its certificate
NOTIFY = "notify"  # send one notification by one channel (services.notifications)

DEFAULT_LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=10)
DEFAULT_MAX_ATTEMPTS = 20  # 2 s … 10 min apart: about two hours of retries before an admin is asked


def enqueue(
    session: Session,
    kind: str,
    application_id: str,
    *,
    department_code: str | None = None,
    payload: Mapping[str, Any] | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the session (no commit: it is written with the caller's state change)."""
    message = OutboxMessage(
        kind=kind,
        application_id=application_id,
        department_code=department_code,
        payload=dict(payload or {}),
        next_attempt_at=not_before or utcnow(),
    )
    session.add(message)
    return message


def due_messages(
    session: Session,
    kind: str,
    now: datetime | None = None,
    limit: int = 20,
    lease: timedelta = DEFAULT_LEASE,
    owner: str | None = None,
) -> list[OutboxMessage]:
    """Lease up to `limit` due messages of `kind` to `owner` and commit the lease.

    Each message is leased with a conditional UPDATE, so two dispatchers never get the same message; one
    that is not marked done or failed within `lease` (and whose owner does not renew it) becomes due again."""
    now = now or utcnow()
    candidates = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == kind,
            col(OutboxMessage.done_at).is_(None),
            col(OutboxMessage.dead_at).is_(None),
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(limit)
    ).all()
    leased: list[OutboxMessage] = []
    with transaction(session):
        for message in candidates:
            result = session.connection().execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == message.id,
                    col(OutboxMessage.done_at).is_(None),
                    col(OutboxMessage.next_attempt_at) == message.next_attempt_at,
                )
                .values(next_attempt_at=now + lease, lease_owner=owner)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                leased.append(message)
    for message in leased:
        session.refresh(message)
    return leased


def renew_leases(session: Session, owner: str, message_ids: list[str], lease: timedelta) -> int:
    """Extend the leases `owner` still holds on these messages (work in progress): a live owner keeps its work
    however long it takes, a dead one loses it one short lease later. Commits; returns how many were renewed."""
    if not message_ids:
        return 0
    with transaction(session):
        result = session.connection().execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(message_ids),
                col(OutboxMessage.lease_owner) == owner,
                col(OutboxMessage.done_at).is_(None),
                col(OutboxMessage.dead_at).is_(None),
            )
            .values(next_attempt_at=utcnow() + lease)
        )
    return int(result.rowcount)


def reclaim_leases(session: Session, dead_owners: list[str]) -> int:
    """Messages leased by owners known to be dead (a process of this host that no longer runs) are due at once,
    instead of one lease later. Commits; returns how many."""
    if not dead_owners:
        return 0
    with transaction(session):
        result = session.connection().execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.lease_owner).in_(dead_owners), col(OutboxMessage.done_at).is_(None))
            .values(next_attempt_at=utcnow(), lease_owner=None)
        )
    return int(result.rowcount)


def lease_owners(session: Session) -> list[str]:
    """Owners holding leases on unfinished messages."""
    statement = (
        select(OutboxMessage.lease_owner)
        .where(col(OutboxMessage.lease_owner).is_not(None), col(OutboxMessage.done_at).is_(None))
        .distinct()
    )
    return [owner for owner in session.exec(statement) if owner]


def mark_done(session: Session, message_id: str, now: datetime | None = None) -> None:
    """The work is done: the message is never delivered again (commits)."""
    with transaction(session):
        message = _get(session, message_id)
        if message.done_at is None:
            message.done_at = now or utcnow()
            session.add(message)


def drop_pending(session: Session, application_id: str, kinds: tuple[str, ...], why: str) -> int:
    """The application's messages of `kinds` not yet done, marked done undelivered because their work became moot
    (the application was closed), `why` kept as their last word. No commit: written with the caller's change, so
    the dispatcher never starts that work (one already leased finds the application closed and does nothing)."""
    statement = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.application_id) == application_id,
            col(OutboxMessage.kind).in_(kinds),
            col(OutboxMessage.done_at).is_(None),
        )
        .values(done_at=utcnow(), last_error=f"未执行：{why}"[:4000])
        .execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", session.execute(statement)).rowcount


def mark_failed(
    session: Session,
    message_id: str,
    error: str,
    backoff: timedelta | Callable[[int], timedelta] | None = None,
    now: datetime | None = None,
    *,
    permanent: bool = False,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> OutboxMessage:
    """Record a failed attempt and when to try again: after `backoff`, or exponentially (2 s, 4 s, ... 10 min)
    when it is None. A `permanent` failure (retrying cannot help) or the `max_attempts`-th one makes the message
    dead instead: off the dispatcher's list, on the admins' dead-letter list. Commits."""
    with transaction(session):
        message = _get(session, message_id)
        message.attempts += 1
        if backoff is None:
            delay = default_backoff(message.attempts)
        elif callable(backoff):
            delay = backoff(message.attempts)
        else:
            delay = backoff
        now = now or utcnow()
        message.next_attempt_at = now + delay
        message.last_error = error[:4000]
        if permanent or message.attempts >= max_attempts:
            message.dead_at = now
        session.add(message)
    return message


def dead_messages(session: Session, limit: int = 100, offset: int = 0) -> list[OutboxMessage]:
    """The dead letters, oldest first."""
    statement = _dead().order_by(col(OutboxMessage.dead_at), col(OutboxMessage.id)).offset(offset).limit(limit)
    return list(session.exec(statement))


def count_dead(session: Session) -> int:
    """How many dead letters there are."""
    return count_rows(session, _dead())


def _dead() -> SelectOfScalar[OutboxMessage]:
    return select(OutboxMessage).where(col(OutboxMessage.dead_at).is_not(None), col(OutboxMessage.done_at).is_(None))


def revive(session: Session, message_id: str, now: datetime | None = None) -> OutboxMessage:
    """A dead message due again at once, its attempts counted afresh (no commit: the caller audits it)."""
    message = _get(session, message_id)
    message.dead_at = None
    message.attempts = 0
    message.next_attempt_at = now or utcnow()
    session.add(message)
    return message


def get(session: Session, message_id: str) -> OutboxMessage:
    return _get(session, message_id)


def default_backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 20)), MAX_BACKOFF)


def is_done(session: Session, message_id: str) -> bool:
    return _get(session, message_id).done_at is not None


def pending_count(session: Session, kind: str | None = None, application_id: str | None = None) -> int:
    """How many messages are not done yet (for progress displays and tests)."""
    statement = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.done_at).is_(None))
    if kind is not None:
        statement = statement.where(OutboxMessage.kind == kind)
    if application_id is not None:
        statement = statement.where(OutboxMessage.application_id == application_id)
    return session.exec(statement).one()


def messages_for(session: Session, application_id: str, kind: str | None = None) -> list[OutboxMessage]:
    statement = select(OutboxMessage).where(OutboxMessage.application_id == application_id)
    if kind is not None:
        statement = statement.where(OutboxMessage.kind == kind)
    return list(session.exec(statement.order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))))


def _get(session: Session, message_id: str) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        raise NotFound("消息不存在")
    return message
