"""双随机抽查: a supervisor draws, per department, licenses granted on commitments; the draw is recorded with its
seed and population and recomputes to the same selection; the same seed over the same population chooses the same
businesses; a reviewer sees its own department's part only; nobody else draws."""

from __future__ import annotations

import re

from sqlmodel import select

from review.roles import SYSTEM_ACTOR, Actor, Role
from review.sampling import draw
from services import aggregation, inspections, licenses
from store.db import session_scope
from store.tables.lifecycle import InspectionDraw
from tests import builders
from tests.web.portal.conftest import Browser

HOLDER = Actor("inspection-holder", Role.APPLICANT)


def issue_stores(count: int) -> None:
    """Convenience stores with an outdoor sign: SCJG (食品经营, 非核心要件信任) and CGJ (招牌, 要件后补) permits."""
    conditions = builders.conditions_for("CONVENIENCE_STORE", ["FOOD_BUSINESS", "OUTDOOR_SIGN"])
    with session_scope() as session:
        for _ in range(count):
            application = builders.submit_valid(session, HOLDER, "CONVENIENCE_STORE", conditions=conditions).application
            builders.decide_all(session, application.id)
            aggregation.aggregate(session, application.id)
            licenses.issue_license(session, SYSTEM_ACTOR, application.id)


def test_a_supervisor_draws_a_reproducible_sample_per_department(new_browser, staff) -> None:
    issue_stores(6)
    supervisor: Browser = new_browser()
    supervisor.sign_in("supervisor")
    page = supervisor.get("/board/inspections")
    assert page.status_code == 200 and "双随机抽查" in page.text
    assert supervisor.post("/board/inspections", {"quota_SCJG": "2"}, csrf=False).status_code == 403
    bad = supervisor.post("/board/inspections", {"quota_SCJG": "两个"})
    assert bad.status_code == 422 and "quota_SCJG" in bad.text
    drawn = supervisor.post("/board/inspections", {"quota_SCJG": "2", "quota_CGJ": "10", "seed": "2026-12-公告"})
    assert drawn.status_code == 303
    with session_scope() as session:
        record = session.exec(select(InspectionDraw)).one()
        assert record.seed == "2026-12-公告" and record.quotas == {"SCJG": 2, "CGJ": 10}
        assert len(record.population["SCJG"]) == 6 and len(record.selected["SCJG"]) == 2
        assert len(record.selected["CGJ"]) == 6  # fewer than the quota: all of them
        assert inspections.replay(record) == record.selected
        # the same seed over the same population chooses the same; another seed (almost surely) does not
        assert draw(record.population, record.quotas, record.seed) == record.selected
        others = {tuple(draw(record.population, {"SCJG": 2}, f"seed-{n}")["SCJG"]) for n in range(20)}
        assert len(others) > 1
        chosen_scjg = record.selected["SCJG"]
    page = supervisor.get("/board/inspections")
    assert "复算一致" in page.text and all(number in page.text for number in chosen_scjg)

    reviewer: Browser = new_browser()
    reviewer.sign_in("reviewer")  # WSJK: not in this draw
    assert all(number not in reviewer.get("/desk/inspections").text for number in chosen_scjg)
    assert reviewer.post("/board/inspections", {"quota_SCJG": "1"}).status_code == 403
    assert re.search(r"抽取</button>", reviewer.get("/desk/inspections").text) is None
