"""The department reviewer's desk (/desk): the queue with its 红黄绿灯 counts, a review's detail, claim / release /
decide through plain forms, races and refusals, and permit changes on the licenses page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from onelicense.clock import china_date, utcnow
from onelicense.errors import Forbidden
from onelicense.flows.dispatcher import dispatch_once
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role
from onelicense.review.sla import SlaDates, SlaLevel
from onelicense.review.transitions import ReviewStatus
from onelicense.services import applications, licenses, reviews
from onelicense.services import catalog as catalogs
from onelicense.services.queries import queue_board
from onelicense.store.db import session_scope
from onelicense.store.tables import DecisionRecord, DepartmentReview
from tests import builders
from tests.web.portal.conftest import OTHER, OWN, Browser
from tests.web.sample import submission_body

APPLICANT = Actor("desk-applicant", Role.APPLICANT)
LEVEL_NAMES = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "past_statutory": "超法定时限"}
VERSION = re.compile(r'name="expected_version" value="(\d+)"')


def submit(opened_at: datetime | None = None) -> dict[str, str]:
    """An application of the small industry (WSJK and XFJY review it), opened at `opened_at`: its review ids and
    reference by department."""
    body = submission_body()
    with pytest.MonkeyPatch.context() as patch:
        if opened_at is not None:
            patch.setattr("onelicense.services.applications.utcnow", lambda: opened_at)
        with session_scope() as session:
            submitted = applications.submit(
                session,
                APPLICANT,
                industry_code=body["industry_code"],
                answers=body["answers"],
                materials=body["materials"],
            )
            ids = {r.department_code: r.id for r in submitted.reviews}
            ids["reference"] = submitted.application.reference
            ids["holder"] = submitted.application.holder_name
    return ids


def review_row(review_id: str) -> DepartmentReview:
    with session_scope() as session:
        review = session.get(DepartmentReview, review_id)
        assert review is not None
        session.expunge(review)
        return review


def signed_in(new_browser, login: str) -> Browser:
    browser: Browser = new_browser()
    browser.sign_in(login)
    return browser


def counts_on(page: str) -> dict[str, int]:
    return {
        level: int(re.search(rf"{name} <strong>(\d+)</strong>", page).group(1))  # type: ignore[union-attr]
        for level, name in LEVEL_NAMES.items()
    }


def test_queue_shows_its_own_department_only_with_colour_counts_from_the_stored_days(new_browser, staff):
    fresh = submit()
    old = submit(opened_at=utcnow() - timedelta(days=40))
    reviewer = signed_in(new_browser, "reviewer")
    page = reviewer.get("/desk")
    assert page.status_code == 200
    assert f"/desk/reviews/{fresh[OWN]}" in page.text and f"/desk/reviews/{old[OWN]}" in page.text
    assert fresh[OTHER] not in page.text and old[OTHER] not in page.text
    assert fresh["reference"] in page.text and fresh["holder"] in page.text

    expected = dict.fromkeys(LEVEL_NAMES, 0)
    for ids in (fresh, old):
        expected[level_of(ids[OWN]).value] += 1
    assert counts_on(page.text) == expected
    assert sum(1 for n in expected.values() if n) == 2  # the old review is no longer green

    other = signed_in(new_browser, "other_reviewer").get("/desk")
    assert f"/desk/reviews/{fresh[OTHER]}" in other.text and fresh[OWN] not in other.text


def test_filtering_by_colour_lists_only_that_colour(new_browser, staff):
    fresh = submit()
    old = submit(opened_at=utcnow() - timedelta(days=40))
    old_level, fresh_level = level_of(old[OWN]), level_of(fresh[OWN])
    assert old_level is not fresh_level
    reviewer = signed_in(new_browser, "reviewer")
    page = reviewer.get(f"/desk?level={old_level.value}")
    assert page.status_code == 200
    assert old[OWN] in page.text and fresh[OWN] not in page.text
    other = reviewer.get(f"/desk?level={fresh_level.value}&sort=opened")
    assert fresh[OWN] in other.text and old[OWN] not in other.text


def level_of(review_id: str) -> SlaLevel:
    """What review.sla says of the review's stored days today."""
    review = review_row(review_id)
    assert review.yellow_on and review.due_on and review.red_on
    dates = SlaDates(review.yellow_on, review.due_on, review.red_on, review.past_statutory_on)
    return dates.level_on(china_date(utcnow()))


def test_another_departments_review_is_forbidden_and_leaks_nothing(new_browser, staff):
    ids = submit()
    page = signed_in(new_browser, "other_reviewer").get(f"/desk/reviews/{ids[OWN]}")
    assert page.status_code == 403
    assert ids["reference"] not in page.text and ids["holder"] not in page.text


def test_detail_shows_the_departments_fields_and_the_suggested_opinion(new_browser, staff):
    ids = submit()
    dispatch_once()
    review = review_row(ids[OWN])
    assert review.suggested_opinion
    page = signed_in(new_browser, "reviewer").get(f"/desk/reviews/{ids[OWN]}")
    assert page.status_code == 200
    textarea = re.search(r'<textarea id="opinion" name="opinion"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert textarea is not None and review.suggested_opinion.strip() in textarea.group(1).replace("&#34;", '"')
    with session_scope() as session:
        mine = applications.list_progress(session, Actor(staff["reviewer"], Role.REVIEWER, OWN), review.application_id)
        full = applications.list_progress(session, SYSTEM_ACTOR, review.application_id)
    hidden = set(full.application.answers) - set(mine.application.answers)
    assert hidden  # the other department needs fields this one does not
    for key in hidden:
        assert f">{catalogs.item_label(key)}<" not in page.text


def test_claim_then_decide_through_the_forms(new_browser, staff):
    ids = submit()
    reviewer = signed_in(new_browser, "reviewer")
    page = reviewer.get(f"/desk/reviews/{ids[OWN]}")
    version = VERSION.search(page.text).group(1)  # type: ignore[union-attr]
    claimed = reviewer.post(f"/desk/reviews/{ids[OWN]}/claim", {"expected_version": version})
    assert claimed.status_code == 303 and claimed.headers["location"].endswith("?done=claimed")
    review = review_row(ids[OWN])
    assert review.status is ReviewStatus.CLAIMED and review.assignee == staff["reviewer"]

    page = reviewer.get(claimed.headers["location"])
    assert "已受理该审查任务" in page.text and "释放" in page.text
    version = VERSION.search(page.text).group(1)  # type: ignore[union-attr]
    decided = reviewer.post(
        f"/desk/reviews/{ids[OWN]}/decide",
        {"decision": "approve", "opinion": "符合条件，同意。", "expected_version": version},
    )
    assert decided.status_code == 303 and decided.headers["location"] == "/desk?done=decided"
    assert review_row(ids[OWN]).status is ReviewStatus.APPROVED
    with session_scope() as session:
        records = session.exec(select(DecisionRecord).where(DecisionRecord.review_id == ids[OWN])).all()
    assert [r.opinion for r in records] == ["符合条件，同意。"]
    assert "审查决定已提交" in reviewer.get("/desk?done=decided").text


def test_release_puts_a_claimed_review_back(new_browser, staff):
    ids = submit()
    reviewer = signed_in(new_browser, "reviewer")
    reviewer.get(f"/desk/reviews/{ids[OWN]}")
    assert reviewer.post(f"/desk/reviews/{ids[OWN]}/claim").status_code == 303
    released = reviewer.post(f"/desk/reviews/{ids[OWN]}/release")
    assert released.status_code == 303
    review = review_row(ids[OWN])
    assert review.status is ReviewStatus.PENDING and review.assignee is None


def test_a_decision_on_a_stale_page_gets_409_keeps_the_opinion_and_the_first_decision_stands(new_browser, staff):
    ids = submit()
    first, second = signed_in(new_browser, "reviewer"), signed_in(new_browser, "reviewer2")
    first_page = first.get(f"/desk/reviews/{ids[OWN]}")
    second_page = second.get(f"/desk/reviews/{ids[OWN]}")
    version = VERSION.search(second_page.text).group(1)  # type: ignore[union-attr]
    assert VERSION.search(first_page.text).group(1) == version  # type: ignore[union-attr]
    ok = first.post(
        f"/desk/reviews/{ids[OWN]}/decide", {"decision": "approve", "opinion": "同意。", "expected_version": version}
    )
    assert ok.status_code == 303
    late = second.post(
        f"/desk/reviews/{ids[OWN]}/decide",
        {"decision": "reject", "opinion": "第二位审批人员的意见：不同意", "expected_version": version},
    )
    assert late.status_code == 409
    assert "已被他人处理" in late.text and "第二位审批人员的意见：不同意" in late.text
    review = review_row(ids[OWN])
    assert review.status is ReviewStatus.APPROVED and review.assignee == staff["reviewer"]


def test_a_review_claimed_by_a_colleague_cannot_be_taken(new_browser, staff):
    ids = submit()
    first, second = signed_in(new_browser, "reviewer"), signed_in(new_browser, "reviewer2")
    second.get(f"/desk/reviews/{ids[OWN]}")
    first.get(f"/desk/reviews/{ids[OWN]}")
    assert first.post(f"/desk/reviews/{ids[OWN]}/claim").status_code == 303
    late = second.post(f"/desk/reviews/{ids[OWN]}/claim")
    assert late.status_code == 409 and "已被他人处理" in late.text and "reviewer-name" in late.text
    assert review_row(ids[OWN]).assignee == staff["reviewer"]


def test_refusing_without_a_reason_is_422_in_chinese_and_changes_nothing(new_browser, staff):
    ids = submit()
    reviewer = signed_in(new_browser, "reviewer")
    reviewer.get(f"/desk/reviews/{ids[OWN]}")
    refused = reviewer.post(f"/desk/reviews/{ids[OWN]}/decide", {"decision": "reject", "opinion": "  "})
    assert refused.status_code == 422 and "审查意见不能为空" in refused.text
    no_items = reviewer.post(f"/desk/reviews/{ids[OWN]}/decide", {"decision": "supplement", "opinion": "请补正"})
    assert no_items.status_code == 422 and "必须列出需补正的字段或材料" in no_items.text
    assert "请补正" in no_items.text  # the typed opinion is back in the form
    assert review_row(ids[OWN]).status is ReviewStatus.PENDING


def test_asking_for_supplement_records_the_ticked_items(new_browser, staff):
    ids = submit()
    review = review_row(ids[OWN])
    items = [key for key, _, _ in reviews.requestable_items(review.permit_codes)][:2]
    reviewer = signed_in(new_browser, "reviewer")
    page = reviewer.get(f"/desk/reviews/{ids[OWN]}")
    for key in items:
        assert f'name="requested_items" value="{key}"' in page.text
    asked = reviewer.post(
        f"/desk/reviews/{ids[OWN]}/decide",
        {"decision": "supplement", "opinion": "请补正以下事项。", "requested_items": items},
    )
    assert asked.status_code == 303
    stored = review_row(ids[OWN])
    assert stored.status is ReviewStatus.SUPPLEMENT_REQUESTED and stored.requested_items == items


def test_a_post_without_the_csrf_token_is_refused(new_browser, staff):
    ids = submit()
    reviewer = signed_in(new_browser, "reviewer")
    reviewer.get(f"/desk/reviews/{ids[OWN]}")
    refused = reviewer.post(f"/desk/reviews/{ids[OWN]}/claim", csrf=False)
    assert refused.status_code == 403
    forged = reviewer.post(f"/desk/reviews/{ids[OWN]}/decide", {"decision": "approve", "csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert review_row(ids[OWN]).status is ReviewStatus.PENDING


def test_a_script_in_an_opinion_is_escaped_in_the_history(new_browser, staff):
    ids = submit()
    reviewer = signed_in(new_browser, "reviewer")
    reviewer.get(f"/desk/reviews/{ids[OWN]}")
    opinion = "<script>alert('x')</script>不同意"
    assert (
        reviewer.post(f"/desk/reviews/{ids[OWN]}/decide", {"decision": "reject", "opinion": opinion}).status_code == 303
    )
    page = reviewer.get(f"/desk/reviews/{ids[OWN]}")
    assert "&lt;script&gt;alert(" in page.text and "<script>alert(" not in page.text


def test_suspending_a_permit_on_the_licenses_page_shows_on_public_verification(new_browser, staff):
    with session_scope() as session:
        application = builders.approved(session, APPLICANT, "ELDERLY_CARE", conditions={})
        license_ = licenses.issue_license(session, SYSTEM_ACTOR, application.id)
        number, token = license_.number, license_.token
        permit = next(p for p in licenses.permits_of(session, license_.id) if p.department_code == OWN)
        code, name = permit.permit_code, permit.permit_name
    reviewer = signed_in(new_browser, "reviewer")
    page = reviewer.get("/desk/licenses")
    assert page.status_code == 200 and number in page.text and name in page.text
    action = f"/desk/licenses/{number}/permits/{code}/suspend"
    assert f'action="{action}"' in page.text
    assert reviewer.post(action, {"reason": ""}).status_code == 422
    changed = reviewer.post(action, {"reason": "停业整顿"})
    assert changed.status_code == 303
    assert "许可状态已变更" in reviewer.get(changed.headers["location"]).text
    assert "暂扣" in reviewer.get(f"/v/{token}").text
    again = reviewer.post(action, {"reason": "重复暂扣"})
    assert again.status_code == 409 and "不能执行" in again.text

    other_code = next(c for c in application_permits(number) if c != code)
    refused = reviewer.post(f"/desk/licenses/{number}/permits/{other_code}/suspend", {"reason": "越权"})
    assert refused.status_code == 403


def application_permits(number: str) -> list[str]:
    with session_scope() as session:
        license_ = licenses.load_license(session, number)
        return [p.permit_code for p in licenses.permits_of(session, license_.id)]


def test_the_queue_board_counts_and_pages_in_sql(staff):
    for days in (0, 0, 40):
        submit(opened_at=utcnow() - timedelta(days=days))
    actor = Actor(staff["reviewer"], Role.REVIEWER, OWN)
    with session_scope() as session:
        board = queue_board.queue_page(session, actor, page_size=2)
        assert board.total == 3 and board.pages == 2 and len(board.rows) == 2
        due = [r.due_on for r in board.rows]
        assert due == sorted(due)
        rest = queue_board.queue_page(session, actor, page_size=2, page=2)
        assert len(rest.rows) == 1 and rest.counts == board.counts
        assert all(r.due_on and r.due_on >= due[-1] for r in rest.rows)
        with pytest.raises(Forbidden, match="本部门"):
            queue_board.queue_page(session, actor, department=OTHER)
        none_open = queue_board.queue_page(session, actor, status="approved")
        assert none_open.total == 0 and none_open.rows == ()
