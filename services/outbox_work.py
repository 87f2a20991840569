"""The outbox's one door for the glue (the dispatcher and the flows): lease what is due, mark a piece of work done,
record a failure (retried with backoff, or a dead letter for the admins). Flows and the dispatcher change outbox
rows only through here (an import-linter contract keeps `onelicense.flows` off `store.outbox`); the services that
write a message in their own transaction (submit, decide, issue, notify) call `store.outbox.enqueue` themselves."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session

from onelicense.errors import ErrorKind, OneLicenseError
from onelicense.settings import get_settings
from onelicense.store import outbox
from onelicense.store.db import session_scope
from onelicense.store.tables.application import OutboxMessage

log = logging.getLogger("onelicense.dispatcher")

DEPARTMENT_PUSH, AGGREGATE, RENDER_PDF, NOTIFY = (
    outbox.DEPARTMENT_PUSH,
    outbox.AGGREGATE,
    outbox.RENDER_PDF,
    outbox.NOTIFY,
)
KINDS = (DEPARTMENT_PUSH, AGGREGATE, RENDER_PDF, NOTIFY)

# errors that another attempt cannot fix: the message goes to the admins' dead letters at once
PERMANENT = frozenset({ErrorKind.INVALID, ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN, ErrorKind.BROKEN})


def lease_due(session: Session, kind: str, *, limit: int, lease: timedelta, owner: str) -> list[OutboxMessage]:
    """Up to `limit` due messages of `kind`, leased to `owner` for `lease` (another dispatcher skips them)."""
    return outbox.due_messages(session, kind, limit=limit, lease=lease, owner=owner)


def done(session: Session, message_id: str) -> None:
    """The work of the message is done (in the caller's transaction, with the work itself where it can be)."""
    outbox.mark_done(session, message_id)


def is_done(session: Session, message_id: str) -> bool:
    return outbox.is_done(session, message_id)


def record_failure(message_id: str, exc: BaseException) -> None:
    """Mark the message failed (or dead); never raises, the caller goes on with the rest of its batch."""
    permanent = isinstance(exc, OneLicenseError) and exc.kind in PERMANENT
    reason = exc.message if isinstance(exc, OneLicenseError) else str(exc)
    if not permanent:
        log.warning("outbox message %s failed, will retry: %s: %s", message_id, type(exc).__name__, reason)
    try:
        with session_scope() as session:
            outbox.mark_failed(
                session,
                message_id,
                error=f"{type(exc).__name__}: {reason}",
                permanent=permanent,
                max_attempts=get_settings().outbox_max_attempts,
            )
    except Exception:  # the database is gone too: the lease expires and the message comes back
        log.exception("could not record the failure of outbox message %s", message_id)


def renew_leases(session: Session, owner: str, message_ids: list[str], lease: timedelta) -> int:
    return outbox.renew_leases(session, owner, message_ids, lease)


def lease_owners(session: Session) -> list[str]:
    return outbox.lease_owners(session)


def reclaim_leases(session: Session, dead_owners: list[str]) -> int:
    """The leases of dispatchers that no longer run are due again now."""
    return outbox.reclaim_leases(session, dead_owners)
