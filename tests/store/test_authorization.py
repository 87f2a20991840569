"""Who may see and do what, per role: an applicant sees its own applications only, a reviewer acts on its own
department's reviews only, an admin sees everything but does not decide for a department."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from onelicense.errors import Forbidden, NotFound
from review.roles import Actor, Role
from services import applications, reviews
from tests.store.conftest import ADMIN, APPLICANT, OTHER_APPLICANT, SYSTEM, SubmitFn, reviewer, reviews_of


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (APPLICANT, True),
        (OTHER_APPLICANT, False),
        (reviewer("FIRE"), True),  # FIRE reviews it
        (reviewer("TOBACCO"), False),  # not involved
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


def test_unknown_application_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        applications.get_application(session, ADMIN, "nope")
    with pytest.raises(NotFound):
        reviews.claim(session, reviewer("FIRE"), "nope")


@pytest.mark.parametrize(
    "actor",
    [reviewer("MKT"), APPLICANT, ADMIN, SYSTEM, Actor("r-nodept", Role.REVIEWER)],
    ids=["other-department", "applicant", "admin", "system", "no-department"],
)
def test_only_the_departments_reviewers_claim_and_decide(session: Session, submit: SubmitFn, actor: Actor) -> None:
    review = reviews_of(session, submit().id)["FIRE"]
    with pytest.raises(Forbidden):
        reviews.claim(session, actor, review.id)
    with pytest.raises(Forbidden):
        reviews.decide(session, actor, review.id, "approve", "同意")
    assert reviews_of(session, review.application_id)["FIRE"].version == 1


def test_reviewers_see_only_their_departments_reviews(session: Session, submit: SubmitFn) -> None:
    review = reviews_of(session, submit().id)["FIRE"]
    assert reviews.get_review(session, reviewer("FIRE"), review.id).id == review.id
    assert reviews.get_review(session, ADMIN, review.id).id == review.id
    for actor in (reviewer("MKT"), APPLICANT):
        with pytest.raises(Forbidden):
            reviews.get_review(session, actor, review.id)
        with pytest.raises(Forbidden):
            reviews.decision_history(session, actor, review.id)


def test_list_applications_by_role(session: Session, submit: SubmitFn) -> None:
    mine = submit()
    theirs = submit(OTHER_APPLICANT, departments={"TOBACCO": ["TOBACCO_RETAIL"]})
    assert [a.id for a in applications.list_applications(session, APPLICANT)] == [mine.id]
    assert [a.id for a in applications.list_applications(session, reviewer("TOBACCO"))] == [theirs.id]
    assert {a.id for a in applications.list_applications(session, ADMIN)} == {mine.id, theirs.id}
    assert applications.list_applications(session, ADMIN, status="approved") == []
