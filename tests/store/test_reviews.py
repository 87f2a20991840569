"""The department queue and the review services: claim, release, decide, suggestion, history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.review.roles import Role
from onelicense.review.transitions import ApplicationStatus, Decision, ReviewStatus, TransitionNotAllowed
from onelicense.services import applications, reviews, users
from onelicense.store import audit, outbox
from tests.builders import ADMIN, APPLICANT, SYSTEM, reviewer
from tests.store.conftest import FIRE, HEALTH, POLICE, POOL, SubmitFn, reviews_of


def test_queue_shows_a_reviewer_only_its_own_department(session: Session, submit: SubmitFn) -> None:
    first, second = submit(), submit(industry_code=POOL, conditions={})  # the pool has no police review
    fire_queue = reviews.list_queue(session, reviewer(FIRE))
    assert [i.application.id for i in fire_queue] == [first.id, second.id]  # oldest first
    assert {i.review.department_code for i in fire_queue} == {FIRE}
    assert [i.application.id for i in reviews.list_queue(session, reviewer(POLICE))] == [first.id]
    assert fire_queue[0].application.reference == first.reference
    with pytest.raises(Forbidden):
        reviews.list_queue(session, reviewer(FIRE), department=POLICE)


def test_admin_sees_every_queue_and_applicants_none(session: Session, submit: SubmitFn) -> None:
    submit()
    assert len(reviews.list_queue(session, ADMIN)) == 3
    assert len(reviews.list_queue(session, ADMIN, department=HEALTH)) == 1
    with pytest.raises(Forbidden):
        reviews.list_queue(session, APPLICANT)


def test_queue_filters_by_status_industry_and_age(session: Session, submit: SubmitFn) -> None:
    hotel = submit()
    pool = submit(industry_code=POOL, conditions={})
    health = reviewer(HEALTH)
    reviews.claim(session, health, reviews_of(session, hotel.id)[HEALTH].id)
    assert [i.application.id for i in reviews.list_queue(session, health, status="pending")] == [pool.id]
    assert [i.application.id for i in reviews.list_queue(session, health, status=[ReviewStatus.CLAIMED])] == [hotel.id]
    assert len(reviews.list_queue(session, health)) == 2  # default: every open review
    assert [i.application.id for i in reviews.list_queue(session, health, industry=POOL)] == [pool.id]
    assert reviews.list_queue(session, health, older_than=timedelta(hours=1)) == []
    assert len(reviews.list_queue(session, health, older_than=timedelta(0))) == 2
    assert len(reviews.list_queue(session, health, limit=1, offset=1)) == 1
    with pytest.raises(InvalidRequest):
        reviews.list_queue(session, health, status="lost")
    with pytest.raises(InvalidRequest):
        reviews.list_queue(session, health, limit=0)


def test_claim_assigns_the_review_and_starts_the_application(session: Session, submit: SubmitFn) -> None:
    application = submit()
    review = reviews_of(session, application.id)[FIRE]
    claimed = reviews.claim(session, reviewer(FIRE), review.id, expected_version=1)
    assert (claimed.status, claimed.assignee, claimed.version) == (ReviewStatus.CLAIMED, reviewer(FIRE).user_id, 2)
    assert claimed.claimed_at is not None
    assert applications.get_application(session, ADMIN, application.id).status is ApplicationStatus.IN_REVIEW
    actions = [e.action for e in audit.events_for(session, "department_review", review.id)]
    assert actions == ["review.open", "review.claim"]
    assert reviews.claim(session, reviewer(FIRE), review.id).version == 2  # claiming again changes nothing


def test_claim_of_a_review_claimed_by_someone_else_is_a_conflict_naming_the_reviewer(
    session: Session, submit: SubmitFn
) -> None:
    by_dept = reviews_of(session, submit().id)
    holder, token = users.create_user(session, "消防审批员 张三", Role.REVIEWER, FIRE)
    first = users.authenticate(session, token)
    assert first is not None
    reviews.claim(session, first, by_dept[FIRE].id)
    for attempt in (
        lambda: reviews.claim(session, reviewer(FIRE, 2), by_dept[FIRE].id),
        lambda: reviews.decide(session, reviewer(FIRE, 2), by_dept[FIRE].id, Decision.APPROVE, "同意"),
    ):
        with pytest.raises(Conflict, match="区消防救援支队审批人员「消防审批员 张三」受理") as refused:
            attempt()
        assert holder.id not in refused.value.message  # colleagues read a name, never the internal id
    # a holder the users table does not know is still not shown by its id
    reviews.claim(session, reviewer(HEALTH, 1), by_dept[HEALTH].id)
    with pytest.raises(Conflict, match="区卫生健康委员会其他审批人员") as refused:
        reviews.claim(session, reviewer(HEALTH, 2), by_dept[HEALTH].id)
    assert reviewer(HEALTH, 1).user_id not in refused.value.message
    assert reviews_of(session, by_dept[FIRE].application_id)[FIRE].assignee == holder.id


def test_stale_expected_version_is_a_conflict(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)[FIRE]
    reviews.claim(session, reviewer(FIRE), review.id)
    reviews.release(session, reviewer(FIRE), review.id)
    with pytest.raises(Conflict):
        reviews.decide(session, reviewer(FIRE), review.id, "approve", "同意", expected_version=1)


def test_release_puts_the_review_back_in_the_queue(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)[FIRE]
    reviews.claim(session, reviewer(FIRE, 1), review.id)
    with pytest.raises(Forbidden):
        reviews.release(session, reviewer(FIRE, 2), review.id)
    released = reviews.release(session, reviewer(FIRE, 1), review.id)
    assert (released.status, released.assignee, released.claimed_at) == (ReviewStatus.PENDING, None, None)
    with pytest.raises(TransitionNotAllowed):
        reviews.release(session, reviewer(FIRE, 1), review.id)
    reviews.claim(session, reviewer(FIRE, 2), review.id)
    assert reviews.release(session, ADMIN, review.id).status is ReviewStatus.PENDING  # admin unblocks


def test_decide_straight_from_the_queue_records_the_decision(session: Session, submit: SubmitFn) -> None:
    application = submit()
    review = reviews_of(session, application.id)[HEALTH]
    items = ["water_quality_report", "water_tank_volume"]  # a material and a field of its two permits
    decided = reviews.decide(
        session, reviewer(HEALTH), review.id, Decision.SUPPLEMENT, "请补充二次供水水质检测报告", items
    )
    assert decided.status is ReviewStatus.SUPPLEMENT_REQUESTED and decided.decision is Decision.SUPPLEMENT
    assert decided.requested_items == items and decided.assignee == reviewer(HEALTH).user_id
    assert decided.decided_at is not None and decided.claimed_at is not None
    (record,) = reviews.decision_history(session, reviewer(HEALTH), review.id)
    assert (record.round, record.decision, record.opinion, record.requested_items, record.actor) == (
        1,
        Decision.SUPPLEMENT,
        "请补充二次供水水质检测报告",
        items,
        "reviewer:wsjk-reviewer-1@WSJK",
    )
    (event,) = [e for e in audit.events_for(session, "department_review", review.id) if e.action == "review.decide"]
    assert event.before["status"] == "pending" and event.after["status"] == "supplement_requested"
    assert event.after["opinion"] == "请补充二次供水水质检测报告"


@pytest.mark.parametrize(
    ("decision", "opinion", "items", "message"),
    [
        (Decision.REJECT, "  ", None, "审查意见不能为空"),
        (Decision.SUPPLEMENT, "请补充", None, "必须列出"),
        (Decision.APPROVE, "同意", ["exit_count"], "只有要求补正时"),
        ("maybe", "也许", None, "未知的审查决定"),
        (Decision.SUPPLEMENT, "请补充", ["exit_count", "exit_count"], "重复"),
        (Decision.SUPPLEMENT, "请补充", ["exit_count", "room_count"], "不属于本部门.*room_count"),
        (Decision.SUPPLEMENT, "请补充", ["no_such_item"], "不属于本部门.*no_such_item"),
    ],
    ids=[
        "reject-without-opinion",
        "supplement-without-items",
        "approve-with-items",
        "unknown-decision",
        "duplicate-items",
        "item-of-another-department",
        "unknown-item",
    ],
)
def test_decision_input_is_checked(
    session: Session, submit: SubmitFn, decision: str, opinion: str, items: list | None, message: str
) -> None:
    review = reviews_of(session, submit().id)[FIRE]
    with pytest.raises(InvalidRequest, match=message):
        reviews.decide(session, reviewer(FIRE), review.id, decision, opinion, items)
    assert reviews_of(session, review.application_id)[FIRE].version == 1
    assert reviews.decision_history(session, ADMIN, review.id) == []


def test_approval_needs_no_opinion_text(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)[FIRE]
    assert reviews.decide(session, reviewer(FIRE), review.id, "approve", None).opinion is None


@pytest.mark.parametrize("decision", list(Decision))
def test_a_decided_review_cannot_be_decided_claimed_or_released_again(
    session: Session, submit: SubmitFn, decision: Decision
) -> None:
    review = reviews_of(session, submit().id)[FIRE]
    items = ["exit_count"] if decision is Decision.SUPPLEMENT else None
    reviews.decide(session, reviewer(FIRE), review.id, decision, "意见", items)
    for again in Decision:
        with pytest.raises(TransitionNotAllowed):
            reviews.decide(
                session,
                reviewer(FIRE),
                review.id,
                again,
                "再次",
                ["exit_count"] if again is Decision.SUPPLEMENT else None,
            )
    with pytest.raises(TransitionNotAllowed):
        reviews.claim(session, reviewer(FIRE), review.id)
    with pytest.raises(TransitionNotAllowed):
        reviews.release(session, reviewer(FIRE), review.id)


def test_a_decision_that_is_not_the_last_keeps_the_application_in_review(session: Session, submit: SubmitFn) -> None:
    application = submit()
    reviews.decide(session, reviewer(FIRE), reviews_of(session, application.id)[FIRE].id, "approve", "同意")
    assert applications.get_application(session, ADMIN, application.id).status is ApplicationStatus.IN_REVIEW
    assert outbox.messages_for(session, application.id, outbox.AGGREGATE) == []


def test_the_last_decision_hands_the_application_to_aggregation(session: Session, submit: SubmitFn) -> None:
    application = submit()
    by_dept = reviews_of(session, application.id)
    reviews.decide(session, reviewer(FIRE), by_dept[FIRE].id, "approve", "同意")
    reviews.decide(session, reviewer(HEALTH), by_dept[HEALTH].id, "reject", "卫生条件不达标")
    assert outbox.messages_for(session, application.id, outbox.AGGREGATE) == []
    reviews.decide(session, reviewer(POLICE), by_dept[POLICE].id, "approve", "同意")
    stored = applications.get_application(session, ADMIN, application.id)
    assert stored.status is ApplicationStatus.AWAITING_AGGREGATION
    (message,) = outbox.messages_for(session, application.id, outbox.AGGREGATE)
    assert message.done_at is None
    actions = [e.action for e in audit.events_for(session, "application", application.id)]
    assert actions == ["application.submit", "application.start_review", "application.await_aggregation"]


def test_set_suggestion_attaches_advice_without_bumping_the_version(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)[FIRE]
    updated = reviews.set_suggestion(
        session, review.id, "建议同意：面积与通道符合要求", {"floor_area": 320, "名称": "𠀀"}
    )
    assert updated.suggested_opinion.startswith("建议同意") and updated.key_fields == {"floor_area": 320, "名称": "𠀀"}
    assert updated.version == 1
    reviews.decide(session, reviewer(FIRE), review.id, "approve", "同意", expected_version=1)
    with pytest.raises(Forbidden):
        reviews.set_suggestion(session, review.id, "x", {}, actor=reviewer(FIRE))
    with pytest.raises(NotFound):
        reviews.set_suggestion(session, "missing", "x", {}, actor=SYSTEM)


def test_review_facts_reflect_the_rows(session: Session, submit: SubmitFn) -> None:
    application = submit()
    reviews.decide(session, reviewer(FIRE), reviews_of(session, application.id)[FIRE].id, "approve", "可以")
    facts = {f.department_code: f for f in reviews.review_facts(session, SYSTEM, application.id)}
    assert facts[FIRE].decision is Decision.APPROVE and facts[FIRE].opinion == "可以"
    assert facts[FIRE].reviewer == reviewer(FIRE).user_id
    assert facts[HEALTH].decision is None
    assert facts[HEALTH].permit_codes == ("PUBLIC_HEALTH", "SECONDARY_WATER_SUPPLY_HEALTH")


def test_prepare_review_attaches_the_departments_key_fields_and_suggestion(session: Session, submit: SubmitFn) -> None:
    application = submit(exit_count=1)  # below the advisory two exits: pre-review lets it through, flagged
    review = reviews_of(session, application.id)[FIRE]
    prepared = reviews.prepare_review(session, application.id, FIRE)
    assert prepared.id == review.id and prepared.version == 1  # advisory: never makes a decision conflict
    fields = {f["key"]: f["value"] for f in prepared.key_fields["fields"]}
    assert fields["exit_count"] == 1 and fields["holder_name"] == application.holder_name
    assert "room_count" not in fields and "water_tank_volume" not in fields  # the police's, the health's
    assert [p["code"] for p in prepared.key_fields["permits"]] == ["FIRE_SAFETY_CHECK"]
    assert "不少于2个安全出口" in prepared.suggested_opinion and "建议同意" not in prepared.suggested_opinion
    police = reviews.prepare_review(session, application.id, POLICE)
    assert "建议同意" in police.suggested_opinion
    assert [e.action for e in audit.events_for(session, "department_review", review.id)] == [
        "review.open",
        "review.suggest",
    ]
    with pytest.raises(Forbidden):
        reviews.prepare_review(session, application.id, FIRE, actor=reviewer(FIRE))
    with pytest.raises(NotFound):
        reviews.prepare_review(session, application.id, "SWW")  # not involved in this application
