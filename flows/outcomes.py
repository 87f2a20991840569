"""How a failed piece of outbox work is recorded: retried later with backoff, or — when another attempt cannot
help (bad data, a permit gone from the catalog) or after too many — handed to the admins as a dead letter."""

from __future__ import annotations

import logging

from onelicense.errors import ErrorKind, OneLicenseError
from onelicense.settings import get_settings
from onelicense.store import outbox
from onelicense.store.db import session_scope

log = logging.getLogger("onelicense.dispatcher")

# errors that another attempt cannot fix: the message goes to the admins' dead letters at once
PERMANENT = frozenset({ErrorKind.INVALID, ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN, ErrorKind.BROKEN})


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
