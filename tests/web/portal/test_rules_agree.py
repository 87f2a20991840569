"""Every rule stated once: the API, the desk (portal) and the CLI give the same answer, because each asks the service.

- The opinion of a decision (`review.transitions.OPINION_MAX_CHARS`, `Decision.needs_opinion`): required for
  不同意 and 需补正, optional for 同意, at most 2,000 characters — through all three doors.
- What a reviewer may do with a review now (`services.reviews.allowed_actions`): the API's `allowed_actions`, the
  desk's buttons and the CLI's JSON agree, before and after a colleague claims it.
- Which permits may be renewed (`services.changes.renewable_permits`): the progress page offers exactly those the
  service accepts (tested in tests/web/portal/test_changes_portal.py through the same function)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from onelicense.cli import queue
from onelicense.review.roles import Actor, Role
from onelicense.review.transitions import OPINION_MAX_CHARS, ReviewStatus
from onelicense.services import applications
from onelicense.services.users import create_user
from onelicense.store.db import session_scope
from onelicense.store.tables import DepartmentReview
from tests.web.portal.conftest import OWN, Browser
from tests.web.sample import submission_body

APPLICANT = Actor("rules-applicant", Role.APPLICANT)
runner = CliRunner()


def own_review() -> str:
    """A new application of the small industry; the id of OWN's review of it."""
    body = submission_body()
    with session_scope() as session:
        submitted = applications.submit(
            session, APPLICANT, industry_code=body["industry_code"], answers=body["answers"], materials=body["materials"]
        )
        return next(r.id for r in submitted.reviews if r.department_code == OWN)


def status_of(review_id: str) -> ReviewStatus:
    with session_scope() as session:
        review = session.get(DepartmentReview, review_id)
        assert review is not None
        return review.status


def api_token(name: str) -> str:
    with session_scope() as session:
        _, token = create_user(session, name, Role.REVIEWER, OWN)
    return token


class Doors:
    """One decision or one look at a review, through each door, as (accepted, what the user reads)."""

    def __init__(self, app: Any, browser: Browser, token: str) -> None:
        self.api = TestClient(app)
        self.browser = browser
        self.token = token

    def decide(self, door: str, review_id: str, decision: str, opinion: str) -> tuple[bool, str]:
        if door == "api":
            response = self.api.post(
                f"/api/queue/{review_id}/decide",
                headers={"Authorization": f"Bearer {self.token}"},
                json={"decision": decision, "opinion": opinion},
            )
            assert response.status_code < 500, response.text
            return response.status_code == 200, response.text
        if door == "portal":
            self.browser.get(f"/desk/reviews/{review_id}")
            response = self.browser.post(
                f"/desk/reviews/{review_id}/decide", {"decision": decision, "opinion": opinion}
            )
            assert response.status_code < 500, response.text
            return response.status_code == 303, response.text
        result = runner.invoke(
            queue.app, ["decide", review_id, "--decision", decision, "--opinion", opinion, "--token", self.token]
        )
        return result.exit_code == 0, result.output

    def actions(self, door: str, review_id: str) -> set[str]:
        if door == "api":
            response = self.api.get(f"/api/queue/{review_id}", headers={"Authorization": f"Bearer {self.token}"})
            assert response.status_code == 200, response.text
            return set(response.json()["allowed_actions"])
        if door == "cli":
            result = runner.invoke(queue.app, ["show", review_id, "--json", "--token", self.token])
            assert result.exit_code == 0, result.output
            return set(json.loads(result.output)["allowed_actions"])
        page = self.browser.get(f"/desk/reviews/{review_id}").text
        shown = {
            "claim": f'action="/desk/reviews/{review_id}/claim"',
            "release": f'action="/desk/reviews/{review_id}/release"',
            "decide": f'action="/desk/reviews/{review_id}/decide"',
        }
        return {name for name, form in shown.items() if form in page}


@pytest.fixture
def doors(app: Any, new_browser: Any, staff: dict[str, str]) -> Doors:
    browser: Browser = new_browser()
    browser.sign_in("reviewer")  # a reviewer of OWN, as the token's account is
    return Doors(app, browser, api_token("rules-reviewer"))


CASES = [
    # (decision, opinion, accepted, what a refusal says)
    ("reject", "   ", False, "审查意见不能为空"),
    ("supplement", "", False, "审查意见不能为空"),
    ("approve", "同" * (OPINION_MAX_CHARS + 1), False, f"最多 {OPINION_MAX_CHARS} 个字符"),
    ("approve", "", True, ""),
    ("reject", "不" * OPINION_MAX_CHARS, True, ""),
]


@pytest.mark.parametrize(("decision", "opinion", "accepted", "says"), CASES)
def test_the_opinion_rule_is_the_same_through_the_api_the_desk_and_the_cli(
    doors: Doors, decision: str, opinion: str, accepted: bool, says: str
) -> None:
    answers = {}
    for door in ("api", "portal", "cli"):
        review_id = own_review()
        ok, text = doors.decide(door, review_id, decision, opinion)
        answers[door] = ok
        assert ok is accepted, (door, text[-500:])
        if accepted:
            assert status_of(review_id) is not ReviewStatus.PENDING
        else:
            assert says in text, (door, text[-500:])
            assert status_of(review_id) is ReviewStatus.PENDING  # refused: nothing written
    assert len(set(answers.values())) == 1


def test_what_a_reviewer_may_do_now_is_the_same_through_the_api_the_desk_and_the_cli(doors: Doors) -> None:
    review_id = own_review()
    before = {door: doors.actions(door, review_id) for door in ("api", "portal", "cli")}
    assert all(shown == {"claim", "decide"} for shown in before.values()), before

    colleague = api_token("rules-colleague")
    taken = doors.api.post(f"/api/queue/{review_id}/claim", headers={"Authorization": f"Bearer {colleague}"})
    assert taken.status_code == 200, taken.text
    after = {door: doors.actions(door, review_id) for door in ("api", "portal", "cli")}
    assert all(shown == set() for shown in after.values()), after  # a colleague holds it: nothing to do but read
    for door in ("api", "portal", "cli"):  # and the service agrees with what the doors showed
        ok, _ = doors.decide(door, review_id, "approve", "同意")
        assert not ok, door
