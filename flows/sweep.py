"""The daily sweep (每日巡检) as a Prefect flow: what time alone moves after issuance — reminders before a
commitment's deadline, overdue obligations, lapsed rectifications, renewal reminders — then the notifications it
wrote turned into outbox messages for their channels.

    recount-deadlines (services.calendar.recompute_pending: a holiday arrangement that arrived without an
                      import, e.g. shipped by a release: the open deadlines it touches are counted again)
    sweep-obligations (one set-based transaction: services.obligations.sweep)
    remove-orphan-uploads (services.uploads.remove_orphans: files nothing refers to, after UPLOAD_ORPHAN_DAYS)
    dispatch-notifications (services.notifications.dispatch_pending, until none is left)

Idempotent: run it any number of times a day (the dispatcher runs it every `sweep_interval_seconds`; the
`onelicense-sweep` deployment runs it on a schedule on a Prefect server) and nothing is announced twice."""

from __future__ import annotations

from datetime import date

from prefect import flow, task

from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import calendar, notifications, obligations, uploads
from onelicense.store.db import session_scope


@task(name="recount-deadlines", persist_result=False)
def recount_deadlines() -> int:
    with session_scope() as session:
        return len(calendar.recompute_pending(session, SYSTEM_ACTOR))


@task(name="remove-orphan-uploads", persist_result=False)
def remove_orphan_uploads() -> int:
    with session_scope() as session:
        return uploads.remove_orphans(session)


@task(name="sweep-obligations", persist_result=False)
def sweep_obligations(day: str | None) -> dict[str, int | str]:
    with session_scope() as session:
        result = obligations.sweep(session, date.fromisoformat(day) if day else None)
    return {
        "day": result.day.isoformat(),
        "reminders": result.reminders,
        "overdue": result.overdue,
        "lapsed": result.lapsed,
        "renewal_reminders": result.renewal_reminders,
        "expired": result.expired,
    }


@task(name="dispatch-notifications", persist_result=False)
def dispatch_notifications() -> int:
    total = 0
    with session_scope() as session:
        while dispatched := notifications.dispatch_pending(session):
            total += dispatched
    return total


@flow(name="daily-sweep", log_prints=False, persist_result=False)
def daily_sweep(day: str | None = None) -> dict[str, int | str]:
    """One sweep for `day` (ISO date; default today in Beijing time). Parameters hold a date only."""
    recounted = recount_deadlines()
    result = sweep_obligations(day)
    result["deadlines_recounted"] = recounted
    result["uploads_removed"] = remove_orphan_uploads()
    result["notifications_dispatched"] = dispatch_notifications()
    return result
