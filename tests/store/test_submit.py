"""Submitting: one application, one pending review and one push message per department, audited; a retried
submit with the same idempotency key returns the first application; bad input stores nothing."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from onelicense.errors import Conflict, Forbidden, InvalidRequest
from review.roles import Actor
from review.transitions import ApplicationStatus, ReviewStatus
from services import applications
from store import audit, outbox
from store.db import get_session
from store.tables import Application, OutboxMessage
from tests.store.conftest import (
    ADMIN,
    APPLICANT,
    DEPARTMENTS,
    OTHER_APPLICANT,
    PERMITS,
    SYSTEM,
    SubmitFn,
    reviewer,
    reviews_of,
    row_counts,
)


def test_submit_creates_application_reviews_push_messages_and_audit(session: Session, submit: SubmitFn) -> None:
    application = submit()
    assert application.status is ApplicationStatus.SUBMITTED
    assert application.version == 1 and application.submitted_by == APPLICANT.user_id
    assert application.reference.startswith("SQ") and len(application.id) == 32
    reviews = reviews_of(session, application.id)
    assert set(reviews) == set(DEPARTMENTS)
    assert all(r.status is ReviewStatus.PENDING and r.round == 1 and r.version == 1 for r in reviews.values())
    assert reviews["MKT"].permit_codes == ["FOOD", "LIQUOR"]
    pushes = outbox.messages_for(session, application.id, outbox.DEPARTMENT_PUSH)
    assert sorted(m.department_code for m in pushes) == sorted(DEPARTMENTS)
    assert {m.payload["review_id"] for m in pushes} == {r.id for r in reviews.values()}
    (event,) = audit.events_for(session, "application", application.id)
    assert (event.action, event.actor, event.before) == ("application.submit", APPLICANT.label, None)
    assert event.after["status"] == "submitted" and event.after["departments"] == DEPARTMENTS
    assert all(audit.events_for(session, "department_review", r.id) for r in reviews.values())


def test_unicode_is_kept_exactly(session: Session, submit: SubmitFn) -> None:
    rare = "𠀀𪚥𫠝 龘 👩‍👩‍👧‍👦 😀 \u3000全角　空格 é"
    application = submit(holder_name=f"酒店{rare}", answers={"note": rare, "emoji_key😀": [rare, {"深": rare}]})
    session.expunge_all()
    stored = session.get(Application, application.id)
    assert stored is not None
    assert stored.holder_name == f"酒店{rare}"
    assert stored.answers == {"note": rare, "emoji_key😀": [rare, {"深": rare}]}


def test_timestamps_are_aware_utc(session: Session, submit: SubmitFn) -> None:
    application = submit()
    session.expunge_all()
    stored = session.get(Application, application.id)
    assert stored is not None and stored.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert stored.created_at == application.created_at


def test_same_idempotency_key_returns_the_first_application(session: Session, submit: SubmitFn) -> None:
    first = submit(idempotency_key="client-key-1")
    before = row_counts(session)
    again = submit(idempotency_key="client-key-1", holder_name="另一个名字")
    assert again.id == first.id and again.holder_name == first.holder_name
    assert row_counts(session) == before


def test_idempotency_key_of_another_submitter_is_a_conflict(session: Session, submit: SubmitFn) -> None:
    submit(idempotency_key="shared")
    with pytest.raises(Conflict):
        submit(OTHER_APPLICANT, idempotency_key="shared")


def test_concurrent_submits_with_one_key_create_one_application(
    db_url: str, session: Session, submit: SubmitFn
) -> None:
    barrier = threading.Barrier(4)
    ids: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with get_session(db_url) as own:
            try:
                barrier.wait(timeout=10)
                app = applications.submit(
                    own,
                    APPLICANT,
                    industry_code="hotel",
                    holder_name="并发酒店",
                    uscc="91500000MA5U7K2X3Q",
                    answers={},
                    materials={},
                    permit_codes=["FOOD"],
                    departments={"MKT": ["FOOD"]},
                    idempotency_key="retry-storm",
                )
                ids.append(app.id)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 1 and len(ids) == 4
    assert len(session.exec(select(Application)).all()) == 1
    assert len(session.exec(select(OutboxMessage)).all()) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"departments": {"MKT": ["FOOD", "LIQUOR"], "FIRE": ["FIRE_CHECK"]}, "permit_codes": PERMITS},
            "没有审批部门",
            id="permit-without-department",
        ),
        pytest.param(
            {"departments": {**DEPARTMENTS, "CITY": ["SIGN"]}, "permit_codes": PERMITS},
            "不在申请的许可事项中",
            id="department-permit-not-applied-for",
        ),
        pytest.param(
            {"departments": {**DEPARTMENTS, "CITY": ["FOOD"]}, "permit_codes": PERMITS},
            "同时分配给了",
            id="permit-in-two-departments",
        ),
        pytest.param({"departments": {}, "permit_codes": PERMITS}, "至少需要一个审批部门", id="no-department"),
        pytest.param({"permit_codes": []}, "许可事项不能为空", id="no-permit"),
        pytest.param({"permit_codes": ["FOOD", "FOOD"]}, "重复", id="duplicate-permit"),
        pytest.param({"holder_name": "  "}, "申请人名称不能为空", id="blank-holder"),
        pytest.param({"holder_name": "酒店\x00"}, "空字符", id="nul-character"),
        pytest.param({"holder_name": "bad \ud800 surrogate"}, "无效的字符", id="lone-surrogate"),
        pytest.param({"answers": ["not", "a", "dict"]}, "键值对象", id="answers-not-an-object"),
        pytest.param({"answers": {"when": object()}}, "无法保存", id="answers-not-json"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(
    session: Session, submit: SubmitFn, overrides: dict, message: str
) -> None:
    before = row_counts(session)
    with pytest.raises(InvalidRequest, match=message):
        submit(**overrides)
    assert row_counts(session) == before


@pytest.mark.parametrize("actor", [reviewer("MKT"), SYSTEM], ids=["reviewer", "system"])
def test_reviewers_and_the_system_cannot_submit(session: Session, submit: SubmitFn, actor: Actor) -> None:
    with pytest.raises(Forbidden):
        submit(actor)
    assert row_counts(session)["Application"] == 0


def test_admin_may_submit_on_behalf_of_a_holder(submit: SubmitFn) -> None:
    assert submit(ADMIN).submitted_by == ADMIN.user_id
