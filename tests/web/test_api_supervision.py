"""GET /api/supervision/board: the supervision board as JSON for supervisors and admins only, with the same figures
the portal's /board shows (services.queries.supervision)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from onelicense.clock import china_date, utcnow
from onelicense.review.roles import Role
from onelicense.services.users import create_user
from onelicense.store.db import session_scope
from onelicense.store.tables import DepartmentReview
from tests.web.conftest import OWN, Api


def test_only_supervisors_and_admins_read_the_board(api: Api) -> None:
    assert api.get("/api/supervision/board").status_code == 401
    for who in ("applicant", "reviewer"):
        assert api.get("/api/supervision/board", who).status_code == 403, who
    assert api.get("/api/supervision/board", "admin").status_code == 200
    with session_scope() as session:
        _, token = create_user(session, "督办员", Role.SUPERVISOR)
    answer = api.client.get("/api/supervision/board", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"


def test_the_board_counts_open_reviews_and_lists_the_cases_at_yellow_or_worse(api: Api) -> None:
    submitted = api.submit()
    departments = {d["department_code"] for d in submitted["departments"]}
    board = api.get("/api/supervision/board", "admin").json()
    assert {d["department_code"]: (d["green"], d["total"]) for d in board["departments"]} == {
        code: (1, 1) for code in departments
    }
    assert board["cases"] == [] and board["cases_total"] == 0
    assert {s["status"]: s["count"] for s in board["statuses"]}["submitted"] == 1
    today = china_date(utcnow())
    with session_scope() as session:  # OWN's review turns yellow today: its promised day is in two days
        review = session.exec(
            select(DepartmentReview).where(
                DepartmentReview.application_id == submitted["application_id"], DepartmentReview.department_code == OWN
            )
        ).one()
        review.yellow_on, review.due_on = today, today + timedelta(days=2)
        review.red_on, review.past_statutory_on = today + timedelta(days=3), today + timedelta(days=20)
        session.add(review)
        session.commit()
    board = api.get("/api/supervision/board", "admin").json()
    [case] = board["cases"]
    assert (case["department_code"], case["level"], case["level_label"]) == (OWN, "yellow", "黄灯（临近承诺时限）")
    assert case["application_id"] == submitted["application_id"] and case["due_on"] == (today + timedelta(days=2)).isoformat()
    assert case["opened_at"].endswith(("Z", "+00:00", "+08:00"))  # ISO 8601 with its offset
    assert board["cases_total"] == 1
    own = next(d for d in board["departments"] if d["department_code"] == OWN)
    assert (own["green"], own["yellow"], own["total"]) == (0, 1, 1)
