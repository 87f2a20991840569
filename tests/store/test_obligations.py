"""Commitments after issuance (承诺制信任审批), driven through the services with a frozen clock across the 2026
Mid-Autumn and National Day holidays and their make-up working days: a 要件后补 obligation kept (supplied on time →
closed, the holder marked 守信) and broken (reminders → overdue → rectification → investigation and publicity →
dishonesty list → the permit withdrawn, the public status 撤销, new commitment-based applications refused at
pre-review until the listing ends → credit repair)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from sqlmodel import Session, select

from onelicense.clock import CHINA_TIME
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound, TransitionNotAllowed
from onelicense.forms.errors import SubmissionRefused, ValidationFailed
from onelicense.licenses.keys import cached_keyset
from onelicense.licenses.status import LicenseStatus
from onelicense.licenses.token import verify_token
from onelicense.review.obligations import ObligationKind, ObligationStatus, ObligationStep
from onelicense.review.transitions import ReviewStatus
from onelicense.services import aggregation, applications, licenses, notifications, obligations, reviews, uploads
from onelicense.services import catalog as catalogs
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import Settings
from onelicense.store import audit
from onelicense.store.license_queries import current_status
from onelicense.store.tables.lifecycle import CreditRecord, Notification, Obligation
from tests.builders import (
    ADMIN,
    APPLICANT,
    OTHER_APPLICANT,
    SMALL_SHOP,
    SYSTEM,
    conditions_for,
    decide_all,
    reviewer,
    submit_valid,
    valid_application,
)

CALENDAR = Path(__file__).resolve().parents[2] / "forms" / "catalog" / "calendar.yaml"
SIGN_OFFICE = "CGJ"  # 城管局: 户外招牌设置审批, 要件后补 within 60 working days
ISSUED = datetime(2026, 9, 18, 10, 0, tzinfo=CHINA_TIME)  # a Friday; Sunday 20 September is a make-up working day
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def working_days_after(start: date, n: int) -> date:
    """The n-th working day after `start`, counted here from the calendar file (not with the code under test)."""
    data = yaml.safe_load(CALENDAR.read_text(encoding="utf-8"))
    holidays = {date.fromisoformat(str(d)) for d in data["holidays"]}
    makeup = {date.fromisoformat(str(d)) for d in data["makeup_workdays"]}
    day = start
    while n > 0:
        day += timedelta(days=1)
        if day in makeup or (day.weekday() < 5 and day not in holidays):
            n -= 1
    return day


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=CHINA_TIME)


def at(day: date, hour: int = 9) -> time_machine.travel:
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TIME), tick=False)


@pytest.fixture
def config(tmp_path: Path, isolated_settings: Settings) -> LicenseConfig:
    return LicenseConfig.from_settings()


@pytest.fixture
def issued(session: Session, config: LicenseConfig) -> Iterator[licenses.License]:
    conditions = conditions_for("CONVENIENCE_STORE", ["FOOD_BUSINESS", "OUTDOOR_SIGN"])
    with at(ISSUED.date()):
        application = submit_valid(session, APPLICANT, "CONVENIENCE_STORE", conditions=conditions).application
        decide_all(session, application.id)
        aggregation.aggregate(session, application.id)
        yield licenses.issue_license(session, SYSTEM, application.id, issued_at=ISSUED, config=config)


def the_obligation(session: Session, kind: ObligationKind) -> Obligation:
    rows = [o for o in obligations.list_obligations(session, ADMIN) if o.kind is kind]
    assert len(rows) == 1
    return rows[0]


def notices(session: Session, event: str) -> list[Notification]:
    return list(session.exec(select(Notification).where(Notification.event == event)))


def upload(session: Session, actor=APPLICANT) -> str:  # type: ignore[no-untyped-def]
    return uploads.reference(uploads.store_upload(session, actor, PDF, "招牌安全检测报告.pdf"))


def public_status(session: Session, license_: licenses.License, config: LicenseConfig, day: date) -> str:
    """What the /v/ page says, and the offline verifier agreeing that the printed content is genuine."""
    session.expire_all()
    assert verify_token(license_.token, cached_keyset(config.keys_dir)).content.number == license_.number
    return current_status(session, license_.number, at=_noon(day)).composite.label


def test_issuance_turns_each_commitment_into_an_obligation_due_on_the_working_day_calendar(
    session: Session, issued: licenses.License
) -> None:
    supply = the_obligation(session, ObligationKind.SUPPLY)
    assert supply.permit_code == "OUTDOOR_SIGN" and supply.department_code == SIGN_OFFICE
    assert supply.commitment == "要件后补" and supply.status is ObligationStatus.OPEN
    # the non-core materials not handed in: the premises proof came with the application (食品经营许可 needs it
    # now), so it is not asked for again (issue 19)
    application = session.get(applications.Application, issued.application_id)
    assert application is not None and application.materials.get("premises_proof")
    assert supply.materials == ["sign_safety_report"]
    assert supply.due_on == working_days_after(ISSUED.date(), 60)
    # the holidays move it: 60 weekdays would end earlier than 60 working days
    weekdays, day = 0, ISSUED.date()
    while weekdays < 60:
        day += timedelta(days=1)
        weekdays += day.weekday() < 5
    assert supply.due_on != day
    inspection = the_obligation(session, ObligationKind.INSPECTION)  # FOOD_BUSINESS: 非核心要件信任 → 事后核查
    assert inspection.permit_code == "FOOD_BUSINESS" and inspection.department_code == "SCJG"
    assert inspection.due_on == working_days_after(ISSUED.date(), 20)
    assert len(notices(session, "issued")) == 1


def test_kept_commitment_closes_and_the_holder_is_reliable(
    session: Session, issued: licenses.License, config: LicenseConfig
) -> None:
    supply = the_obligation(session, ObligationKind.SUPPLY)
    with at(supply.due_on - timedelta(days=3)):
        with pytest.raises(InvalidRequest, match=r"尚缺：.*（materials）"):
            obligations.submit_fulfilment(session, APPLICANT, supply.id, {})
        with pytest.raises(InvalidRequest, match="不属于该承诺事项：premises_proof"):  # came with the application
            obligations.submit_fulfilment(
                session,
                APPLICANT,
                supply.id,
                {"sign_safety_report": upload(session), "premises_proof": upload(session)},
            )
        with pytest.raises(InvalidRequest, match="请上传文件"):
            obligations.submit_fulfilment(session, APPLICANT, supply.id, {"sign_safety_report": "x.pdf"})
        others = {"sign_safety_report": upload(session, OTHER_APPLICANT)}
        with pytest.raises(NotFound):  # another applicant does not even see it
            obligations.submit_fulfilment(session, OTHER_APPLICANT, supply.id, others)
        with pytest.raises(
            ValidationFailed, match=r"（materials\.sign_safety_report）：引用的文件不存在或不属于当前账号"
        ):
            obligations.submit_fulfilment(session, APPLICANT, supply.id, others)  # a file of another account
        assert the_obligation(session, ObligationKind.SUPPLY).status is ObligationStatus.OPEN  # nothing handed in
        files = {"sign_safety_report": upload(session)}
        handed = obligations.submit_fulfilment(session, APPLICANT, supply.id, files)
        assert handed.status is ObligationStatus.SUBMITTED
        with pytest.raises(NotFound):  # another department does not see it
            obligations.verify_fulfilment(session, reviewer("SCJG"), supply.id, accept=True)
        closed = obligations.verify_fulfilment(session, reviewer(SIGN_OFFICE), supply.id, accept=True, reason="齐全")
        assert closed.status is ObligationStatus.FULFILLED
    with at(supply.due_on + timedelta(days=10)):
        result = obligations.sweep(session)
        assert result.overdue == 0
        assert obligations.credit_standing(session, issued.uscc).label == "守信"
        assert public_status(session, issued, config, supply.due_on + timedelta(days=10)) == "有效"
    assert [e.action for e in audit.events_for(session, "obligation", supply.id)] == [
        "obligation.submit",
        "obligation.accept",
    ]
    assert len(notices(session, "fulfilment_accepted")) == 1


def test_broken_commitment_goes_from_reminders_to_the_dishonesty_list_and_back(
    session: Session, issued: licenses.License, config: LicenseConfig
) -> None:
    supply = the_obligation(session, ObligationKind.SUPPLY)
    due = supply.due_on
    # reminders 5 and 1 working days before, and on the day; a sweep run twice announces nothing twice
    for offset in (5, 1, 0):
        day = due if offset == 0 else _working_days_before(due, offset)
        with at(day):
            obligations.sweep(session)
            obligations.sweep(session)
    reminders = notices(session, "obligation_reminder")
    assert sorted(n.id.split(":")[1] for n in reminders if n.obligation_id == supply.id) == ["0", "1", "5"]
    # the day after the due date: overdue (not yet dishonest); the public page still says 有效
    after = working_days_after(due, 1)
    with at(after):
        assert obligations.sweep(session).overdue == 1
        assert obligations.sweep(session).overdue == 0
        session.refresh(supply)
        assert supply.status is ObligationStatus.OVERDUE
        assert public_status(session, issued, config, after) == "有效"
        with pytest.raises(TransitionNotAllowed):  # no investigation before a rectification deadline
            obligations.open_investigation(session, reviewer(SIGN_OFFICE), supply.id, note="调查")
        ordered = obligations.order_rectification(
            session, reviewer(SIGN_OFFICE), supply.id, reason="请补交招牌安全检测报告", days=3
        )
    assert ordered.rectify_due_on == working_days_after(after, 3)
    with at(working_days_after(ordered.rectify_due_on, 1)):
        assert obligations.sweep(session).lapsed == 1
        investigating = obligations.open_investigation(session, reviewer(SIGN_OFFICE), supply.id, note="现场核实未整改")
    assert investigating.status is ObligationStatus.INVESTIGATING
    publicity_until = investigating.publicity_until
    assert publicity_until is not None
    with at(publicity_until), pytest.raises(Conflict, match="公示期"):
        obligations.list_as_dishonest(session, reviewer(SIGN_OFFICE), supply.id, reason="逾期未补交材料")
    listed_on = publicity_until + timedelta(days=1)
    with at(listed_on):
        listed = obligations.list_as_dishonest(session, reviewer(SIGN_OFFICE), supply.id, reason="逾期未补交材料")
        assert listed.status is ObligationStatus.LISTED
        assert public_status(session, issued, config, listed_on) == "撤销"
        status = current_status(session, issued.number, at=_noon(listed_on))
        assert [p.permit.permit_name for p in status.permits if p.status is LicenseStatus.WITHDRAWN] == [
            "户外招牌设置审批"
        ]
        standing = obligations.credit_standing(session, issued.uscc)
        assert standing.blocked_until == listed_on.replace(year=listed_on.year + 2)
        # a new application relying on a commitment is refused at pre-review, naming the end of the listing
        conditions = conditions_for("CONVENIENCE_STORE", ["FOOD_BUSINESS", "OUTDOOR_SIGN"])
        with pytest.raises(SubmissionRefused, match=standing.blocked_until.isoformat()) as refused:
            submit_valid(
                session, APPLICANT, "CONVENIENCE_STORE", conditions=conditions, uscc=issued.uscc,
                business_address="重庆市沙坪坝区天星桥正街8号",
            )  # fmt: skip
        assert {f["rule"] for f in refused.value.finding_dicts()} == {"credit.dishonesty_list"}
        # with every material handed in it may apply, but the system grants nothing instantly (秒批) to it
        shop, shop_materials = valid_application("BEAUTY_SALON", conditions={}, uscc=issued.uscc, **SMALL_SHOP)
        every = {m.code: f"材料库/{m.code}.pdf" for m in catalogs.catalog().permits["PUBLIC_HEALTH"].materials}
        submitted = applications.submit(session, APPLICANT, industry_code="BEAUTY_SALON", answers=shop,
                                        materials={**shop_materials, **every})  # fmt: skip
        [review] = submitted.reviews
        verdict = reviews.auto_decide(session, review.id)
        assert (
            verdict is not None and not verdict.eligible and not verdict.failed
        )  # every rule held: the credit did not
        session.refresh(review)
        assert review.status is ReviewStatus.PENDING
        restored = obligations.restore_credit(session, ADMIN, supply.id, note="已补交材料并整改到位，信用修复")
        assert restored.status is ObligationStatus.RESTORED
        assert obligations.credit_standing(session, issued.uscc).blocked_until is None
        assert obligations.credit_standing(session, issued.uscc).label == "无记录"  # not 守信: it broke one
        assert public_status(session, issued, config, listed_on) == "撤销"  # the withdrawn permit stays withdrawn
    events = {n.event for n in session.exec(select(Notification).where(Notification.obligation_id == supply.id))}
    assert events >= {"obligation_reminder", "obligation_overdue", "rectification", "rectification_lapsed",
                      "investigation", "listed", "restored"}  # fmt: skip
    inbox, unread = notifications.inbox(session, APPLICANT)
    assert unread == len(inbox) and any(n.subject == "列入失信名单" for n in inbox)
    assert all("户外招牌设置审批" in n.body for n in inbox if n.event == "listed")


def test_a_failed_inspection_orders_rectification_and_a_rejected_hand_in_goes_back(
    session: Session, issued: licenses.License
) -> None:
    inspection = the_obligation(session, ObligationKind.INSPECTION)
    with at(ISSUED.date() + timedelta(days=5)):
        with pytest.raises(Conflict, match="待部门事后核查"):
            obligations.submit_fulfilment(session, APPLICANT, inspection.id, {"food_safety_rules": upload(session)})
        with pytest.raises(InvalidRequest, match="核查发现的问题不能为空"):
            obligations.record_inspection(session, reviewer("SCJG"), inspection.id, passed=False, note=" ")
        failed = obligations.record_inspection(
            session, reviewer("SCJG"), inspection.id, passed=False, note="未建立食品安全管理制度", rectify_days=5
        )
        assert failed.status is ObligationStatus.RECTIFYING and failed.breached
        handed = obligations.submit_fulfilment(
            session, APPLICANT, inspection.id, {"food_safety_rules": upload(session)}
        )
        assert handed.status is ObligationStatus.SUBMITTED
        with pytest.raises(InvalidRequest, match="不通过原因不能为空"):
            obligations.verify_fulfilment(session, reviewer("SCJG"), inspection.id, accept=False)
        back = obligations.verify_fulfilment(
            session, reviewer("SCJG"), inspection.id, accept=False, reason="制度不完整"
        )
        assert back.status is ObligationStatus.RECTIFYING
    assert obligations.credit_standing(session, issued.uscc).label == "无记录"  # an inspection failed: not 守信


def test_who_sees_the_obligations(session: Session, issued: licenses.License) -> None:
    assert {o.permit_code for o in obligations.list_obligations(session, APPLICANT)} == {
        "OUTDOOR_SIGN",
        "FOOD_BUSINESS",
    }
    assert obligations.list_obligations(session, OTHER_APPLICANT) == []
    assert [o.permit_code for o in obligations.list_obligations(session, reviewer(SIGN_OFFICE))] == ["OUTDOOR_SIGN"]
    supply = the_obligation(session, ObligationKind.SUPPLY)
    with pytest.raises(NotFound):
        obligations.get_obligation(session, reviewer("SCJG"), supply.id)


def _working_days_before(due: date, n: int) -> date:
    """The day from which `due` is the n-th working day after."""
    day = due
    while working_days_after(day, n) > due:
        day -= timedelta(days=1)
    while working_days_after(day, n) < due:
        day += timedelta(days=1)
    return day


def test_a_notice_keeps_the_text_it_was_served_with(session: Session, issued: licenses.License) -> None:
    """A 逾期 notice is a document served on its day: a rectification deadline set later is a new notice and never
    appears in the old one (issue 19)."""
    supply = the_obligation(session, ObligationKind.SUPPLY)
    after = working_days_after(supply.due_on, 1)
    with at(after):
        assert obligations.sweep(session).overdue == 1
        while notifications.dispatch_pending(session):  # as the sweep flow and the dispatcher do
            pass
        [overdue] = [n for n in notifications.inbox(session, APPLICANT)[0] if n.event == "obligation_overdue"]
        assert "整改期限" not in overdue.body
        ordered = obligations.order_rectification(
            session, reviewer(SIGN_OFFICE), supply.id, reason="请补交招牌安全检测报告", days=3
        )
    assert ordered.rectify_due_on is not None
    with at(working_days_after(after, 2)):
        shown = {n.event: n for n in notifications.inbox(session, APPLICANT)[0]}
    assert shown["obligation_overdue"].body == overdue.body  # verbatim, as served
    assert "整改期限" in shown["rectification"].body
    stored = session.get(Notification, overdue.id)
    assert stored is not None and stored.body == overdue.body and stored.subject == overdue.subject


def test_a_departments_overdue_inspection_is_marked_and_on_the_board(
    session: Session, issued: licenses.License
) -> None:
    """The department's own 事后核查 deadline is supervised (issue 19): the day after it, without a check, the
    obligation is 核查逾期 (computed, the holder not in breach) and the board lists it under its department."""
    from onelicense.review.obligations import inspection_overdue
    from onelicense.services.queries import supervision

    inspection = the_obligation(session, ObligationKind.INSPECTION)
    due = inspection.due_on
    assert due == working_days_after(ISSUED.date(), 20)
    assert not inspection_overdue(inspection.kind, inspection.status, due, due)
    assert obligations.overdue_inspections(session, due) == []
    after = due + timedelta(days=1)
    assert inspection_overdue(inspection.kind, inspection.status, due, after)
    [row] = obligations.overdue_inspections(session, after)
    assert (row.department_code, row.count, row.oldest_due_on, row.permit_numbers) == (
        "SCJG", 1, due, (inspection.permit_number,)
    )  # fmt: skip
    assert supervision.board(session, ADMIN, after).overdue_inspections == [row]
    supply = the_obligation(session, ObligationKind.SUPPLY)
    assert not inspection_overdue(supply.kind, supply.status, supply.due_on, supply.due_on + timedelta(days=1))
    with at(after):
        checked = obligations.record_inspection(
            session, reviewer("SCJG"), inspection.id, passed=True, note="现场核查合格"
        )
        assert obligations.credit_standing(session, issued.uscc).label != "失信"  # never the holder's breach
    assert not inspection_overdue(checked.kind, checked.status, checked.due_on, after)
    assert obligations.overdue_inspections(session, after) == []


def test_the_departments_to_do_names_what_waits_for_it_with_a_colour(
    session: Session, issued: licenses.License
) -> None:
    """Issue 19: the department is told what waits for it — the 事后核查 it owes (yellow the working day before,
    red past), a hand-in to verify, a lapsed rectification — on its desk's to-do, never the holder's moves."""
    inspection = the_obligation(session, ObligationKind.INSPECTION)
    supply = the_obligation(session, ObligationKind.SUPPLY)
    scjg, cgj = reviewer("SCJG"), reviewer(SIGN_OFFICE)
    early = ISSUED.date() + timedelta(days=1)
    [task] = obligations.department_tasks(session, scjg, early)
    assert (task.obligation.id, task.label, task.due_on, task.level) == (
        inspection.id,
        "事后核查",
        inspection.due_on,
        "green",
    )
    assert obligations.department_tasks(session, cgj, early) == []  # the holder owes the supply: nothing to do yet
    day_before = _working_days_before(inspection.due_on, 1)
    assert [t.level for t in obligations.department_tasks(session, scjg, day_before)] == ["yellow"]
    assert [t.level for t in obligations.department_tasks(session, scjg, inspection.due_on + timedelta(days=1))] == [
        "red"
    ]
    with at(early):
        obligations.submit_fulfilment(session, APPLICANT, supply.id, {"sign_safety_report": upload(session)})
    [handed] = obligations.department_tasks(session, cgj, early)
    assert (handed.obligation.id, handed.label) == (supply.id, "核验履约材料")
    assert {t.obligation.id for t in obligations.department_tasks(session, ADMIN, early)} == {inspection.id, supply.id}
    with pytest.raises(Forbidden):
        obligations.department_tasks(session, APPLICANT, early)


def walk_to_investigation(session: Session, supply: Obligation) -> date:
    """Walk `supply` to 调查公示 (overdue → rectification → lapse → investigation); returns the first day it may be
    listed."""
    office = reviewer(SIGN_OFFICE)
    with at(working_days_after(supply.due_on, 1)):
        obligations.sweep(session)
        obligations.order_rectification(session, office, supply.id, reason="补交", days=1)
    session.refresh(supply)
    assert supply.rectify_due_on is not None
    with at(working_days_after(supply.rectify_due_on, 1)):
        obligations.sweep(session)
        obligations.open_investigation(session, office, supply.id, note="调查")
    session.refresh(supply)
    assert supply.publicity_until is not None
    return supply.publicity_until + timedelta(days=1)


def test_two_hands_on_one_holder_at_once_make_exactly_one_decision(
    db_url: str, session: Session, issued: licenses.License, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19's races, on both databases: two officers listing the same holder at once → one listing, one credit
    record, the other refused (409); then a grant and a refusal of its credit repair at once → exactly one wins and
    the record agrees with it; a sweep running meanwhile changes nothing of it."""
    from tests.store.test_concurrency import run_together

    supply = the_obligation(session, ObligationKind.SUPPLY)
    listed_on = walk_to_investigation(session, supply)
    first, second = reviewer(SIGN_OFFICE, 1), reviewer(SIGN_OFFICE, 2)
    # the two officers of each race both read before either writes: one after the other is no race (a second
    # listing is then refused by the transition table, and a decline followed by a grant is a lawful sequence)
    both_read = threading.Barrier(2)
    read_step = obligations._step
    racing = (ObligationStep.LIST, ObligationStep.RESTORE, ObligationStep.DECLINE_REPAIR)

    def step_then_meet(*args: Any, **kwargs: Any) -> Any:
        result = read_step(*args, **kwargs)
        if args[3] in racing:
            both_read.wait(timeout=20)
        return result

    monkeypatch.setattr(obligations, "_step", step_then_meet)
    with at(listed_on):
        results = run_together(
            db_url,
            [
                lambda s: obligations.list_as_dishonest(s, first, supply.id, reason="逾期未补交"),
                lambda s: obligations.list_as_dishonest(s, second, supply.id, reason="逾期未补交（二）"),
            ],
        )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Obligation"], results
    session.expire_all()
    assert len(session.exec(select(CreditRecord)).all()) == 1
    withdrawn = [e for e in audit.events_for(session, "obligation", supply.id) if e.action == "obligation.list"]
    assert len(withdrawn) == 1

    opens = listed_on + timedelta(days=90)
    with at(opens):
        obligations.apply_for_repair(
            session, APPLICANT, supply.id, statement="已整改", evidence={"证明": upload(session)}
        )
        results = run_together(
            db_url,
            [
                lambda s: obligations.restore_credit(s, first, supply.id, note="同意修复"),
                lambda s: obligations.decline_repair(s, second, supply.id, reason="材料不足"),
                lambda s: obligations.sweep(s),
            ],
        )
    decisions = results[:2]
    assert sorted(type(r).__name__ for r in decisions) == ["Conflict", "Obligation"], results
    assert not isinstance(results[2], Exception), results[2]
    session.expire_all()
    row = session.get(Obligation, supply.id)
    record = session.exec(select(CreditRecord)).one()
    assert row is not None
    if isinstance(decisions[0], Obligation):  # the grant won
        assert row.status is ObligationStatus.RESTORED and record.restored_on == opens
    else:
        assert row.status is ObligationStatus.LISTED and record.restored_on is None
