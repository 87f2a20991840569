"""双随机抽查: a supervisor draws, per department, licenses granted on commitments; the draw is recorded with its
seed and population and recomputes to the same selection; the same seed over the same population chooses the same
businesses; a reviewer sees its own department's part only; nobody else draws. A second draw of the same Beijing
day (a redraw) needs a reason, kept and shown; every draw stays listed, page by page."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import time_machine
from sqlmodel import func, select

from onelicense.clock import CHINA_TIME
from onelicense.errors import InvalidRequest
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role
from onelicense.review.sampling import draw
from onelicense.services import aggregation, inspections, licenses
from onelicense.store import audit
from onelicense.store.db import session_scope
from onelicense.store.tables import AuditEvent
from onelicense.store.tables.lifecycle import InspectionDraw
from tests import builders
from tests.web.portal.conftest import OTHER, Browser

HOLDER = Actor("inspection-holder", Role.APPLICANT)
SUPERVISOR = Actor("supervisor-on-duty", Role.SUPERVISOR)


def stored_draws() -> tuple[int, int]:
    """How many draws are recorded, and how many audit events say a draw was made."""
    with session_scope() as session:
        draws = session.exec(select(func.count()).select_from(InspectionDraw)).one()
        events = session.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "inspection.draw")
        ).one()
    return draws, events


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


def test_a_redraw_the_same_day_needs_a_reason_which_is_kept_audited_and_shown(new_browser, staff) -> None:
    issue_stores(3)
    supervisor: Browser = new_browser()
    supervisor.sign_in("supervisor")
    assert supervisor.post("/board/inspections", {"quota_SCJG": "1"}).status_code == 303
    assert stored_draws() == (1, 1)

    for reason in ("", "   "):
        again = supervisor.post("/board/inspections", {"quota_SCJG": "1", "seed": "再来一次", "reason": reason})
        assert again.status_code == 422, again.text
        assert "再次抽取须填写重抽原因" in again.text
        assert 'value="再来一次"' in again.text  # what was typed is kept for the second try
        assert stored_draws() == (1, 1)  # nothing recorded, nothing audited

    reason = "首次抽中的门店上周已现场检查，按规定重抽"
    redrawn = supervisor.post("/board/inspections", {"quota_SCJG": "1", "reason": reason})

    assert redrawn.status_code == 303
    assert stored_draws() == (2, 2)
    with session_scope() as session:
        first, second = session.exec(select(InspectionDraw).order_by(InspectionDraw.day_sequence)).all()
        assert (first.day_sequence, first.reason) == (1, None)
        assert (second.drawn_on, second.day_sequence, second.reason) == (first.drawn_on, 2, reason)
        (event,) = audit.events_for(session, "inspection_draw", second.id)
        assert event.after is not None and event.after["reason"] == reason and event.after["day_sequence"] == 2
    page = supervisor.get("/board/inspections").text
    assert f"重抽原因：{reason}" in page and "当日第 2 次" in page
    assert f'id="d-{first.id}"' in page and f'id="d-{second.id}"' in page  # the first draw stays listed


def test_the_day_of_a_redraw_is_the_beijing_date(database: str) -> None:
    issue_stores(1)
    late = datetime(2026, 12, 10, 23, 50, tzinfo=CHINA_TIME)  # 15:50 UTC
    with session_scope() as session:
        with time_machine.travel(late, tick=False):
            assert inspections.draw_inspections(session, SUPERVISOR, {"SCJG": 1}).day_sequence == 1
        with (
            time_machine.travel(late.replace(minute=59), tick=False),
            pytest.raises(InvalidRequest, match=r"今日（2026-12-10）已抽取 1 次.*重抽原因"),
        ):
            inspections.draw_inspections(session, SUPERVISOR, {"SCJG": 1})
        # ten minutes later it is 11 December in Beijing (still 10 December in UTC): a new day's first draw
        with time_machine.travel(late.replace(day=11, hour=0, minute=0), tick=False):
            next_day = inspections.draw_inspections(session, SUPERVISOR, {"SCJG": 1})
        assert (next_day.drawn_on, next_day.day_sequence, next_day.reason) == (date(2026, 12, 11), 1, None)


def test_every_draw_stays_reachable_page_by_page(new_browser, staff) -> None:
    issue_stores(1)
    with session_scope() as session:
        drawn = [
            inspections.draw_inspections(
                session,
                SUPERVISOR,
                {"SCJG": 1, OTHER: 1} if n % 2 else {"CGJ": 1},
                reason=f"第 {n} 次演练" if n else None,
            ).id
            for n in range(45)
        ]
    supervisor: Browser = new_browser()
    supervisor.sign_in("supervisor")

    pages = [supervisor.get(f"/board/inspections?page={n}").text for n in (1, 2, 3)]

    shown = [re.findall(r'id="d-([0-9a-f]{32})"', page) for page in pages]
    assert [len(ids) for ids in shown] == [20, 20, 5]
    assert [i for ids in shown for i in ids] == drawn[::-1]  # all of them, newest first, each once
    assert "第 1 / 3 页（共 45 次抽取）" in pages[0] and 'href="/board/inspections?page=2"' in pages[0]
    assert "上一页" in pages[2] and "下一页" not in pages[2]
    assert supervisor.get("/board/inspections?page=0").status_code == 422
    # a department's reviewer pages through the draws that include its department only
    reviewer: Browser = new_browser()
    reviewer.sign_in("other_reviewer")
    desk = [reviewer.get(f"/desk/inspections?page={n}").text for n in (1, 2)]
    seen = [i for page in desk for i in re.findall(r'id="d-([0-9a-f]{32})"', page)]
    assert seen == [d for n, d in enumerate(drawn) if n % 2][::-1]
