"""信用公示 in the open (issue 19): a broken commitment goes overdue → 限期整改 → lapse → investigation, and the
holder then stands in the public 拟列入失信名单公示 (page, JSON, CSV) for exactly its 公示 period; listed, it stands on
the public 失信名单 with the permit withdrawn; 信用修复 takes it off at once, the records kept. The clock is moved,
never slept on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from onelicense.errors import Conflict, Forbidden, InvalidRequest
from onelicense.review.obligations import ObligationKind, ObligationStatus
from onelicense.services import aggregation, licenses, notifications, obligations
from onelicense.services.queries.credit_publicity import EXCHANGE_COLUMNS
from onelicense.store.tables.license import License
from onelicense.store.tables.lifecycle import CreditRecord, Notification, Obligation
from tests.builders import APPLICANT, SYSTEM, conditions_for, decide_all, reviewer, submit_valid
from tests.licenses.conftest import public_app_client
from tests.store.test_obligations import ISSUED, SIGN_OFFICE, at, upload, walk_to_investigation, working_days_after

JSON = {"Accept": "application/json"}


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    yield from public_app_client(db_url, tmp_path, monkeypatch)


@pytest.fixture
def issued(client: TestClient, session: Session) -> License:
    conditions = conditions_for("CONVENIENCE_STORE", ["FOOD_BUSINESS", "OUTDOOR_SIGN"])
    with at(ISSUED.date()):
        application = submit_valid(session, APPLICANT, "CONVENIENCE_STORE", conditions=conditions).application
        decide_all(session, application.id)
        aggregation.aggregate(session, application.id)
        return licenses.issue_license(session, SYSTEM, application.id, issued_at=ISSUED)


def lists(client: TestClient, uscc: str = "") -> tuple[dict, list[dict[str, str]]]:  # type: ignore[type-arg]
    page = client.get("/credit", params={"uscc": uscc}, headers=JSON)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    download = client.get("/credit.csv", params={"uscc": uscc})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    return page.json(), rows


def test_a_broken_commitment_is_published_in_its_publicity_period_then_on_the_list_until_repaired(
    client: TestClient, session: Session, issued: License
) -> None:
    supply = session.exec(select(Obligation).where(Obligation.kind == ObligationKind.SUPPLY)).one()
    office = reviewer(SIGN_OFFICE)
    overdue_on = working_days_after(supply.due_on, 1)
    with at(overdue_on):
        obligations.sweep(session)
        obligations.order_rectification(session, office, supply.id, reason="请补交招牌安全检测报告", days=3)
        assert lists(client)[0]["publicity"] == []  # overdue or rectifying is nobody's business yet
    session.refresh(supply)
    assert supply.rectify_due_on is not None
    lapsed_on = working_days_after(supply.rectify_due_on, 1)
    with at(lapsed_on):
        obligations.sweep(session)
        obligations.open_investigation(session, office, supply.id, note="现场核实：招牌未检测，负责人称资金不足")
    session.refresh(supply)
    assert supply.publicity_from == lapsed_on and supply.publicity_until is not None

    with at(supply.publicity_until):  # the last day of 公示: shown, with how to make a statement
        body, rows = lists(client)
        [entry] = body["publicity"]
        assert (entry["holder_name"], entry["uscc"], entry["permit_number"]) == (
            issued.holder_name,
            issued.uscc,
            supply.permit_number,
        )
        assert entry["start"] == lapsed_on.isoformat() and entry["end"] == supply.publicity_until.isoformat()
        assert "陈述、申辩" in entry["statement"] and "区城市管理局" in entry["statement"]
        assert body["listed"] == []
        assert [r["名单类型"] for r in rows] == ["拟列入失信名单公示"] and list(rows[0]) == [
            name for name, _ in EXCHANGE_COLUMNS
        ]
        page = client.get("/credit").text
        assert issued.uscc in page and "资金不足" not in page  # the investigation's notes stay inside
        assert lists(client, "91500000000000000X")[0]["publicity"] == []  # another USCC: nothing

    with at(supply.publicity_until):  # 陈述申辩 within the 公示, once
        obligations.make_statement(session, APPLICANT, supply.id, statement="检测机构排期延误，已预约下周检测")
        with pytest.raises(Conflict, match="已提出过陈述申辩"):
            obligations.make_statement(session, APPLICANT, supply.id, statement="再说一次")
    listed_on = supply.publicity_until + timedelta(days=1)
    with at(listed_on):
        with pytest.raises(Conflict, match="公示期已于"):
            obligations.make_statement(session, APPLICANT, supply.id, statement="迟到的申辩")
        with pytest.raises(Conflict, match="答复后方可列入失信名单"):  # the statement is answered first
            obligations.list_as_dishonest(session, office, supply.id, reason="逾期未补交")
        obligations.answer_statement(session, office, supply.id, answer="经核实，检测排期非不可抗力，申辩理由不成立")
        obligations.list_as_dishonest(session, office, supply.id, reason="逾期未补交招牌安全检测报告，整改期满仍未补交")
        body, rows = lists(client)
        assert body["publicity"] == []
        [entry] = body["listed"]
        record = session.exec(select(CreditRecord)).one()
        assert (entry["start"], entry["end"]) == (listed_on.isoformat(), record.blocked_until.isoformat())
        assert entry["reason"].startswith("逾期未补交") and entry["permit_name"] == "户外招牌设置审批"
        assert [r["名单类型"] for r in rows] == ["失信名单"] and rows[0]["统一社会信用代码"] == issued.uscc

    # 信用修复 by application, after the minimum period, with evidence; the department decides
    with at(listed_on + timedelta(days=30)), pytest.raises(Conflict, match="方可申请信用修复"):
        obligations.apply_for_repair(
            session, APPLICANT, supply.id, statement="已整改", evidence={"证明": upload(session)}
        )
    opens = listed_on + timedelta(days=90)
    with at(opens):
        with pytest.raises(InvalidRequest, match="证明材料"):
            obligations.apply_for_repair(session, APPLICANT, supply.id, statement="已整改", evidence={})
        with pytest.raises(Forbidden):  # only the holder applies
            obligations.apply_for_repair(
                session, office, supply.id, statement="代为申请", evidence={"证明": upload(session)}
            )
        applied = obligations.apply_for_repair(
            session, APPLICANT, supply.id, statement="已补交检测报告并整改", evidence={"检测报告": upload(session)}
        )
        assert applied.status is ObligationStatus.REPAIR_REQUESTED and applied.repair_due_on is not None
        assert applied.repair_due_on == working_days_after(opens, 5)
        assert len(lists(client)[0]["listed"]) == 1  # still listed while the department decides
        obligations.decline_repair(session, office, supply.id, reason="检测报告未加盖资质章")
        again = obligations.apply_for_repair(
            session, APPLICANT, supply.id, statement="已补交盖章报告", evidence={"检测报告": upload(session)}
        )
        obligations.restore_credit(session, office, again.id, note="证明材料齐全，同意信用修复")
        body, rows = lists(client)
        assert body["listed"] == [] and rows == []  # off the list at once
    assert session.exec(select(CreditRecord)).one().restored_on is not None  # the record is kept
    events = [n.event for n in session.exec(select(Notification).where(Notification.obligation_id == supply.id))]
    assert {"statement_answered", "listed", "repair_declined", "restored"} <= set(events)
    listed_text = next(n for n in notifications.inbox(session, APPLICANT)[0] if n.event == "listed").body
    assert record.blocked_until.isoformat() in listed_text and opens.isoformat() in listed_text  # end and how


def test_a_listing_runs_out_by_itself(client: TestClient, session: Session, issued: License) -> None:
    supply = session.exec(select(Obligation).where(Obligation.kind == ObligationKind.SUPPLY)).one()
    with at(walk_to_investigation(session, supply)):
        obligations.list_as_dishonest(session, reviewer(SIGN_OFFICE), supply.id, reason="逾期未补交")
    record = session.exec(select(CreditRecord)).one()
    with at(record.blocked_until):
        assert len(lists(client)[0]["listed"]) == 1
    with at(record.blocked_until + timedelta(days=1)):
        assert lists(client)[0]["listed"] == []


def test_the_public_page_marks_permits_granted_on_trust_until_checked(
    client: TestClient, session: Session, issued: License
) -> None:
    """先予许可、待核查 (issue 19): a permit granted on a commitment reads 有效 with that mark on the verify page and
    in its JSON until its department has done the 事后核查."""
    inspection = session.exec(select(Obligation).where(Obligation.kind == ObligationKind.INSPECTION)).one()
    view = client.get(f"/v/{issued.token}", headers=JSON).json()
    marks = {p["number"]: p["pending_inspection"] for p in view["permits"]}
    assert marks == {p: p == inspection.permit_number for p in marks} and any(marks.values())
    assert client.get(f"/v/{issued.token}").text.count("先予许可、待核查") == 1
    with at(ISSUED.date() + timedelta(days=3)):
        obligations.record_inspection(session, reviewer("SCJG"), inspection.id, passed=True, note="现场核查合格")
    view = client.get(f"/v/{issued.token}", headers=JSON).json()
    assert not any(p["pending_inspection"] for p in view["permits"])
    assert "先予许可、待核查" not in client.get(f"/v/{issued.token}").text
