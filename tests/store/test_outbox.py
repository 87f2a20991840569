"""The outbox: messages are leased to one dispatcher at a time, retried with backoff, never lost."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import Session

from onelicense.clock import utcnow
from onelicense.store import outbox
from onelicense.store.db import get_session
from tests.builders import SMALL
from tests.store.conftest import DEPARTMENTS, MARKET, SubmitFn, one_department


def test_due_messages_leases_each_message_once(session: Session, submit: SubmitFn) -> None:
    assert outbox.due_messages(session, outbox.DEPARTMENT_PUSH) == []
    application = submit()
    now = utcnow()  # due at once: the dispatcher makes the first attempt too
    leased = outbox.due_messages(session, outbox.DEPARTMENT_PUSH, now=now, limit=10)
    assert sorted(m.department_code for m in leased) == sorted(DEPARTMENTS)
    assert all(m.application_id == application.id for m in leased)
    assert outbox.due_messages(session, outbox.DEPARTMENT_PUSH, now=now) == []  # leased: not due again yet
    assert outbox.due_messages(session, outbox.AGGREGATE) == []


def test_expired_lease_makes_the_message_due_again(session: Session, submit: SubmitFn) -> None:
    submit(industry_code=SMALL, conditions=one_department())
    now = utcnow()
    (message,) = outbox.due_messages(session, outbox.DEPARTMENT_PUSH, now=now, lease=timedelta(seconds=30))
    assert message.department_code == MARKET
    assert outbox.due_messages(session, outbox.DEPARTMENT_PUSH, now=now + timedelta(seconds=29)) == []
    later = now + timedelta(seconds=31)  # the dispatcher holding it died
    (again,) = outbox.due_messages(session, outbox.DEPARTMENT_PUSH, now=later)
    assert again.id == message.id


def test_failed_message_is_retried_after_backoff_and_done_is_final(session: Session, submit: SubmitFn) -> None:
    submit(industry_code=SMALL, conditions=one_department())
    now = utcnow()
    (message,) = outbox.due_messages(session, outbox.DEPARTMENT_PUSH, now=now)
    failed = outbox.mark_failed(session, message.id, "部门系统不可达: connection refused", now=now)
    assert failed.attempts == 1 and failed.last_error.startswith("部门系统不可达")
    assert failed.next_attempt_at == now + timedelta(seconds=2)
    assert outbox.due_messages(session, outbox.DEPARTMENT_PUSH, now=now + timedelta(seconds=1)) == []
    (retry,) = outbox.due_messages(session, outbox.DEPARTMENT_PUSH, now=now + timedelta(seconds=3))
    second = outbox.mark_failed(session, retry.id, "again", backoff=timedelta(minutes=5), now=now)
    assert second.attempts == 2 and second.next_attempt_at == now + timedelta(minutes=5)
    outbox.mark_done(session, message.id)
    assert outbox.pending_count(session, outbox.DEPARTMENT_PUSH) == 0
    assert outbox.due_messages(session, outbox.DEPARTMENT_PUSH, now=now + timedelta(days=1)) == []


def test_default_backoff_grows_and_is_capped() -> None:
    delays = [outbox.default_backoff(n) for n in range(1, 15)]
    assert delays[:3] == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    assert delays == sorted(delays) and delays[-1] == outbox.MAX_BACKOFF


def test_concurrent_dispatchers_never_share_a_message(db_url: str, session: Session, submit: SubmitFn) -> None:
    for _ in range(4):
        submit()  # 12 push messages
    got: list[list[str]] = []
    barrier = threading.Barrier(3)
    now = utcnow()

    def dispatcher() -> None:
        with get_session(db_url) as own:
            barrier.wait(timeout=10)
            got.append([m.id for m in outbox.due_messages(own, outbox.DEPARTMENT_PUSH, now=now, limit=12)])

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for batch in got for i in batch]
    assert len(ids) == len(set(ids)) == 12
