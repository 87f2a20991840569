"""Races with real threads and one session per thread, on SQLite and PostgreSQL: two reviewers deciding the
same review at once → exactly one wins, the other gets a Conflict; the last two departments deciding at once
→ the application still reaches 待汇总 exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session

import onelicense.services.reviews
from onelicense.errors import Conflict
from onelicense.review.roles import Actor
from onelicense.review.transitions import ApplicationStatus, Decision, ReviewStatus
from onelicense.services import applications, reviews
from onelicense.store import outbox
from onelicense.store.db import get_session
from tests.builders import ADMIN, reviewer
from tests.store.conftest import FIRE, HEALTH, SubmitFn, reviews_of


def run_together(db_url: str, calls: list[Callable[[Session], Any]]) -> list[Any]:
    """Run each call in its own thread and session; returns each call's result or the exception it raised."""
    results: list[Any] = [None] * len(calls)

    def worker(i: int) -> None:
        with get_session(db_url) as own:
            try:
                results[i] = calls[i](own)
            except Exception as exc:
                results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


@pytest.fixture
def all_read_before_anyone_writes(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make N threads meet after reading the review and before taking the lock: the tightest possible race."""

    def arm(parties: int) -> None:
        barrier = threading.Barrier(parties)
        original = onelicense.services.reviews.lock_application

        def lock_after_everyone_read(session: Session, application_id: str):  # type: ignore[no-untyped-def]
            barrier.wait(timeout=20)
            return original(session, application_id)

        monkeypatch.setattr(onelicense.services.reviews, "lock_application", lock_after_everyone_read)

    return arm


def test_two_reviewers_deciding_one_review_at_once_one_wins_one_conflicts(
    db_url: str, session: Session, submit: SubmitFn, all_read_before_anyone_writes: Callable[[int], None]
) -> None:
    review = reviews_of(session, submit().id)[FIRE]
    all_read_before_anyone_writes(2)
    first, second = reviewer(FIRE, 1), reviewer(FIRE, 2)
    results = run_together(
        db_url,
        [
            lambda s: reviews.decide(s, first, review.id, Decision.APPROVE, "同意"),
            lambda s: reviews.decide(s, second, review.id, Decision.REJECT, "不同意"),
        ],
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], Conflict), repr(losers[0])
    stored = reviews_of(session, review.application_id)[FIRE]
    assert stored.version == 2 and stored.decision is winners[0].decision
    assert len(reviews.decision_history(session, ADMIN, review.id)) == 1


def test_many_reviewers_claiming_at_once_one_gets_it(
    db_url: str, session: Session, submit: SubmitFn, all_read_before_anyone_writes: Callable[[int], None]
) -> None:
    review = reviews_of(session, submit().id)[HEALTH]
    actors = [reviewer(HEALTH, n) for n in range(5)]
    all_read_before_anyone_writes(len(actors))
    results = run_together(db_url, [lambda s, a=a: reviews.claim(s, a, review.id) for a in actors])
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    stored = reviews_of(session, review.application_id)[HEALTH]
    assert stored.status is ReviewStatus.CLAIMED and stored.version == 2


def test_a_stale_screen_loses_even_without_a_tight_race(db_url: str, session: Session, submit: SubmitFn) -> None:
    """Both reviewers loaded version 1; whoever comes second (however late) gets a Conflict, not a second vote."""
    review = reviews_of(session, submit().id)[FIRE]
    actors: list[Actor] = [reviewer(FIRE, n) for n in range(4)]
    results = run_together(
        db_url, [lambda s, a=a: reviews.decide(s, a, review.id, "approve", "同意", expected_version=1) for a in actors]
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))


def test_last_departments_deciding_at_once_hand_over_to_aggregation_once(
    db_url: str, session: Session, submit: SubmitFn, all_read_before_anyone_writes: Callable[[int], None]
) -> None:
    application = submit()
    by_dept = reviews_of(session, application.id)
    all_read_before_anyone_writes(len(by_dept))
    results = run_together(
        db_url,
        [lambda s, d=d, r=r: reviews.decide(s, reviewer(d), r.id, "approve", "同意") for d, r in by_dept.items()],
    )
    assert not any(isinstance(r, Exception) for r in results), results
    stored = applications.get_application(session, ADMIN, application.id)
    assert stored.status is ApplicationStatus.AWAITING_AGGREGATION
    assert len(outbox.messages_for(session, application.id, outbox.AGGREGATE)) == 1
