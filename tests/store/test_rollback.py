"""A failure anywhere inside a service function leaves nothing half-written: the whole unit of work is rolled
back, including rows already flushed and conditional UPDATEs already executed."""

from __future__ import annotations

import pytest
from sqlmodel import Session

import onelicense.services.applications
import onelicense.services.reviews
from onelicense.errors import InvalidRequest
from onelicense.review.transitions import ApplicationStatus, Decision, ReviewStatus
from onelicense.services import aggregation, applications, reviews
from onelicense.store import audit
from tests.builders import ADMIN, APPLICANT, SMALL, decide_all, reviewer
from tests.store.conftest import FIRE, HEALTH, MARKET, POLICE, SubmitFn, reviews_of, row_counts


class Boom(RuntimeError):
    pass


def fail_on_call(monkeypatch: pytest.MonkeyPatch, module: object, name: str, nth: int) -> None:
    """Make `module.name` raise on its nth call (the earlier calls go through, so rows are already flushed)."""
    original = getattr(module, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == nth:
            raise Boom(f"{name} failed")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def test_failed_audit_during_submit_stores_no_application(
    session: Session, submit: SubmitFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_on_call(monkeypatch, audit, "record", 3)  # after the application and two reviews were recorded
    with pytest.raises(Boom):
        submit()
    assert set(row_counts(session).values()) == {0}


def test_failed_outbox_write_undoes_the_last_decision(
    session: Session, submit: SubmitFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    application_id = submit().id
    review_ids = {dept: r.id for dept, r in reviews_of(session, application_id).items()}
    reviews.decide(session, reviewer(FIRE), review_ids[FIRE], "approve", "同意")
    reviews.decide(session, reviewer(HEALTH), review_ids[HEALTH], "approve", "同意")
    before = row_counts(session)
    fail_on_call(monkeypatch, onelicense.services.reviews.outbox, "enqueue", 1)  # the aggregate message of the last decision
    with pytest.raises(Boom):
        reviews.decide(session, reviewer(POLICE), review_ids[POLICE], "approve", "同意")
    assert row_counts(session) == before
    session.expunge_all()
    police = reviews_of(session, application_id)[POLICE]
    assert (police.status, police.version, police.decision) == (ReviewStatus.PENDING, 1, None)
    assert applications.get_application(session, ADMIN, application_id).status is ApplicationStatus.IN_REVIEW
    # and the same decision succeeds once the fault is gone
    monkeypatch.undo()
    reviews.decide(session, reviewer(POLICE), review_ids[POLICE], "approve", "同意", expected_version=1)
    assert applications.get_application(session, ADMIN, application_id).status == "awaiting_aggregation"


def test_failed_audit_during_amend_reopens_nothing(
    session: Session, submit: SubmitFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    application_id = submit(industry_code=SMALL).id  # 便利店: market regulator and commerce
    decide_all(session, application_id, {MARKET: (Decision.SUPPLEMENT, ["food_safety_rules"])})
    aggregation.aggregate(session, application_id)
    before = row_counts(session)
    fail_on_call(monkeypatch, onelicense.services.applications.audit, "record", 2)  # after review.reopen, at application.amend
    with pytest.raises(Boom):
        applications.amend(session, APPLICANT, application_id, {}, {"food_safety_rules": "材料库/食品安全制度.pdf"})
    assert row_counts(session) == before
    session.expunge_all()
    stored = applications.get_application(session, APPLICANT, application_id)
    assert stored.status is ApplicationStatus.SUPPLEMENT_REQUESTED and "food_safety_rules" not in stored.materials
    market = reviews_of(session, application_id)[MARKET]
    assert (market.status, market.round) == (ReviewStatus.SUPPLEMENT_REQUESTED, 1)


def test_the_session_stays_usable_after_a_failed_call(
    session: Session, submit: SubmitFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidRequest):
        submit(holder_name="")
    fail_on_call(monkeypatch, audit, "record", 2)  # fails mid-transaction, rows already flushed
    with pytest.raises(Boom):
        submit()
    monkeypatch.undo()
    assert submit().status is ApplicationStatus.SUBMITTED
    assert row_counts(session)["Application"] == 1
