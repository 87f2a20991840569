"""Commitments after issuance in the portal and the API: the holder sees what it owes and hands in the files on its
承诺履约 page, the department verifies them on /desk/obligations (the files readable by that department only),
refusals keep the page with the reason, and the holder's inbox tells it what happened."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import time_machine
import yaml
from fastapi.testclient import TestClient
from sqlmodel import select

from onelicense.clock import CHINA_TIME, cn_date
from onelicense.review.calendar import parse_arrangements
from onelicense.review.obligations import ObligationStatus
from onelicense.review.roles import SYSTEM_ACTOR, Role
from onelicense.services import aggregation, applications, calendar, licenses, users
from onelicense.services import catalog as catalogs
from onelicense.store.db import session_scope
from onelicense.store.tables.lifecycle import Obligation
from onelicense.store.tables.user import User
from tests import builders
from tests.web.portal.conftest import Browser, password_hash
from tests.web.sample import submission_body

SIGN_OFFICE = "CGJ"  # 城管局: 户外招牌设置审批 (要件后补)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200


def issue_to(phone: str) -> str:
    """A convenience store with an outdoor sign, submitted by the registered applicant `phone`, approved by every
    department and issued; returns the 要件后补 obligation's id. It sells prepackaged food only, so the sign's two
    non-core materials (its safety report, the premises proof) are needed by no other permit now: the applicant
    leaves them for later and owes both."""
    body = submission_body("CONVENIENCE_STORE", sells_ready_to_eat_food=False, has_outdoor_sign=True)
    later = {m.code for m in catalogs.merged_form("CONVENIENCE_STORE", body["answers"]).materials if not m.required_now}
    assert later == {"sign_safety_report", "premises_proof"}
    body["materials"] = {code: ref for code, ref in body["materials"].items() if code not in later}
    with session_scope() as session:
        user = session.exec(select(User).where(User.login == phone)).one()
        submitted = applications.submit(
            session,
            users.actor_of(user),
            industry_code=body["industry_code"],
            answers=body["answers"],
            materials=body["materials"],
        )
        builders.decide_all(session, submitted.application.id)
        aggregation.aggregate(session, submitted.application.id)
        licenses.issue_license(session, SYSTEM_ACTOR, submitted.application.id)
        return session.exec(select(Obligation).where(Obligation.permit_code == "OUTDOOR_SIGN")).one().id


def sign_office_reviewer(login: str = "cgj") -> None:
    with session_scope() as session:
        users.create_user(session, "城管审批员", Role.REVIEWER, SIGN_OFFICE, login=login, password_hash=password_hash())


def obligation(obligation_id: str) -> Obligation:
    with session_scope() as session:
        row = session.get(Obligation, obligation_id)
        assert row is not None
        session.expunge(row)
        return row


def files(**parts: tuple[str, bytes]) -> dict[str, tuple[str, bytes, str]]:
    return {f"file_{code}": (name, data, "application/octet-stream") for code, (name, data) in parts.items()}


def test_the_holder_hands_in_what_it_owes_and_the_department_verifies_it(new_browser, staff, app) -> None:
    holder: Browser = new_browser()
    holder.register("13700000001")
    obligation_id = issue_to("13700000001")
    page = holder.get("/portal/obligations")
    assert page.status_code == 200
    assert "要件后补" in page.text and "招牌（广告设施）结构安全检测报告" in page.text
    assert f"/portal/obligations/{obligation_id}/fulfil" in page.text
    version = obligation(obligation_id).version

    url = f"/portal/obligations/{obligation_id}/fulfil"
    missing = holder.post(url, {"expected_version": version}, files=files(sign_safety_report=("a.pdf", PDF)))
    assert missing.status_code == 422 and "尚缺" in missing.text
    renamed = holder.post(
        url,
        {"expected_version": version},
        files=files(sign_safety_report=("a.pdf", EXE), premises_proof=("b.pdf", PDF)),
    )
    assert renamed.status_code == 422 and "只接受 PDF、JPG、PNG" in renamed.text
    assert obligation(obligation_id).status is ObligationStatus.OPEN  # nothing half-done

    stranger: Browser = new_browser()
    stranger.register("13700000002")
    assert f"/portal/obligations/{obligation_id}/fulfil" not in stranger.get("/portal/obligations").text
    both = files(sign_safety_report=("检测报告.pdf", PDF), premises_proof=("场所证明.pdf", PDF))
    assert stranger.post(url, {"expected_version": version}, files=both).status_code == 404

    handed = holder.post(url, {"expected_version": version}, files=both)
    assert handed.status_code == 303, handed.text
    row = obligation(obligation_id)
    assert row.status is ObligationStatus.SUBMITTED and set(row.submitted or {}) == {
        "sign_safety_report",
        "premises_proof",
    }

    sign_office_reviewer()
    reviewer: Browser = new_browser()
    reviewer.sign_in("cgj")
    desk = reviewer.get("/desk/obligations")
    assert desk.status_code == 200 and row.permit_number in desk.text
    file_ids = re.findall(r'href="/files/([0-9a-f]{32})"', desk.text)
    assert len(file_ids) == 2
    assert reviewer.get(f"/files/{file_ids[0]}").status_code == 200
    other: Browser = new_browser()
    other.sign_in("other_reviewer")
    assert other.get(f"/files/{file_ids[0]}").status_code in (403, 404)
    assert row.permit_number not in other.get("/desk/obligations").text

    step = f"/desk/obligations/{obligation_id}/verification"
    assert reviewer.post(step, {"outcome": "accept"}, csrf=False).status_code == 403  # cross-site POST
    refused = reviewer.post(step, {"outcome": "reject", "text": " ", "expected_version": row.version})
    assert refused.status_code == 422 and "不通过原因不能为空" in refused.text
    accepted = reviewer.post(step, {"outcome": "accept", "text": "材料齐全", "expected_version": row.version})
    assert accepted.status_code == 303
    assert obligation(obligation_id).status is ObligationStatus.FULFILLED
    stale = reviewer.post(step, {"outcome": "accept", "expected_version": row.version})
    assert stale.status_code == 409

    inbox = holder.get("/portal/inbox")
    subjects = re.findall(r"<h2>([^<]+?)(?: <span|</h2>)", inbox.text)
    assert subjects == ["履约材料核验通过", "许可证已签发", "审批结果", "申请已提交"]  # newest first
    assert "4 条未读" in inbox.text
    # the portal address in each notice is a link a person can tap (issue 20)
    assert re.search(r'<a href="http[^"]+/portal">http[^<]+/portal</a>', inbox.text)
    read = holder.post(
        "/portal/inbox/read", {"notification_id": re.findall(r'name="notification_id" value="([^"]+)"', inbox.text)[0]}
    )
    assert read.status_code == 303 and "3 条未读" in holder.get("/portal/inbox").text
    assert "13700000001" not in inbox.text
    assert "守信" in holder.get("/portal/obligations").text


def test_the_api_lists_and_acts_on_obligations_by_role(new_browser, staff, app) -> None:
    holder: Browser = new_browser()
    holder.register("13700000003")
    obligation_id = issue_to("13700000003")
    with session_scope() as session:
        _cgj, cgj_token = users.create_user(session, "城管", Role.REVIEWER, SIGN_OFFICE)
        _other, other_token = users.create_user(session, "卫健", Role.REVIEWER, "WSJK")
    api = TestClient(app)
    mine = api.get("/api/obligations", headers={"Authorization": f"Bearer {cgj_token}"})
    assert mine.status_code == 200
    assert [o["id"] for o in mine.json()["items"]] == [obligation_id] and mine.json()["total"] == 1
    assert mine.json()["items"][0]["kind_label"] == "要件后补"
    theirs = api.get("/api/obligations", headers={"Authorization": f"Bearer {other_token}"})
    assert obligation_id not in {o["id"] for o in theirs.json()["items"]}
    assert (
        api.get(f"/api/obligations/{obligation_id}", headers={"Authorization": f"Bearer {other_token}"}).status_code
        == 404
    )
    early = api.post(
        f"/api/obligations/{obligation_id}/rectification",
        json={"reason": "请补交"},
        headers={"Authorization": f"Bearer {cgj_token}"},
    )
    assert early.status_code == 409 and "待履行" in early.json()["detail"]  # not overdue yet
    unknown = api.post(
        f"/api/obligations/{obligation_id}/verification",
        json={"accept": True, "surprise": 1},
        headers={"Authorization": f"Bearer {cgj_token}"},
    )
    assert unknown.status_code == 422
    # an API client uploads the files first, then hands them in by reference
    uploaded = api.post(
        "/api/uploads",
        files={"file": ("x.pdf", PDF, "application/pdf")},
        headers={"Authorization": f"Bearer {cgj_token}"},
    )
    assert uploaded.status_code == 403  # applicants only
    with session_scope() as session:
        holder_user = session.exec(select(User).where(User.login == "13700000003")).one()
        _, holder_token = users.create_user(session, "持证人接口", Role.APPLICANT, usccs=holder_user.usccs)
    as_other_holder = {"Authorization": f"Bearer {holder_token}"}
    refs = {}
    for code in ("sign_safety_report", "premises_proof"):
        answer = api.post(
            "/api/uploads", files={"file": (f"{code}.pdf", PDF, "application/pdf")}, headers=as_other_holder
        )
        assert answer.status_code == 201 and answer.json()["reference"].startswith("upload:")
        refs[code] = answer.json()["reference"]
    exe = api.post("/api/uploads", files={"file": ("x.pdf", EXE, "application/pdf")}, headers=as_other_holder)
    assert exe.status_code == 422
    # another account of the same business is not the holder who applied: it does not see the obligation
    handed = api.post(f"/api/obligations/{obligation_id}/fulfilment", json={"materials": refs}, headers=as_other_holder)
    assert handed.status_code == 404


def test_a_deadline_past_the_calendar_says_it_is_provisional_on_every_door(new_browser, staff, app) -> None:
    """Issued on 28 December 2026 with only 2026 in the calendar: the 60-working-day 要件后补 runs into 2027. The
    holder's page, the department's desk, the API and the reminder all say how it was counted."""
    note = "按常规工作日推算，待节假日安排公布后校正"
    with time_machine.travel(datetime(2026, 12, 28, 10, tzinfo=CHINA_TIME), tick=False):
        holder: Browser = new_browser()
        holder.register("13700000009")
        obligation_id = issue_to("13700000009")
        sign_office_reviewer("cgj9")
        assert note in holder.get("/portal/obligations").text
        desk = new_browser()
        desk.sign_in("cgj9")
        assert note in desk.get("/desk/obligations").text
        with session_scope() as session:
            _cgj, token = users.create_user(session, "城管", Role.REVIEWER, SIGN_OFFICE)
        answer = TestClient(app).get(f"/api/obligations/{obligation_id}", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["provisional_dates"] == ["due_on"]
        # the 2027 arrangement imported: the page shows the corrected date, no longer provisional
        fixture = Path(__file__).resolve().parents[2] / "services" / "fixtures" / "calendar-2027-test.yaml"
        with session_scope() as session:
            calendar.import_years(session, builders.ADMIN, parse_arrangements(yaml.safe_load(fixture.read_text())),
                                  source="test")  # fmt: skip
        page = holder.get("/portal/obligations").text
        assert note not in page and cn_date(obligation(obligation_id).due_on) in page


def test_a_statement_in_the_publicity_and_credit_repair_by_application_through_the_portal(
    new_browser, staff, app
) -> None:
    """Issue 19: the holder makes its 陈述申辩 on its page during the 公示; the department cannot list it before
    answering; listed, the holder applies for 信用修复 with evidence once the minimum period has passed and the
    department grants it on its desk. The clock is moved, never slept on."""
    from datetime import timedelta

    from onelicense.services import obligations

    holder: Browser = new_browser()
    holder.register("13700000021")
    obligation_id = issue_to("13700000021")
    sign_office_reviewer("cgj21")
    office = builders.reviewer(SIGN_OFFICE)
    row = obligation(obligation_id)

    def at(day):  # type: ignore[no-untyped-def]
        return time_machine.travel(datetime(day.year, day.month, day.day, 10, tzinfo=CHINA_TIME), tick=False)

    day = row.due_on + timedelta(days=3)
    with at(day), session_scope() as session:
        obligations.sweep(session)
        obligations.order_rectification(session, office, obligation_id, reason="补交", days=1)
    day = obligation(obligation_id).rectify_due_on + timedelta(days=3)  # type: ignore[operator]
    with at(day), session_scope() as session:
        obligations.sweep(session)
        obligations.open_investigation(session, office, obligation_id, note="调查")
    publicity_until = obligation(obligation_id).publicity_until
    assert publicity_until is not None
    with at(publicity_until):
        holder.sign_in("13700000021")
        page = holder.get("/portal/obligations").text
        assert f"/portal/obligations/{obligation_id}/statement" in page
        made = holder.post(f"/portal/obligations/{obligation_id}/statement",
                           {"text": "检测机构排期延误", "expected_version": obligation(obligation_id).version})  # fmt: skip
        assert made.status_code == 303, made.text
    listed_on = publicity_until + timedelta(days=1)
    with at(listed_on):
        desk = new_browser()
        desk.sign_in("cgj21")
        page = desk.get("/desk/obligations").text
        assert "检测机构排期延误" in page and "待答复" in page
        url = f"/desk/obligations/{obligation_id}"
        version = obligation(obligation_id).version
        early = desk.post(f"{url}/listing", {"text": "逾期未补交", "expected_version": version})
        assert early.status_code == 409 and "答复后方可列入失信名单" in early.text
        assert desk.post(f"{url}/answer", {"text": "理由不成立", "expected_version": version}).status_code == 303
        version = obligation(obligation_id).version
        assert desk.post(f"{url}/listing", {"text": "逾期未补交", "expected_version": version}).status_code == 303
    assert obligation(obligation_id).status is ObligationStatus.LISTED
    opens = listed_on + timedelta(days=90)
    with at(opens):
        holder.sign_in("13700000021")
        assert f"/portal/obligations/{obligation_id}/repair" in holder.get("/portal/obligations").text
        applied = holder.post(
            f"/portal/obligations/{obligation_id}/repair",
            {"text": "已补交检测报告", "expected_version": obligation(obligation_id).version},
            files=[("evidence", ("检测报告.pdf", PDF, "application/pdf"))],
        )
        assert applied.status_code == 303, applied.text
        assert obligation(obligation_id).status is ObligationStatus.REPAIR_REQUESTED
        desk = new_browser()
        desk.sign_in("cgj21")
        page = desk.get("/desk/obligations").text
        assert "已补交检测报告" in page and re.search(r'href="/files/[0-9a-f]{32}">证明材料1</a>', page)
        version = obligation(obligation_id).version
        granted = desk.post(
            f"/desk/obligations/{obligation_id}/restoration", {"text": "同意", "expected_version": version}
        )
        assert granted.status_code == 303
    assert obligation(obligation_id).status is ObligationStatus.RESTORED
