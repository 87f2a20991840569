"""The supervision board (/board): colour counts per department as review.sla reads the stored days, the cases at
yellow or worse first, status counts, timeliness averages, the chart, the CSV exports, and who may see them."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import col, select

from onelicense.clock import CHINA_TIME, china_date, utcnow
from onelicense.review.roles import Actor, Role
from onelicense.review.sla import SlaDates, SlaLevel, working_days_used
from onelicense.review.transitions import OPEN_REVIEW_STATUSES, ApplicationStatus
from onelicense.services import applications, reviews
from onelicense.services import catalog as catalogs
from onelicense.services.queries import supervision
from onelicense.services.users import create_user
from onelicense.store.db import session_scope
from onelicense.store.tables import Application, DepartmentReview
from tests.web.conftest import BOTH_DATABASES
from tests.web.portal.conftest import OTHER, OWN, Browser, password_hash
from tests.web.sample import USCC, submission_body


@pytest.fixture
def applicant(database: str) -> Actor:
    with session_scope() as session:
        user, _ = create_user(
            session,
            "重庆山城宾馆有限公司",
            Role.APPLICANT,
            usccs=[USCC],
            login="applicant",
            password_hash=password_hash(),
        )
    return Actor(user.id, Role.APPLICANT, usccs=frozenset({USCC}))


def submit(applicant: Actor, count: int) -> list[str]:
    ids = []
    with session_scope() as session:
        for _ in range(count):
            ids.append(applications.submit(session, applicant, **submission_body()).application.id)
    return ids


def set_days(application_id: str, department: str, today: date, **offsets: int | None) -> None:
    """Move a review's colour-change days to `today + offset` (None: no statutory limit)."""
    with session_scope() as session:
        review = session.exec(
            select(DepartmentReview).where(
                DepartmentReview.application_id == application_id, DepartmentReview.department_code == department
            )
        ).one()
        for name, offset in offsets.items():
            setattr(review, name, None if offset is None else today + timedelta(days=offset))
        session.add(review)
        session.commit()


def reference(application_id: str) -> str:
    with session_scope() as session:
        found = session.get(Application, application_id)
        assert found is not None
        return found.reference


def expected_lights(today: date) -> dict[str, dict[SlaLevel, int]]:
    """What review.sla says of every stored open review, counted in Python."""
    counts: dict[str, dict[SlaLevel, int]] = {}
    with session_scope() as session:
        rows = session.exec(
            select(DepartmentReview).where(col(DepartmentReview.status).in_(OPEN_REVIEW_STATUSES))
        ).all()
        for r in rows:
            assert r.yellow_on and r.due_on and r.red_on
            level = SlaDates(r.yellow_on, r.due_on, r.red_on, r.past_statutory_on).level_on(today)
            counts.setdefault(r.department_code, dict.fromkeys(SlaLevel, 0))[level] += 1
    return counts


@pytest.fixture
def scene(applicant: Actor, staff: dict[str, str]) -> dict[str, str]:
    """Five applications: OWN's reviews past statutory, red (two, due on different days), yellow and green; OTHER's
    reviews green, the one of the first application decided (not open any more)."""
    today = china_date(utcnow())
    names = ["past", "red_late", "red_early", "yellow", "green"]
    ids = dict(zip(names, submit(applicant, len(names)), strict=True))
    set_days(ids["past"], OWN, today, yellow_on=-30, due_on=-25, red_on=-24, past_statutory_on=-2)
    set_days(ids["red_late"], OWN, today, yellow_on=-5, due_on=-2, red_on=-1, past_statutory_on=20)
    set_days(ids["red_early"], OWN, today, yellow_on=-9, due_on=-6, red_on=-5, past_statutory_on=None)
    set_days(ids["yellow"], OWN, today, yellow_on=0, due_on=2, red_on=3, past_statutory_on=20)
    for application_id, department in [(ids["green"], OWN), *((i, OTHER) for i in ids.values())]:
        set_days(application_id, department, today, yellow_on=3, due_on=5, red_on=6, past_statutory_on=20)
    with session_scope() as session:
        review = session.exec(
            select(DepartmentReview).where(
                DepartmentReview.application_id == ids["past"], DepartmentReview.department_code == OTHER
            )
        ).one()
        reviews.decide(session, Actor(staff["other_reviewer"], Role.REVIEWER, OTHER), review.id, "approve", "同意")
    return ids


def cells(page: str, table_id: str, key: str) -> dict[str, str]:
    """The cells of the row `data-department="key"` of a table, by their class."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert table, table_id
    row = re.search(rf'<tr data-department="{key}">(.*?)</tr>', table.group(1), re.S)
    assert row, key
    return dict(re.findall(r'<td class="([^"]+)">([^<]*)</td>', row.group(1)))


@BOTH_DATABASES  # the board's SQL (colour CASE, working-day averages) on both databases
def test_board_counts_open_reviews_per_department_as_review_sla_reads_their_days(
    browser: Browser, scene: dict[str, str]
):
    today = china_date(utcnow())
    expected = expected_lights(today)
    assert expected[OWN] == {
        SlaLevel.GREEN: 1,
        SlaLevel.YELLOW: 1,
        SlaLevel.RED: 2,
        SlaLevel.PAST_STATUTORY: 1,
    }
    assert expected[OTHER] == {SlaLevel.GREEN: 4, SlaLevel.YELLOW: 0, SlaLevel.RED: 0, SlaLevel.PAST_STATUTORY: 0}
    browser.sign_in("supervisor")
    page = browser.get("/board")
    assert page.status_code == 200
    for department, levels in expected.items():
        row = cells(page.text, "lights", department)
        for level, count in levels.items():
            assert row[f"count-{level.value}"] == str(count), (department, level)
        assert row["count-total"] == str(sum(levels.values()))
    with session_scope() as session:
        data = supervision.board(session, Actor("s", Role.SUPERVISOR))
    assert {row.department_code: {lv: row.count(lv) for lv in SlaLevel} for row in data.lights} == expected


@BOTH_DATABASES  # the board's SQL (colour CASE, working-day averages) on both databases
def test_cases_list_past_statutory_then_red_then_yellow_oldest_due_first(browser: Browser, scene: dict[str, str]):
    browser.sign_in("supervisor")
    page = browser.get("/board").text
    table = re.search(r'<table id="cases">(.*?)</table>', page, re.S)
    assert table
    listed = re.findall(r'<th scope="row"><a href="/board/cases/([0-9a-f]{32})">(SQ[^<]+)</a></th>', table.group(1))
    order = ("past", "red_early", "red_late", "yellow")
    assert listed == [(scene[k], reference(scene[k])) for k in order]  # each case number opens its case
    # the cases come before the per-department table on the page
    assert page.index('id="cases"') < page.index('id="lights"')


@BOTH_DATABASES  # the board's SQL (colour CASE, working-day averages) on both databases
def test_status_counts_and_timeliness_of_decided_reviews(browser: Browser, scene: dict[str, str]):
    browser.sign_in("admin")
    page = browser.get("/board").text
    submitted = re.search(r'<tr data-status="in_review"><th scope="row">审查中</th><td>(\d+)</td>', page)
    waiting = re.search(r'<tr data-status="submitted"><th scope="row">已提交</th><td>(\d+)</td>', page)
    assert submitted and waiting and (int(submitted.group(1)), int(waiting.group(1))) == (1, 4)
    with session_scope() as session:
        decided = session.exec(select(DepartmentReview).where(col(DepartmentReview.decided_at).is_not(None))).one()
        assert decided.decided_at is not None
        used = working_days_used(decided.opened_at, decided.decided_at, catalogs.calendar())
        promised, statutory = catalogs.review_limits(decided.permit_codes)
        data = supervision.board(session, Actor("a", Role.ADMIN))
    row = data.timeliness_of(OTHER)
    assert row is not None and row.decided == 1
    assert (row.average_used, row.average_promised, row.average_statutory) == (used, promised, statutory)
    assert [t.key for t in data.by_industry] == ["ELDERLY_CARE"] and data.timeliness_sample == 1


def test_working_day_counter_agrees_with_review_sla_across_weekends_and_holidays():
    calendar = catalogs.calendar()
    start = date(2025, 9, 20)
    counter = supervision.WorkingDayCounter(calendar, start, start + timedelta(days=60))
    for a in range(0, 30, 3):
        for b in range(a, 60, 7):
            opened = datetime.combine(start + timedelta(days=a), datetime.min.time(), CHINA_TIME)
            decided = datetime.combine(start + timedelta(days=b), datetime.min.time(), CHINA_TIME)
            assert counter.between(opened.date(), decided.date()) == working_days_used(opened, decided, calendar)


def test_chart_has_a_bar_per_department_with_a_title_a_description_and_a_table(browser: Browser, scene: dict[str, str]):
    browser.sign_in("supervisor")
    page = browser.get("/board").text
    svg = re.search(r"<svg[^>]*>(.*?)</svg>", page, re.S)
    assert svg and 'role="img"' in page
    assert '<title id="chart-title">' in svg.group(1) and '<desc id="chart-desc">' in svg.group(1)
    bars = re.findall(r'<g class="department-bar" data-department="([^"]+)">', svg.group(1))
    assert sorted(bars) == sorted([OWN, OTHER])
    own = re.search(rf'data-department="{OWN}">(.*?)</g>', svg.group(1), re.S)
    assert own and len(re.findall(r"<rect ", own.group(1))) == 4  # one segment per colour present
    assert '<table id="lights">' in page and '<th scope="col">' in page


@BOTH_DATABASES  # the board's SQL (colour CASE, working-day averages) on both databases
def test_csv_exports_parse_and_carry_the_same_numbers(browser: Browser, scene: dict[str, str]):
    browser.sign_in("supervisor")
    response = browser.get("/board.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_code = {row["部门代码"]: row for row in rows}
    expected = expected_lights(china_date(utcnow()))
    for department, levels in expected.items():
        for level, count in levels.items():
            assert by_code[department][level.label] == str(count)
        assert by_code[department]["部门名称"] == catalogs.department_name(department)
        assert by_code[department]["在办合计"] == str(sum(levels.values()))
    assert by_code[OTHER]["已办结（统计样本）"] == "1"

    cases = browser.get("/board/cases.csv")
    assert cases.status_code == 200 and cases.headers["content-disposition"].startswith("attachment;")
    listed = list(csv.DictReader(io.StringIO(cases.content.decode("utf-8-sig"))))
    assert [row["申请编号"] for row in listed] == [
        reference(scene[k]) for k in ("past", "red_early", "red_late", "yellow")
    ]
    assert listed[0]["督办等级"] == SlaLevel.PAST_STATUTORY.label and listed[-1]["督办等级"] == SlaLevel.YELLOW.label


@pytest.mark.parametrize("url", ["/board", "/board.csv", "/board/cases.csv"])
def test_applicants_and_reviewers_may_not_see_the_board(new_browser, staff: dict[str, str], applicant: Actor, url: str):
    for login in ("reviewer", "applicant"):
        b = new_browser()
        b.sign_in(login)
        assert b.get(url).status_code == 403, login
    anonymous = new_browser().get(url)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_an_empty_board_renders(browser: Browser, staff: dict[str, str]):
    browser.sign_in("supervisor")
    page = browser.get("/board")
    assert page.status_code == 200 and "当前没有在办的审查任务" in page.text and "暂无评价" in page.text
    for status in ApplicationStatus:
        assert f'<tr data-status="{status.value}"><th scope="row">{status.label}</th><td>0</td>' in page.text


def test_the_board_warns_when_the_working_day_calendar_runs_out(browser: Browser, staff: dict[str, str]) -> None:
    browser.sign_in("supervisor")
    with time_machine.travel(datetime(2026, 6, 1, 10, tzinfo=CHINA_TIME), tick=False):
        assert "节假日安排将于" not in browser.get("/board").text
    with time_machine.travel(datetime(2026, 11, 15, 10, tzinfo=CHINA_TIME), tick=False):
        page = browser.get("/board").text
    assert "工作日历的节假日安排将于 2026-12-31 结束（剩余 46 天）" in page and "onelicense calendar import" in page


def test_a_case_opens_with_every_department_its_colour_and_who_handles_it(
    new_browser, scene: dict[str, str], staff: dict[str, str]
) -> None:
    with session_scope() as session:
        review = session.exec(
            select(DepartmentReview).where(
                DepartmentReview.application_id == scene["past"], DepartmentReview.department_code == OWN
            )
        ).one()
        reviews.claim(session, Actor(staff["reviewer"], Role.REVIEWER, OWN), review.id)
    supervisor = new_browser()
    supervisor.sign_in("supervisor")
    page = supervisor.get(f"/board/cases/{scene['past']}")
    assert page.status_code == 200
    assert f"督办件 {reference(scene['past'])}" in page.text
    table = re.search(r'<table class="stack" id="case-reviews">(.*?)</table>', page.text, re.S)
    assert table
    rows = re.findall(r"<tr>\s*<th scope=\"row\" data-label=\"部门\">([^<]+)</th>(.*?)</tr>", table.group(1), re.S)
    by_department = {name: row for name, row in rows}
    assert set(by_department) == {catalogs.department_name(r.department_code) for r in _reviews_of(scene["past"])}
    own = by_department[catalogs.department_name(OWN)]
    assert SlaLevel.PAST_STATUTORY.label in own and "reviewer-name" in own  # the colour and whom to call
    assert "已办结" in by_department[catalogs.department_name(OTHER)]  # OTHER decided this one
    # no personal data of the applicant on the supervisor's page
    with session_scope() as session:
        application = session.get(Application, scene["past"])
        assert application is not None
        for value in application.answers.values():
            if isinstance(value, str) and len(value) >= 11 and value.isdigit():
                assert value not in page.text


def _reviews_of(application_id: str) -> list[DepartmentReview]:
    with session_scope() as session:
        found = session.exec(select(DepartmentReview).where(DepartmentReview.application_id == application_id)).all()
        session.expunge_all()
        return list(found)


def test_only_supervisors_open_a_case_and_an_unknown_one_is_not_found(
    new_browser, scene: dict[str, str], staff: dict[str, str]
) -> None:
    url = f"/board/cases/{scene['yellow']}"
    for login in ("reviewer", "applicant"):
        b = new_browser()
        b.sign_in(login)
        assert b.get(url).status_code == 403, login
    admin = new_browser()
    admin.sign_in("admin")
    assert admin.get(url).status_code == 200
    assert admin.get("/board/cases/" + "0" * 32).status_code == 404
    assert admin.get("/board/cases/not-an-id").status_code == 422
