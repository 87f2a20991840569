"""The dispatcher: turns committed outbox messages into work (aggregation flow runs, department push retries).

It is not a flow and holds no application in memory: every loop reads the due messages from the database, so a
dispatcher killed at any point resumes where the database says on its next start. Several dispatchers can run
at once (they lease messages); the work itself is idempotent.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flows.aggregation import aggregate_application
from flows.application import deliver, prepare_review
from onelicense.settings import get_settings
from store import outbox
from store.db import session_scope

log = logging.getLogger("onelicense.dispatcher")
KINDS = (outbox.AGGREGATE, outbox.DEPARTMENT_PUSH)


def dispatch_once(limit: int = 20, workers: int = 4) -> int:
    """Lease up to `limit` due messages, run them (aggregations concurrently), return how many were handled."""
    lease = timedelta(seconds=get_settings().outbox_lease_seconds)
    with session_scope() as session:
        leased = [
            (m.id, m.kind, m.application_id, m.department_code)
            for kind in KINDS
            for m in outbox.due_messages(session, kind, limit=limit, lease=lease)
        ]
    if not leased:
        return 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dispatch") as pool:
        list(pool.map(_handle, leased))
    return len(leased)


def _handle(message: tuple[str, str, str, str | None]) -> None:
    message_id, kind, application_id, department_code = message
    try:
        if kind == outbox.AGGREGATE:
            aggregate_application(application_id)
            with session_scope() as session:
                outbox.mark_done(session, message_id)
        elif kind == outbox.DEPARTMENT_PUSH and department_code:
            prepare_review(application_id, department_code)  # after an amendment: fresh key fields and suggestion
            deliver(application_id, department_code, message_id)  # marks the message done or failed itself
    except Exception as exc:
        log.exception("outbox message %s (%s) failed", message_id, kind)
        with session_scope() as session:
            outbox.mark_failed(session, message_id, error=f"{type(exc).__name__}: {exc}")


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
