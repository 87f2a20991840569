"""The dispatcher: turns committed outbox messages into flow runs (fan-out to the departments, aggregation).

It is not a flow and holds no application in memory: every loop reads the due messages from the database, so a
dispatcher killed at any point resumes where the database says on its next start. Several dispatchers can run
at once (they lease messages); the work itself is idempotent.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from sqlmodel import Session

from flows.aggregation import aggregate_application
from flows.fan_out import fan_out_application
from onelicense.errors import ErrorKind, OneLicenseError
from onelicense.settings import get_settings
from services.pushes import PendingPush
from store import outbox
from store.db import session_scope

log = logging.getLogger("onelicense.dispatcher")


def dispatch_once(limit: int = 20, workers: int = 4) -> int:
    """Lease up to `limit` due messages of each kind, run their flows concurrently, return how many were handled."""
    lease = timedelta(seconds=get_settings().outbox_lease_seconds)
    with session_scope() as session:
        aggregations = [
            (m.id, m.application_id) for m in outbox.due_messages(session, outbox.AGGREGATE, limit=limit, lease=lease)
        ]
        leased_pushes = [
            PendingPush(m.id, m.application_id, m.department_code or "")
            for m in outbox.due_messages(session, outbox.DEPARTMENT_PUSH, limit=limit, lease=lease)
        ]
    by_application: dict[str, list[PendingPush]] = defaultdict(list)
    for push in leased_pushes:
        by_application[push.application_id].append(push)
    jobs: list[Callable[[], None]] = [partial(_fan_out, app, items) for app, items in by_application.items()]
    jobs += [partial(_aggregate, message_id, application_id) for message_id, application_id in aggregations]
    if not jobs:
        return 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dispatch") as pool:
        list(pool.map(lambda job: job(), jobs))
    return len(aggregations) + len(leased_pushes)


def _fan_out(application_id: str, items: list[PendingPush]) -> None:
    try:
        fan_out_application(application_id, [p.department_code for p in items], [p.message_id for p in items])
    except Exception as exc:  # the flow marks each branch itself; this is a failure around them (Prefect down...)
        log.exception("fan-out of application %s failed", application_id)
        with session_scope() as session:
            for push in items:
                if not outbox.is_done(session, push.message_id):
                    _failed(session, push.message_id, exc)


def _aggregate(message_id: str, application_id: str) -> None:
    try:
        aggregate_application(application_id)
    except Exception as exc:
        log.exception("aggregation of application %s failed", application_id)
        with session_scope() as session:
            _failed(session, message_id, exc)
        return
    with session_scope() as session:
        outbox.mark_done(session, message_id)


# errors that another attempt cannot fix: the message goes to the admins' dead letters at once
_PERMANENT = frozenset({ErrorKind.INVALID, ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN, ErrorKind.BROKEN})


def _failed(session: Session, message_id: str, exc: BaseException) -> None:
    permanent = isinstance(exc, OneLicenseError) and exc.kind in _PERMANENT
    reason = exc.message if isinstance(exc, OneLicenseError) else str(exc)
    outbox.mark_failed(
        session,
        message_id,
        error=f"{type(exc).__name__}: {reason}",
        permanent=permanent,
        max_attempts=get_settings().outbox_max_attempts,
    )


def run_dispatcher(stop: threading.Event, interval: float | None = None) -> None:
    """Loop until `stop` is set: short database polls, never a long sleep inside a flow."""
    interval = interval if interval is not None else get_settings().dispatch_interval_seconds
    while not stop.is_set():
        try:
            handled = dispatch_once()
        except Exception:
            log.exception("dispatch failed")
            handled = 0
        if not handled:
            stop.wait(interval)
