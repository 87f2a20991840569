"""From the last decision to the license: recording the aggregation, amending after a supplement request
(only the departments concerned review again), and marking the license issued. Every refused transition of
the application is tried through the services."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from onelicense.errors import Conflict, Forbidden, InvalidRequest
from review.aggregate import ApplicationFacts, PermitFact, composite_opinion
from review.transitions import ApplicationStatus, Decision, Outcome, ReviewStatus, TransitionNotAllowed
from services import applications, reviews
from store import audit, outbox
from store.tables import Application
from tests.store.conftest import ADMIN, APPLICANT, OTHER_APPLICANT, SYSTEM, SubmitFn, reviewer, reviews_of


def decide_all(session: Session, application_id: str, **decisions: str) -> None:
    """decide_all(session, id, FIRE="approve", MKT="supplement") — unnamed departments approve."""
    for dept, review in reviews_of(session, application_id).items():
        if review.status not in (ReviewStatus.PENDING, ReviewStatus.RESUBMITTED, ReviewStatus.CLAIMED):
            continue
        decision = Decision(decisions.get(dept, "approve"))
        items = [f"{dept.lower()}_item"] if decision is Decision.SUPPLEMENT else None
        reviews.decide(session, reviewer(dept), review.id, decision, f"{dept} 意见", items)


def aggregate(session: Session, application: Application) -> Application:
    """What the aggregation flow does: facts from the store, the pure rules, then record the result."""
    facts = ApplicationFacts(
        application_id=application.id,
        reference=application.reference,
        industry_code=application.industry_code,
        industry_name="宾馆",
        holder_name=application.holder_name,
        uscc=application.uscc,
        permits=tuple(
            PermitFact(code, code, dept)
            for dept, review in reviews_of(session, application.id).items()
            for code in review.permit_codes
        ),
    )
    opinion = composite_opinion(facts, reviews.review_facts(session, SYSTEM, application.id))
    return applications.record_aggregation(session, SYSTEM, application.id, opinion, opinion.outcome)


def test_approved_path_ends_issued(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id)
    approved = aggregate(session, application)
    assert approved.status is ApplicationStatus.APPROVED
    assert approved.composite_opinion is not None and approved.composite_opinion["outcome"] == "approve"
    issued = applications.mark_issued(session, SYSTEM, application.id)
    assert issued.status is ApplicationStatus.ISSUED
    assert applications.mark_issued(session, SYSTEM, application.id).version == issued.version  # idempotent
    actions = [e.action for e in audit.events_for(session, "application", application.id)]
    assert actions[-2:] == ["application.aggregate", "application.issue"]


def test_recording_the_same_aggregation_twice_changes_nothing(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id, HEALTH="reject")
    first = aggregate(session, application)
    assert first.status is ApplicationStatus.REJECTED
    again = aggregate(session, application)
    assert again.version == first.version
    assert [e.action for e in audit.events_for(session, "application", application.id)].count(
        "application.aggregate"
    ) == 1


def test_a_different_outcome_after_aggregation_is_refused(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id)
    aggregate(session, application)
    with pytest.raises(TransitionNotAllowed):
        applications.record_aggregation(session, SYSTEM, application.id, {"outcome": "reject"}, Outcome.REJECT)


def test_opinion_and_outcome_must_agree(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id)
    with pytest.raises(InvalidRequest):
        applications.record_aggregation(session, SYSTEM, application.id, {"outcome": "reject"}, Outcome.APPROVE)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_aggregation_before_every_department_decided_is_refused(
    session: Session, submit: SubmitFn, outcome: Outcome
) -> None:
    application = submit()
    with pytest.raises(TransitionNotAllowed):  # 已提交
        applications.record_aggregation(session, SYSTEM, application.id, {}, outcome)
    reviews.claim(session, reviewer("FIRE"), reviews_of(session, application.id)["FIRE"].id)
    with pytest.raises(TransitionNotAllowed):  # 审查中
        applications.record_aggregation(session, SYSTEM, application.id, {}, outcome)


def test_only_the_system_or_an_admin_records_aggregation_and_issuing(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id)
    for actor in (APPLICANT, reviewer("FIRE")):
        with pytest.raises(Forbidden):
            applications.record_aggregation(session, actor, application.id, {}, Outcome.APPROVE)
        with pytest.raises(Forbidden):
            applications.mark_issued(session, actor, application.id)
    assert applications.record_aggregation(session, ADMIN, application.id, {}, "approve").status == "approved"


@pytest.mark.parametrize("decisions", [{}, {"HEALTH": "reject"}, {"FIRE": "supplement"}])
def test_issuing_needs_an_approved_application(session: Session, submit: SubmitFn, decisions: dict) -> None:
    application = submit()
    with pytest.raises(TransitionNotAllowed):
        applications.mark_issued(session, SYSTEM, application.id)
    decide_all(session, application.id, **decisions)
    if decisions:
        aggregate(session, application)
        with pytest.raises(TransitionNotAllowed):
            applications.mark_issued(session, SYSTEM, application.id)
    else:
        with pytest.raises(TransitionNotAllowed):  # 待汇总
            applications.mark_issued(session, SYSTEM, application.id)


def test_mark_issued_can_join_the_callers_transaction(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id)
    aggregate(session, application)
    applications.mark_issued(session, SYSTEM, application.id, commit=False)
    session.rollback()  # the caller's license insert failed: the status change goes with it
    assert applications.get_application(session, ADMIN, application.id).status is ApplicationStatus.APPROVED


def supplement_requested(session: Session, submit: SubmitFn) -> Application:
    application = submit()
    decide_all(session, application.id, FIRE="supplement", MKT="supplement", HEALTH="approve")
    return aggregate(session, application)


def test_amend_reopens_only_the_reviews_that_asked_for_supplement(session: Session, submit: SubmitFn) -> None:
    application = supplement_requested(session, submit)
    assert application.status is ApplicationStatus.SUPPLEMENT_REQUESTED
    health_before = reviews_of(session, application.id)["HEALTH"]
    amended = applications.amend(
        session, APPLICANT, application.id, {"fire_item": "已补充😀", "rooms": None}, {"mkt_item": {"file": "x.pdf"}}
    )
    assert amended.status is ApplicationStatus.RESUBMITTED
    assert amended.answers["fire_item"] == "已补充😀" and "rooms" not in amended.answers
    assert amended.answers["floor_area"] == 320  # untouched keys stay
    assert amended.materials["mkt_item"] == {"file": "x.pdf"} and "lease" in amended.materials
    by_dept = reviews_of(session, application.id)
    for dept in ("FIRE", "MKT"):
        reopened = by_dept[dept]
        assert (reopened.status, reopened.round, reopened.decision, reopened.assignee) == (
            ReviewStatus.RESUBMITTED,
            2,
            None,
            None,
        )
        assert reopened.requested_items == [] and reopened.decided_at is None
    health = by_dept["HEALTH"]
    assert (health.status, health.round, health.version, health.opinion) == (  # kept as decided
        ReviewStatus.APPROVED,
        1,
        health_before.version,
        "HEALTH 意见",
    )
    pushes = outbox.messages_for(session, application.id, outbox.DEPARTMENT_PUSH)
    assert sorted(m.department_code for m in pushes if m.payload["round"] == 2) == ["FIRE", "MKT"]
    queue = reviews.list_queue(session, reviewer("FIRE"))
    assert [(i.review.status, i.review.round) for i in queue] == [(ReviewStatus.RESUBMITTED, 2)]
    (event,) = [e for e in audit.events_for(session, "application", application.id) if e.action == "application.amend"]
    assert event.before["answers"] == {"fire_item": None, "rooms": 40}
    assert event.after["answers"] == {"fire_item": "已补充😀", "rooms": None}


def test_amending_the_holder_name_or_uscc_updates_what_the_license_reads(session: Session, submit: SubmitFn) -> None:
    application = supplement_requested(session, submit)
    amended = applications.amend(
        session, APPLICANT, application.id, {"holder_name": "重庆新名称𠀀有限公司", "uscc": "91500000MA5U7K2X4R"}
    )
    assert (amended.holder_name, amended.uscc) == ("重庆新名称𠀀有限公司", "91500000MA5U7K2X4R")
    assert amended.answers["holder_name"] == amended.holder_name


def test_reference_carries_the_applicants_date_in_beijing_time(session: Session, submit: SubmitFn) -> None:
    from onelicense.clock import CHINA_TIME
    from store.tables.types import utcnow

    before = utcnow().astimezone(CHINA_TIME).strftime("%Y%m%d")
    reference = submit().reference
    after = utcnow().astimezone(CHINA_TIME).strftime("%Y%m%d")
    assert reference[2:10] in (before, after)


def test_second_round_decisions_complete_the_application(session: Session, submit: SubmitFn) -> None:
    application = supplement_requested(session, submit)
    applications.amend(session, APPLICANT, application.id, {"fire_item": "ok"})
    fire = reviews_of(session, application.id)["FIRE"]
    reviews.claim(session, reviewer("FIRE"), fire.id)
    assert applications.get_application(session, ADMIN, application.id).status is ApplicationStatus.IN_REVIEW
    decide_all(session, application.id)  # FIRE and MKT, round 2
    assert applications.get_application(session, ADMIN, application.id).status == "awaiting_aggregation"
    assert len(outbox.messages_for(session, application.id, outbox.AGGREGATE)) == 2  # one per round
    approved = aggregate(session, application)
    assert approved.status is ApplicationStatus.APPROVED
    history = reviews.decision_history(session, ADMIN, fire.id)
    assert [(r.round, r.decision) for r in history] == [(1, Decision.SUPPLEMENT), (2, Decision.APPROVE)]


def test_only_the_submitting_applicant_may_amend(session: Session, submit: SubmitFn) -> None:
    application = supplement_requested(session, submit)
    for actor in (OTHER_APPLICANT, ADMIN, reviewer("FIRE"), SYSTEM):
        with pytest.raises(Forbidden):
            applications.amend(session, actor, application.id, {"x": 1})


def test_amend_outside_a_supplement_request_is_refused(session: Session, submit: SubmitFn) -> None:
    application = submit()
    with pytest.raises(TransitionNotAllowed):  # 已提交
        applications.amend(session, APPLICANT, application.id, {"x": 1})
    decide_all(session, application.id)
    with pytest.raises(TransitionNotAllowed):  # 待汇总
        applications.amend(session, APPLICANT, application.id, {"x": 1})
    aggregate(session, application)
    with pytest.raises(TransitionNotAllowed):  # 准予许可
        applications.amend(session, APPLICANT, application.id, {"x": 1})


def test_amend_with_nothing_or_a_stale_version_is_refused(session: Session, submit: SubmitFn) -> None:
    application = supplement_requested(session, submit)
    with pytest.raises(InvalidRequest, match="补正内容为空"):
        applications.amend(session, APPLICANT, application.id, {}, {})
    with pytest.raises(Conflict):
        applications.amend(session, APPLICANT, application.id, {"x": 1}, expected_version=1)
    current = applications.get_application(session, APPLICANT, application.id).version
    assert applications.amend(session, APPLICANT, application.id, {"x": 1}, expected_version=current).status == (
        ApplicationStatus.RESUBMITTED
    )
