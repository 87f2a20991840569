"""The department queue and the review services: claim, release, decide, suggestion, history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from review.transitions import ApplicationStatus, Decision, ReviewStatus, TransitionNotAllowed
from services import applications, reviews
from store import audit, outbox
from tests.store.conftest import ADMIN, APPLICANT, SYSTEM, SubmitFn, reviewer, reviews_of


def test_queue_shows_a_reviewer_only_its_own_department(session: Session, submit: SubmitFn) -> None:
    first, second = submit(), submit(departments={"FIRE": ["FIRE_CHECK"]})
    fire_queue = reviews.list_queue(session, reviewer("FIRE"))
    assert [i.application.id for i in fire_queue] == [first.id, second.id]  # oldest first
    assert {i.review.department_code for i in fire_queue} == {"FIRE"}
    assert [i.application.id for i in reviews.list_queue(session, reviewer("MKT"))] == [first.id]
    assert fire_queue[0].application.reference == first.reference
    with pytest.raises(Forbidden):
        reviews.list_queue(session, reviewer("FIRE"), department="MKT")


def test_admin_sees_every_queue_and_applicants_none(session: Session, submit: SubmitFn) -> None:
    submit()
    assert len(reviews.list_queue(session, ADMIN)) == 3
    assert len(reviews.list_queue(session, ADMIN, department="HEALTH")) == 1
    with pytest.raises(Forbidden):
        reviews.list_queue(session, APPLICANT)


def test_queue_filters_by_status_industry_and_age(session: Session, submit: SubmitFn) -> None:
    hotel = submit()
    cafe = submit(industry_code="bookstore", departments={"MKT": ["FOOD"]})
    mkt = reviewer("MKT")
    reviews.claim(session, mkt, reviews_of(session, hotel.id)["MKT"].id)
    assert [i.application.id for i in reviews.list_queue(session, mkt, status="pending")] == [cafe.id]
    assert [i.application.id for i in reviews.list_queue(session, mkt, status=[ReviewStatus.CLAIMED])] == [hotel.id]
    assert len(reviews.list_queue(session, mkt)) == 2  # default: every open review
    assert [i.application.id for i in reviews.list_queue(session, mkt, industry="bookstore")] == [cafe.id]
    assert reviews.list_queue(session, mkt, older_than=timedelta(hours=1)) == []
    assert len(reviews.list_queue(session, mkt, older_than=timedelta(0))) == 2
    assert len(reviews.list_queue(session, mkt, limit=1, offset=1)) == 1
    with pytest.raises(InvalidRequest):
        reviews.list_queue(session, mkt, status="lost")
    with pytest.raises(InvalidRequest):
        reviews.list_queue(session, mkt, limit=0)


def test_claim_assigns_the_review_and_starts_the_application(session: Session, submit: SubmitFn) -> None:
    application = submit()
    review = reviews_of(session, application.id)["FIRE"]
    claimed = reviews.claim(session, reviewer("FIRE"), review.id, expected_version=1)
    assert (claimed.status, claimed.assignee, claimed.version) == (ReviewStatus.CLAIMED, "fire-reviewer-1", 2)
    assert claimed.claimed_at is not None
    assert applications.get_application(session, ADMIN, application.id).status is ApplicationStatus.IN_REVIEW
    actions = [e.action for e in audit.events_for(session, "department_review", review.id)]
    assert actions == ["review.open", "review.claim"]
    assert reviews.claim(session, reviewer("FIRE"), review.id).version == 2  # claiming again changes nothing


def test_claim_of_a_review_claimed_by_someone_else_is_a_conflict(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)["FIRE"]
    reviews.claim(session, reviewer("FIRE", 1), review.id)
    with pytest.raises(Conflict, match="fire-reviewer-1"):
        reviews.claim(session, reviewer("FIRE", 2), review.id)
    with pytest.raises(Conflict):
        reviews.decide(session, reviewer("FIRE", 2), review.id, Decision.APPROVE, "同意")


def test_stale_expected_version_is_a_conflict(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)["FIRE"]
    reviews.claim(session, reviewer("FIRE"), review.id)
    reviews.release(session, reviewer("FIRE"), review.id)
    with pytest.raises(Conflict):
        reviews.decide(session, reviewer("FIRE"), review.id, "approve", "同意", expected_version=1)


def test_release_puts_the_review_back_in_the_queue(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)["FIRE"]
    reviews.claim(session, reviewer("FIRE", 1), review.id)
    with pytest.raises(Forbidden):
        reviews.release(session, reviewer("FIRE", 2), review.id)
    released = reviews.release(session, reviewer("FIRE", 1), review.id)
    assert (released.status, released.assignee, released.claimed_at) == (ReviewStatus.PENDING, None, None)
    with pytest.raises(TransitionNotAllowed):
        reviews.release(session, reviewer("FIRE", 1), review.id)
    reviews.claim(session, reviewer("FIRE", 2), review.id)
    assert reviews.release(session, ADMIN, review.id).status is ReviewStatus.PENDING  # admin unblocks


def test_decide_straight_from_the_queue_records_the_decision(session: Session, submit: SubmitFn) -> None:
    application = submit()
    review = reviews_of(session, application.id)["MKT"]
    decided = reviews.decide(
        session, reviewer("MKT"), review.id, Decision.SUPPLEMENT, "请补充酒类进货渠道", ["liquor_source"]
    )
    assert decided.status is ReviewStatus.SUPPLEMENT_REQUESTED and decided.decision is Decision.SUPPLEMENT
    assert decided.requested_items == ["liquor_source"] and decided.assignee == "mkt-reviewer-1"
    assert decided.decided_at is not None and decided.claimed_at is not None
    (record,) = reviews.decision_history(session, reviewer("MKT"), review.id)
    assert (record.round, record.decision, record.opinion, record.actor) == (
        1,
        Decision.SUPPLEMENT,
        "请补充酒类进货渠道",
        "reviewer:mkt-reviewer-1@MKT",
    )
    (event,) = [e for e in audit.events_for(session, "department_review", review.id) if e.action == "review.decide"]
    assert event.before["status"] == "pending" and event.after["status"] == "supplement_requested"
    assert event.after["opinion"] == "请补充酒类进货渠道"


@pytest.mark.parametrize(
    ("decision", "opinion", "items", "message"),
    [
        (Decision.REJECT, "  ", None, "审查意见不能为空"),
        (Decision.SUPPLEMENT, "请补充", None, "必须列出"),
        (Decision.APPROVE, "同意", ["x"], "只有要求补正时"),
        ("maybe", "也许", None, "未知的审查决定"),
    ],
    ids=["reject-without-opinion", "supplement-without-items", "approve-with-items", "unknown-decision"],
)
def test_decision_input_is_checked(
    session: Session, submit: SubmitFn, decision: str, opinion: str, items: list | None, message: str
) -> None:
    review = reviews_of(session, submit().id)["FIRE"]
    with pytest.raises(InvalidRequest, match=message):
        reviews.decide(session, reviewer("FIRE"), review.id, decision, opinion, items)
    assert reviews_of(session, review.application_id)["FIRE"].version == 1


def test_approval_needs_no_opinion_text(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)["FIRE"]
    assert reviews.decide(session, reviewer("FIRE"), review.id, "approve", None).opinion is None


@pytest.mark.parametrize("decision", list(Decision))
def test_a_decided_review_cannot_be_decided_claimed_or_released_again(
    session: Session, submit: SubmitFn, decision: Decision
) -> None:
    review = reviews_of(session, submit().id)["FIRE"]
    items = ["fire_plan"] if decision is Decision.SUPPLEMENT else None
    reviews.decide(session, reviewer("FIRE"), review.id, decision, "意见", items)
    for again in Decision:
        with pytest.raises(TransitionNotAllowed):
            reviews.decide(
                session, reviewer("FIRE"), review.id, again, "再次", ["x"] if again is Decision.SUPPLEMENT else None
            )
    with pytest.raises(TransitionNotAllowed):
        reviews.claim(session, reviewer("FIRE"), review.id)
    with pytest.raises(TransitionNotAllowed):
        reviews.release(session, reviewer("FIRE"), review.id)


def test_a_decision_that_is_not_the_last_keeps_the_application_in_review(session: Session, submit: SubmitFn) -> None:
    application = submit()
    reviews.decide(session, reviewer("FIRE"), reviews_of(session, application.id)["FIRE"].id, "approve", "同意")
    assert applications.get_application(session, ADMIN, application.id).status is ApplicationStatus.IN_REVIEW
    assert outbox.messages_for(session, application.id, outbox.AGGREGATE) == []


def test_the_last_decision_hands_the_application_to_aggregation(session: Session, submit: SubmitFn) -> None:
    application = submit()
    by_dept = reviews_of(session, application.id)
    reviews.decide(session, reviewer("FIRE"), by_dept["FIRE"].id, "approve", "同意")
    reviews.decide(session, reviewer("HEALTH"), by_dept["HEALTH"].id, "reject", "卫生条件不达标")
    reviews.decide(session, reviewer("MKT"), by_dept["MKT"].id, "approve", "同意")
    stored = applications.get_application(session, ADMIN, application.id)
    assert stored.status is ApplicationStatus.AWAITING_AGGREGATION
    (message,) = outbox.messages_for(session, application.id, outbox.AGGREGATE)
    assert message.done_at is None
    actions = [e.action for e in audit.events_for(session, "application", application.id)]
    assert actions == ["application.submit", "application.start_review", "application.await_aggregation"]


def test_set_suggestion_attaches_advice_without_bumping_the_version(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)["FIRE"]
    updated = reviews.set_suggestion(
        session, review.id, "建议同意：面积与通道符合要求", {"floor_area": 320, "名称": "𠀀"}
    )
    assert updated.suggested_opinion.startswith("建议同意") and updated.key_fields == {"floor_area": 320, "名称": "𠀀"}
    assert updated.version == 1
    reviews.decide(session, reviewer("FIRE"), review.id, "approve", "同意", expected_version=1)
    with pytest.raises(Forbidden):
        reviews.set_suggestion(session, review.id, "x", {}, actor=reviewer("FIRE"))
    with pytest.raises(NotFound):
        reviews.set_suggestion(session, "missing", "x", {}, actor=SYSTEM)


def test_review_facts_reflect_the_rows(session: Session, submit: SubmitFn) -> None:
    application = submit()
    reviews.decide(session, reviewer("FIRE"), reviews_of(session, application.id)["FIRE"].id, "approve", "可以")
    facts = {f.department_code: f for f in reviews.review_facts(session, SYSTEM, application.id)}
    assert facts["FIRE"].decision is Decision.APPROVE and facts["FIRE"].opinion == "可以"
    assert facts["MKT"].decision is None and facts["MKT"].permit_codes == ("FOOD", "LIQUOR")
