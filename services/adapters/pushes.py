"""Department pushes (推送): which departments still wait for the application's key fields, what to send them,
and the bookkeeping of each attempt. The HTTP call itself is the flow's (flows/fan_out.py), with its retries.

A push is an outbox message written in the same transaction as the review it announces (submit, amend), so a
crash never loses one; its id travels as the Idempotency-Key, so a department can drop a repeat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from onelicense.errors import NotFound
from onelicense.settings import get_settings
from onelicense.store import outbox
from onelicense.store.tables.application import DepartmentReview


@dataclass(frozen=True)
class PendingPush:
    """One department still to be sent an application, as leased from the outbox (ids only: no answers travel
    through Prefect)."""

    message_id: str
    application_id: str
    department_code: str


def push_payload(session: Session, application_id: str, department_code: str) -> dict[str, Any]:
    """What the department's system receives: its review's id and round and the key fields stored on it."""
    review = session.exec(
        select(DepartmentReview).where(
            DepartmentReview.application_id == application_id, DepartmentReview.department_code == department_code
        )
    ).first()
    if review is None:
        raise NotFound("审查任务不存在")
    return {"application_id": application_id, "review_id": review.id, "round": review.round, **review.key_fields}


def delivered(session: Session, message_id: str) -> None:
    """The department accepted the push (or has no system: its review queue is the channel)."""
    outbox.mark_done(session, message_id)


def failed(session: Session, message_id: str, error: str) -> None:
    """Every attempt failed: the message stays, due again after a backoff (or, after too many attempts, on the
    admins' dead-letter list)."""
    outbox.mark_failed(session, message_id, error=error, max_attempts=get_settings().outbox_max_attempts)
