"""From the last decision to the license: recording the aggregation, amending after a supplement request
(only the requested items, still a valid application; only the departments concerned review again), and marking
the license issued. Every refused transition of the application is tried through the services."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from onelicense.clock import china_date, utcnow
from onelicense.errors import Conflict, Forbidden, InvalidRequest
from onelicense.forms.errors import ValidationFailed
from onelicense.forms.identifiers import uscc_check_char
from onelicense.review.transitions import ApplicationStatus, Decision, Outcome, ReviewStatus, TransitionNotAllowed
from onelicense.services import aggregation, applications, reviews
from onelicense.store import audit, outbox
from onelicense.store.tables import Application
from tests.builders import ADMIN, APPLICANT, OTHER_APPLICANT, SYSTEM, decide_all, reviewer, valid_application
from tests.store.conftest import FIRE, HEALTH, HOTEL, POLICE, SubmitFn, hotel_conditions, reviews_of, row_counts

APPROVED_OPINION = "审查意见：" + Decision.APPROVE.label  # what `decide_all` writes for an approval
FIRE_TEST_REPORT = "材料库/消防检测报告.pdf"  # optional now (告知承诺), handed in anyway


def test_approved_path_ends_issued(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id)
    approved = aggregation.aggregate(session, application.id)
    assert approved.status is ApplicationStatus.APPROVED
    assert approved.composite_opinion is not None and approved.composite_opinion["outcome"] == "approve"
    assert {d["department_code"] for d in approved.composite_opinion["departments"]} == {FIRE, HEALTH, POLICE}
    issued = applications.mark_issued(session, SYSTEM, application.id)
    assert issued.status is ApplicationStatus.ISSUED
    assert applications.mark_issued(session, SYSTEM, application.id).version == issued.version  # idempotent
    actions = [e.action for e in audit.events_for(session, "application", application.id)]
    assert actions[-2:] == ["application.aggregate", "application.issue"]


def test_recording_the_same_aggregation_twice_changes_nothing(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id, {HEALTH: (Decision.REJECT, None)})
    first = aggregation.aggregate(session, application.id)
    assert first.status is ApplicationStatus.REJECTED and first.composite_opinion is not None
    again = applications.record_aggregation(session, SYSTEM, application.id, first.composite_opinion, "reject")
    assert again.version == first.version
    assert aggregation.aggregate(session, application.id).version == first.version  # a redelivered message
    assert [e.action for e in audit.events_for(session, "application", application.id)].count(
        "application.aggregate"
    ) == 1


def test_a_different_outcome_after_aggregation_is_refused(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id)
    aggregation.aggregate(session, application.id)
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
    reviews.claim(session, reviewer(FIRE), reviews_of(session, application.id)[FIRE].id)
    with pytest.raises(TransitionNotAllowed):  # 审查中
        applications.record_aggregation(session, SYSTEM, application.id, {}, outcome)
    # the aggregation service leaves an application that is not ready as it is
    assert aggregation.aggregate(session, application.id).status is ApplicationStatus.IN_REVIEW


def test_only_the_system_or_an_admin_records_aggregation_and_issuing(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id)
    for actor in (APPLICANT, reviewer(FIRE)):
        with pytest.raises(Forbidden):
            applications.record_aggregation(session, actor, application.id, {}, Outcome.APPROVE)
        with pytest.raises(Forbidden):
            applications.mark_issued(session, actor, application.id)
    assert applications.record_aggregation(session, ADMIN, application.id, {}, "approve").status == "approved"


@pytest.mark.parametrize(
    "decisions",
    [{}, {HEALTH: (Decision.REJECT, None)}, {FIRE: (Decision.SUPPLEMENT, ["exit_count"])}],
    ids=["awaiting-aggregation", "rejected", "supplement-requested"],
)
def test_issuing_needs_an_approved_application(session: Session, submit: SubmitFn, decisions: dict) -> None:
    application = submit()
    with pytest.raises(TransitionNotAllowed):
        applications.mark_issued(session, SYSTEM, application.id)
    decide_all(session, application.id, decisions)
    if decisions:
        assert aggregation.aggregate(session, application.id).status is not ApplicationStatus.APPROVED
        with pytest.raises(TransitionNotAllowed):
            applications.mark_issued(session, SYSTEM, application.id)
    else:
        with pytest.raises(TransitionNotAllowed):  # 待汇总
            applications.mark_issued(session, SYSTEM, application.id)


def test_mark_issued_can_join_the_callers_transaction(session: Session, submit: SubmitFn) -> None:
    application = submit()
    decide_all(session, application.id)
    aggregation.aggregate(session, application.id)
    applications.mark_issued(session, SYSTEM, application.id, commit=False)
    session.rollback()  # the caller's license insert failed: the status change goes with it
    assert applications.get_application(session, ADMIN, application.id).status is ApplicationStatus.APPROVED


def supplement_requested(
    session: Session,
    fire_items: tuple[str, ...] = ("fire_safety_officer", "fire_test_report"),
    health_items: tuple[str, ...] = ("water_quality_report",),
) -> Application:
    """A hotel whose fire and health departments asked for supplement and whose police approved, aggregated."""
    answers, materials = valid_application(HOTEL, conditions=hotel_conditions())
    submitted = applications.submit(
        session,
        APPLICANT,
        industry_code=HOTEL,
        answers=answers,
        materials={**materials, "fire_test_report": FIRE_TEST_REPORT},
    )
    decide_all(
        session,
        submitted.application.id,
        {FIRE: (Decision.SUPPLEMENT, list(fire_items)), HEALTH: (Decision.SUPPLEMENT, list(health_items))},
    )
    return aggregation.aggregate(session, submitted.application.id)


def test_amend_reopens_only_the_reviews_that_asked_for_supplement(session: Session) -> None:
    application = supplement_requested(session)
    assert application.status is ApplicationStatus.SUPPLEMENT_REQUESTED
    officer, floor_area = application.answers["fire_safety_officer"], application.answers["floor_area"]
    police_before = reviews_of(session, application.id)[POLICE]
    amended = applications.amend(
        session,
        APPLICANT,
        application.id,
        {"fire_safety_officer": "王𠀀明😀"},
        {"fire_test_report": None, "water_quality_report": "材料库/水质检测报告😀.pdf"},
    )
    assert amended.status is ApplicationStatus.RESUBMITTED
    assert amended.answers["fire_safety_officer"] == "王𠀀明😀"
    assert amended.answers["floor_area"] == floor_area  # untouched keys stay
    assert "fire_test_report" not in amended.materials  # a None value removes the key
    assert amended.materials["water_quality_report"] == "材料库/水质检测报告😀.pdf"
    assert "business_license" in amended.materials
    by_dept = reviews_of(session, application.id)
    for dept in (FIRE, HEALTH):
        reopened = by_dept[dept]
        assert (reopened.status, reopened.round, reopened.decision, reopened.assignee) == (
            ReviewStatus.RESUBMITTED,
            2,
            None,
            None,
        )
        assert reopened.requested_items == [] and reopened.decided_at is None
    police = by_dept[POLICE]
    assert (police.status, police.round, police.version, police.opinion) == (  # kept as decided
        ReviewStatus.APPROVED,
        1,
        police_before.version,
        APPROVED_OPINION,
    )
    pushes = outbox.messages_for(session, application.id, outbox.DEPARTMENT_PUSH)
    assert sorted(m.department_code for m in pushes if m.payload["round"] == 2) == sorted([FIRE, HEALTH])
    queue = reviews.list_queue(session, reviewer(FIRE))
    assert [(i.review.status, i.review.round) for i in queue] == [(ReviewStatus.RESUBMITTED, 2)]
    (event,) = [e for e in audit.events_for(session, "application", application.id) if e.action == "application.amend"]
    assert event.before["answers"] == {"fire_safety_officer": officer}
    assert event.before["materials"] == {"fire_test_report": FIRE_TEST_REPORT, "water_quality_report": None}
    assert event.after["answers"] == {"fire_safety_officer": "王𠀀明😀"}
    assert event.after["materials"] == {"fire_test_report": None, "water_quality_report": "材料库/水质检测报告😀.pdf"}


def test_amending_the_holder_name_or_uscc_updates_what_the_license_reads(session: Session) -> None:
    application = supplement_requested(session, fire_items=("holder_name", "uscc"))
    uscc = "91500000MA5U7K2X4" + uscc_check_char("91500000MA5U7K2X4")
    amended = applications.amend(
        session, APPLICANT, application.id, {"holder_name": "重庆新名称𠀀有限公司", "uscc": uscc}
    )
    assert (amended.holder_name, amended.uscc) == ("重庆新名称𠀀有限公司", uscc)
    assert amended.answers["holder_name"] == amended.holder_name and amended.answers["uscc"] == uscc


def test_reference_carries_the_applicants_date_in_beijing_time(submit: SubmitFn) -> None:
    before = china_date(utcnow()).strftime("%Y%m%d")
    reference = submit().reference
    after = china_date(utcnow()).strftime("%Y%m%d")
    assert reference[2:10] in (before, after)


def test_second_round_decisions_complete_the_application(session: Session) -> None:
    application = supplement_requested(session, fire_items=("exit_count",), health_items=("water_tank_volume",))
    applications.amend(session, APPLICANT, application.id, {"exit_count": 6, "water_tank_volume": 12.5})
    # the department task prepares the second round from the corrected application
    prepared = reviews.prepare_review(session, application.id, FIRE)
    assert {f["key"]: f["value"] for f in prepared.key_fields["fields"]}["exit_count"] == 6
    fire = reviews_of(session, application.id)[FIRE]
    reviews.claim(session, reviewer(FIRE), fire.id)
    assert applications.get_application(session, ADMIN, application.id).status is ApplicationStatus.IN_REVIEW
    decide_all(session, application.id)  # fire and health, round 2
    assert applications.get_application(session, ADMIN, application.id).status == "awaiting_aggregation"
    assert len(outbox.messages_for(session, application.id, outbox.AGGREGATE)) == 2  # one per round
    approved = aggregation.aggregate(session, application.id)
    assert approved.status is ApplicationStatus.APPROVED
    history = reviews.decision_history(session, ADMIN, fire.id)
    assert [(r.round, r.decision) for r in history] == [(1, Decision.SUPPLEMENT), (2, Decision.APPROVE)]


def test_only_the_submitting_applicant_may_amend(session: Session) -> None:
    application = supplement_requested(session)
    for actor in (OTHER_APPLICANT, ADMIN, reviewer(FIRE), SYSTEM):
        with pytest.raises(Forbidden):
            applications.amend(session, actor, application.id, {"fire_safety_officer": "王明"})


def test_amend_outside_a_supplement_request_is_refused(session: Session, submit: SubmitFn) -> None:
    application = submit()
    patch = {"fire_safety_officer": "王明"}
    with pytest.raises(Conflict, match="待补正"):  # 已提交
        applications.amend(session, APPLICANT, application.id, patch)
    decide_all(session, application.id)
    with pytest.raises(Conflict, match="待补正"):  # 待汇总
        applications.amend(session, APPLICANT, application.id, patch)
    aggregation.aggregate(session, application.id)
    with pytest.raises(Conflict, match="待补正"):  # 准予许可
        applications.amend(session, APPLICANT, application.id, patch)
    assert applications.get_application(session, ADMIN, application.id).status is ApplicationStatus.APPROVED


def test_amend_with_nothing_or_a_stale_version_is_refused(session: Session) -> None:
    application = supplement_requested(session)
    patch = {"fire_safety_officer": "王明"}
    with pytest.raises(InvalidRequest, match="补正内容为空"):
        applications.amend(session, APPLICANT, application.id, {}, {})
    with pytest.raises(Conflict):
        applications.amend(session, APPLICANT, application.id, patch, expected_version=1)
    current = applications.get_application(session, APPLICANT, application.id).version
    assert applications.amend(session, APPLICANT, application.id, patch, expected_version=current).status == (
        ApplicationStatus.RESUBMITTED
    )


@pytest.mark.parametrize(
    ("answers", "materials", "error", "message"),
    [
        pytest.param({"room_count": 90}, {}, ValidationFailed, "客房数.*不在审批部门要求补正的范围内", id="not-asked"),
        pytest.param(
            {}, {"floor_plan": "新.pdf"}, ValidationFailed, "不在审批部门要求补正的范围内", id="material-not-asked"
        ),
        pytest.param({"exit_count": -1}, {}, ValidationFailed, "安全出口数量.*不能小于0", id="invalid-value"),
        pytest.param({"exit_count": None}, {}, ValidationFailed, "安全出口数量.*必填项未填写", id="required-removed"),
        pytest.param({"exit_count": object()}, {}, InvalidRequest, "无法保存", id="not-storable"),
        pytest.param(
            {"public_venue_category": "美容店", "floor_area": 20},
            {},
            ValidationFailed,
            "公共场所类别（public_venue_category）：“美容店”不适用于本行业",
            id="category-not-fitting-the-industry",
        ),
    ],
)
def test_an_amendment_outside_the_request_or_no_longer_valid_writes_nothing(
    session: Session, answers: dict[str, Any], materials: dict[str, Any], error: type[Exception], message: str
) -> None:
    application = supplement_requested(
        session, fire_items=("exit_count",), health_items=("public_venue_category", "floor_area")
    )
    before = row_counts(session), application.version, dict(application.answers), dict(application.materials)
    with pytest.raises(error, match=message):
        applications.amend(session, APPLICANT, application.id, answers, materials)
    session.expunge_all()
    stored = applications.get_application(session, APPLICANT, application.id)
    assert stored.status is ApplicationStatus.SUPPLEMENT_REQUESTED
    assert (row_counts(session), stored.version, stored.answers, stored.materials) == before
