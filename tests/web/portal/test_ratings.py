"""好差评: the applicant rates each department of its decided application once; a 差评 opens a follow-up for that
department only, due on the working-day calendar; the reply reaches the applicant."""

from __future__ import annotations

import pytest
from sqlmodel import select

from onelicense.clock import china_date, utcnow
from onelicense.review.roles import Actor, Role
from onelicense.review.sla import nth_working_day
from onelicense.services import aggregation, applications, ratings, reviews
from onelicense.services import catalog as catalogs
from onelicense.services.users import create_user
from onelicense.settings import get_settings
from onelicense.store.db import session_scope
from onelicense.store.tables import AuditEvent, DepartmentReview
from onelicense.store.tables.portal import Rating
from onelicense.templating import environment
from tests.web.portal.conftest import OTHER, OWN, UNINVOLVED, Browser, password_hash
from tests.web.sample import USCC, submission_body


def make_applicant(login: str) -> Actor:
    with session_scope() as session:
        user, _ = create_user(
            session, f"{login}公司", Role.APPLICANT, usccs=[USCC], login=login, password_hash=password_hash()
        )
    return Actor(user.id, Role.APPLICANT, usccs=frozenset({USCC}))


def submitted(applicant: Actor) -> str:
    with session_scope() as session:
        return applications.submit(session, applicant, **submission_body()).application.id


def decided(applicant: Actor, staff: dict[str, str]) -> str:
    """An application both departments approved and aggregation recorded (准予许可)."""
    application_id = submitted(applicant)
    with session_scope() as session:
        for review in session.exec(select(DepartmentReview).where(DepartmentReview.application_id == application_id)):
            login = "reviewer" if review.department_code == OWN else "other_reviewer"
            actor = Actor(staff[login], Role.REVIEWER, review.department_code)
            reviews.decide(session, actor, review.id, "approve", "同意")
        aggregation.aggregate(session, application_id)
    return application_id


@pytest.fixture
def applicant(database: str) -> Actor:
    return make_applicant("applicant")


def stored() -> list[Rating]:
    with session_scope() as session:
        return list(session.exec(select(Rating)))


def test_applicant_rates_each_department_and_the_service_once_after_the_decision(
    browser: Browser, staff: dict[str, str], applicant: Actor
):
    application_id = decided(applicant, staff)
    browser.sign_in("applicant")
    url = f"/portal/applications/{application_id}/rate"
    response = browser.post(url, {"department_code": OWN, "score": "5", "comment": "办事高效"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/portal/applications/{application_id}?rated=1"
    assert browser.post(url, {"department_code": "", "score": "4"}).status_code == 303
    again = browser.post(url, {"department_code": OWN, "score": "1"})
    assert again.status_code == 409 and "只能评价一次" in again.text
    assert sorted((r.department_code, r.score, r.reply_due) for r in stored()) == [("", 4, None), (OWN, 5, None)]
    with session_scope() as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity_type == "rating")).all()
    assert actions == ["rating.create", "rating.create"]


def test_rating_before_the_decision_or_of_another_department_or_out_of_range_is_refused(
    browser: Browser, staff: dict[str, str], applicant: Actor
):
    pending = submitted(applicant)
    application_id = decided(applicant, staff)
    browser.sign_in("applicant")
    early = browser.post(f"/portal/applications/{pending}/rate", {"department_code": OWN, "score": "5"})
    assert early.status_code == 409 and "办结后才能评价" in early.text
    url = f"/portal/applications/{application_id}/rate"
    assert browser.post(url, {"department_code": UNINVOLVED, "score": "5"}).status_code == 422
    for score in ("0", "6", "abc", ""):
        assert browser.post(url, {"department_code": OWN, "score": score}).status_code == 422, score
    assert browser.post(url, {"department_code": OWN, "score": "3", "comment": "长" * 501}).status_code == 422
    assert stored() == []


def test_only_the_applicant_of_the_application_may_rate_it(new_browser, staff: dict[str, str], applicant: Actor):
    application_id = decided(applicant, staff)
    make_applicant("someone_else")
    url = f"/portal/applications/{application_id}/rate"
    other = new_browser()
    other.sign_in("someone_else")
    assert other.post(url, {"department_code": OWN, "score": "1"}).status_code == 404
    reviewer = new_browser()
    reviewer.sign_in("reviewer")
    assert reviewer.post(url, {"department_code": OWN, "score": "1"}).status_code == 403
    assert stored() == []


def test_rating_without_csrf_is_refused(browser: Browser, staff: dict[str, str], applicant: Actor):
    application_id = decided(applicant, staff)
    browser.sign_in("applicant")
    url = f"/portal/applications/{application_id}/rate"
    assert browser.post(url, {"department_code": OWN, "score": "1"}, csrf=False).status_code == 403
    assert stored() == []


def test_poor_rating_is_a_followup_of_that_department_only_due_in_working_days(
    new_browser, staff: dict[str, str], applicant: Actor
):
    application_id = decided(applicant, staff)
    with session_scope() as session:
        poor = ratings.rate(session, applicant, application_id, OWN, 1, "<script>alert(1)</script>等了很久")
        fine = ratings.rate(session, applicant, application_id, OTHER, 4, None)
    today = china_date(utcnow())
    assert poor.reply_due == nth_working_day(today, get_settings().rating_reply_days, catalogs.calendar())
    assert poor.reply_due is not None and catalogs.calendar().is_working_day(poor.reply_due)
    assert fine.reply_due is None

    own = new_browser()
    own.sign_in("reviewer2")
    page = own.get("/desk/ratings").text
    assert f'id="rating-{poor.id}"' in page and "待回复" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    other = new_browser()
    other.sign_in("other_reviewer")
    assert f"rating-{poor.id}" not in other.get("/desk/ratings").text
    assert other.post(f"/desk/ratings/{poor.id}/reply", {"text": "已整改"}).status_code == 404
    assert other.post(f"/desk/ratings/{fine.id}/reply", {"text": "谢谢"}).status_code == 422  # not a 差评


def test_overdue_followups_are_marked_and_listed_first(staff: dict[str, str], applicant: Actor):
    first, second = decided(applicant, staff), decided(applicant, staff)
    with session_scope() as session:
        later = ratings.rate(session, applicant, first, OWN, 2)
        late = ratings.rate(session, applicant, second, OWN, 1)
        assert later.reply_due is not None
        row = session.get(Rating, late.id)
        assert row is not None
        row.reply_due = china_date(utcnow()).replace(year=2020)
        session.add(row)
        session.commit()
        listed = ratings.followups(session, Actor(staff["reviewer"], Role.REVIEWER, OWN))
    assert [(f.rating.id, f.overdue) for f in listed] == [(late.id, True), (later.id, False)]


def test_reply_reaches_the_applicant_once_and_the_panel_escapes_the_comment(
    browser: Browser, staff: dict[str, str], applicant: Actor
):
    application_id = decided(applicant, staff)
    with session_scope() as session:
        poor = ratings.rate(session, applicant, application_id, OWN, 1, "<script>alert(1)</script>")
    browser.sign_in("reviewer")
    browser.get("/desk/ratings")
    url = f"/desk/ratings/{poor.id}/reply"
    assert browser.post(url, {"text": "已安排专人跟进，压缩审查时限"}, csrf=False).status_code == 403
    response = browser.post(url, {"text": "已安排专人跟进，压缩审查时限"})
    assert response.status_code == 303 and response.headers["location"] == "/desk/ratings?replied=1"
    assert "已回复" in browser.get("/desk/ratings").text
    assert browser.post(url, {"text": "再回复一次"}).status_code == 409

    with session_scope() as session:
        given = ratings.ratings_of_application(session, applicant, application_id)
        progress = applications.list_progress(session, applicant, application_id)
        events = session.exec(select(AuditEvent.action).where(AuditEvent.entity_id == poor.id)).all()
    assert [(r.department_code, r.reply) for r in given] == [(OWN, "已安排专人跟进，压缩审查时限")]
    assert events == ["rating.create", "rating.reply"]
    panel = (
        environment(catalogs.templates_dir())
        .get_template("portal/ratings_panel.html.j2")
        .render(
            application=progress.application,
            reviews=progress.reviews,
            ratings=given,
            csrf_field="csrf_token",
            csrf_token="t",
            department_name=catalogs.department_name,
            may_rate=ratings.may_rate(progress.application),
            rating_scores=ratings.SCORES,
        )
    )
    assert "已安排专人跟进，压缩审查时限" in panel
    assert "&lt;script&gt;" in panel and "<script>" not in panel
    forms = [f for f in ("WSJK", "XFJY", "") if f'class="rating-form" data-department="{f}"' in panel]
    assert forms == [OTHER, ""]  # the department already rated gets no second form
    for score in range(1, 6):
        assert f'<label for="score-{OTHER}-{score}">' in panel
