"""Who may see and do what, per role: an applicant sees its own applications only, a reviewer acts on its own
department's reviews only and reads only its own department's answers, an admin sees everything but does not
decide for a department."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from onelicense.errors import Forbidden, NotFound
from onelicense.review.roles import Actor, Role
from onelicense.services import applications, reviews
from tests.builders import ADMIN, APPLICANT, OTHER_APPLICANT, SMALL, SYSTEM, reviewer
from tests.store.conftest import COMMERCE, FIRE, HEALTH, POLICE, SubmitFn, reviews_of


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (APPLICANT, True),
        (OTHER_APPLICANT, False),
        (reviewer(FIRE), True),  # the fire service reviews it
        (reviewer(COMMERCE), False),  # not involved
        (Actor("r-nodept", Role.REVIEWER), False),
        (ADMIN, True),
        (SYSTEM, True),
    ],
    ids=[
        "own-applicant",
        "other-applicant",
        "involved-reviewer",
        "other-department",
        "no-department",
        "admin",
        "system",
    ],
)
def test_who_sees_an_application(session: Session, submit: SubmitFn, actor: Actor, allowed: bool) -> None:
    application = submit()
    if allowed:
        assert applications.get_application(session, actor, application.id).id == application.id
        assert len(applications.list_progress(session, actor, application.id).reviews) == 3
        assert [a.id for a in applications.list_applications(session, actor)] == [application.id]
        return
    with pytest.raises(Forbidden):
        applications.get_application(session, actor, application.id)
    with pytest.raises(Forbidden):
        applications.list_progress(session, actor, application.id)
    assert applications.list_applications(session, actor) == []


def test_a_reviewer_reads_only_its_own_departments_answers_and_materials(session: Session, submit: SubmitFn) -> None:
    application = submit()
    full_answers, full_materials = dict(application.answers), dict(application.materials)
    fire = reviewer(FIRE)
    copies = [
        applications.get_application(session, fire, application.id),
        applications.list_progress(session, fire, application.id).application,
        *applications.list_applications(session, fire),
    ]
    for copy in copies:
        assert copy not in session  # detached: nothing done to it can reach the stored row
        assert copy.answers["exit_count"] == full_answers["exit_count"]  # 公众聚集场所消防安全检查
        assert "room_count" not in copy.answers and "water_tank_volume" not in copy.answers  # police, health
        assert set(copy.materials) == {"business_license", "legal_rep_id", "floor_plan"}  # no premises_proof
    copies[0].answers = {}  # were it attached, the commit would write this
    session.commit()
    for actor in (ADMIN, APPLICANT):  # the stored row is untouched, and its applicant reads all of it
        stored = applications.get_application(session, actor, application.id)
        assert (stored.answers, stored.materials) == (full_answers, full_materials)
    police = applications.get_application(session, reviewer(POLICE), application.id)
    assert "room_count" in police.answers and "exit_count" not in police.answers


def test_unknown_application_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        applications.get_application(session, ADMIN, "nope")
    with pytest.raises(NotFound):
        reviews.claim(session, reviewer(FIRE), "nope")


@pytest.mark.parametrize(
    "actor",
    [reviewer(HEALTH), APPLICANT, ADMIN, SYSTEM, Actor("r-nodept", Role.REVIEWER)],
    ids=["other-department", "applicant", "admin", "system", "no-department"],
)
def test_only_the_departments_reviewers_claim_and_decide(session: Session, submit: SubmitFn, actor: Actor) -> None:
    review = reviews_of(session, submit().id)[FIRE]
    with pytest.raises(Forbidden):
        reviews.claim(session, actor, review.id)
    with pytest.raises(Forbidden):
        reviews.decide(session, actor, review.id, "approve", "同意")
    assert reviews_of(session, review.application_id)[FIRE].version == 1


def test_reviewers_see_only_their_departments_reviews(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)[FIRE]
    assert reviews.get_review(session, reviewer(FIRE), review.id).id == review.id
    assert reviews.get_review(session, ADMIN, review.id).id == review.id
    for actor in (reviewer(HEALTH), APPLICANT):
        with pytest.raises(Forbidden):
            reviews.get_review(session, actor, review.id)
        with pytest.raises(Forbidden):
            reviews.decision_history(session, actor, review.id)


def test_list_applications_by_role(session: Session, submit: SubmitFn) -> None:
    mine = submit()
    theirs = submit(OTHER_APPLICANT, industry_code=SMALL)  # 便利店: market regulator and commerce
    assert [a.id for a in applications.list_applications(session, APPLICANT)] == [mine.id]
    assert [a.id for a in applications.list_applications(session, OTHER_APPLICANT)] == [theirs.id]
    assert [a.id for a in applications.list_applications(session, reviewer(COMMERCE))] == [theirs.id]
    assert [a.id for a in applications.list_applications(session, reviewer(FIRE))] == [mine.id]
    assert {a.id for a in applications.list_applications(session, ADMIN)} == {mine.id, theirs.id}
    assert applications.list_applications(session, ADMIN, status="approved") == []
