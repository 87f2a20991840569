"""Changes to an issued license (变更), through the services and the public page: a changed address is reviewed
again by exactly the departments whose permits read it (computed here from the catalog files), a fact only one
permit reads by that permit's department alone, a registration fact by nobody; each approved change issues a new
edition whose predecessor's QR page says 已更新 and links it; permits the change does not touch keep their dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from onelicense.clock import CHINA_TIME
from onelicense.errors import Conflict, Forbidden, NotFound
from onelicense.flows.dispatcher import dispatch_once
from onelicense.forms.errors import ValidationFailed
from onelicense.licenses.qr import verify_url
from onelicense.licenses.status import Operation
from onelicense.review.obligations import ObligationKind, ObligationStatus
from onelicense.review.roles import SYSTEM_ACTOR, Role
from onelicense.review.transitions import ApplicationStatus, Decision, ReviewStatus
from onelicense.services import aggregation, applications, changes, licenses, obligations, reviews, users
from onelicense.services import catalog as catalogs
from onelicense.services.adapters import registry
from onelicense.store import audit, outbox
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License
from onelicense.store.tables.lifecycle import Obligation
from onelicense.web.api import views
from tests.builders import ADMIN, APPLICANT, OTHER_APPLICANT, approved, conditions_for, reviewer, valid_application
from tests.licenses.conftest import PUBLIC_BASE_URL, public_app_client

CATALOG = Path(__file__).resolve().parents[2] / "forms" / "catalog"
HOTEL = ("HOTEL_SPECIAL_TRADE", "PUBLIC_HEALTH", "SECONDARY_WATER_SUPPLY_HEALTH", "FIRE_SAFETY_CHECK")


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    yield from public_app_client(db_url, tmp_path, monkeypatch)


def departments_reading(field: str, permits: tuple[str, ...]) -> set[str]:
    """From permits.yaml itself: the departments of `permits` whose permit forms include `field`."""
    entries = yaml.safe_load((CATALOG / "permits.yaml").read_text(encoding="utf-8"))["permits"]
    return {p["department"] for p in entries if p["code"] in permits and field in p["fields"]}


def issued_hotel(session: Session) -> License:
    application = approved(session, APPLICANT, "HOTEL", conditions=conditions_for("HOTEL", HOTEL))
    return licenses.issue_license(session, SYSTEM_ACTOR, application.id)


def registered_as(session: Session, license_: License, name: str) -> None:
    """The holder registered its new name with 市场监管 first: the registry's stand-in now says so."""
    original = session.get(Application, license_.application_id)
    assert original is not None
    registry.import_entries(session, ADMIN, [{"uscc": license_.uscc, "name": name,
                                              "legal_representative": original.answers["legal_representative"]}])  # fmt: skip


def approve_change(session: Session, requested: changes.ChangeRequested) -> License:
    assert requested.application is not None
    for review in requested.reviews:
        reviews.decide(session, reviewer(review.department_code), review.id, Decision.APPROVE, "同意变更")
    aggregation.aggregate(session, requested.application.id)
    return licenses.issue_license(session, SYSTEM_ACTOR, requested.application.id)


def permit_dates(session: Session, license_: License) -> dict[str, tuple[object, object, str]]:
    return {p.permit_code: (p.issued_on, p.valid_until, p.number) for p in licenses.permits_of(session, license_.id)}


def test_a_withdrawn_permit_stays_withdrawn_and_does_not_block_a_change_of_the_others(session: Session) -> None:
    """One permit withdrawn by its department (e.g. the 二次供水 permit): the holder still moves its premises; the
    change is reviewed by the departments of the permits in force and the withdrawn one stays 撤销 (issue 19)."""
    license_ = issued_hotel(session)
    water = next(
        p for p in licenses.permits_of(session, license_.id) if p.permit_code == "SECONDARY_WATER_SUPPLY_HEALTH"
    )
    licenses.change_permit(session, reviewer(water.department_code), water.number, Operation.WITHDRAW, reason="违法")
    in_force = tuple(code for code in HOTEL if code != water.permit_code)
    requested = changes.request_change(
        session, APPLICANT, license_.number, answers={"business_address": "重庆市渝北区新牌坊二路9号"}, reason="搬迁"
    )
    assert requested.added_permits == () and requested.removed_permits == ()
    assert {r.department_code for r in requested.reviews} == departments_reading("business_address", in_force)
    assert all(water.permit_code not in r.permit_codes for r in requested.reviews)
    changed = approve_change(session, requested)
    session.refresh(changed)
    statuses = {p.permit_code: p.status.label for p in licenses.permits_of(session, changed.id)}
    assert changed.business_address == "重庆市渝北区新牌坊二路9号" and statuses[water.permit_code] == "撤销"
    assert {statuses[c] for c in in_force} == {"有效"}


def test_an_address_change_is_reviewed_by_the_departments_that_read_it_and_issues_edition_two(
    client: TestClient, session: Session
) -> None:
    license_ = issued_hotel(session)
    v1_url, dates_before = verify_url(PUBLIC_BASE_URL, license_.token), permit_dates(session, license_)
    requested = changes.request_change(
        session, APPLICANT, license_.number, answers={"business_address": "重庆市渝北区新牌坊二路9号"}, reason="搬迁"
    )
    assert requested.changed_fields == ("business_address",)
    assert {r.department_code for r in requested.reviews} == departments_reading("business_address", HOTEL)
    with pytest.raises(Conflict, match="办理中的变更或延续申请"):
        changes.request_change(session, APPLICANT, license_.number, answers={"holder_name": "另一个名称"})
    # the public page does not change before the departments approve
    assert "新牌坊二路9号" not in client.get(urlsplit(v1_url).path).text

    changed = approve_change(session, requested)
    session.refresh(changed)
    assert changed.edition == 2 and changed.business_address == "重庆市渝北区新牌坊二路9号"
    assert permit_dates(session, changed) == dates_before  # numbers and dates kept
    v1_page = client.get(urlsplit(v1_url).path)
    v2_url = verify_url(PUBLIC_BASE_URL, changed.token)
    assert "已更新" in v1_page.text and f'href="{v2_url}"' in v1_page.text
    v2_page = client.get(urlsplit(v2_url).path)
    assert "已更新" not in v2_page.text and "新牌坊二路9号" in v2_page.text and "第 2 版" in v2_page.text
    assert requested.application is not None
    session.refresh(requested.application)
    assert requested.application.status is ApplicationStatus.ISSUED and requested.application.open_key is None
    # the same change issued again (a redelivered aggregation message) changes nothing
    assert licenses.issue_license(session, SYSTEM_ACTOR, requested.application.id).edition == 2


def test_a_fact_one_permit_reads_goes_to_its_department_alone_and_a_registration_fact_to_none(
    session: Session,
) -> None:
    license_ = issued_hotel(session)
    tank = changes.request_change(session, APPLICANT, license_.number, answers={"water_tank_volume": 30})
    assert {r.department_code for r in tank.reviews} == departments_reading("water_tank_volume", HOTEL) == {"WSJK"}
    assert [r.permit_codes for r in tank.reviews] == [["SECONDARY_WATER_SUPPLY_HEALTH"]]
    approve_change(session, tank)
    # a name the registry does not hold is refused (M1: never from typed text), whatever the holder types
    with pytest.raises(ValidationFailed, match="市场主体登记中查不到该主体"):
        changes.request_change(session, APPLICANT, license_.number, answers={"holder_name": "重庆市公安局"})
    registered_as(session, license_, "重庆山城新宾馆有限公司")
    with pytest.raises(ValidationFailed, match="须与市场主体登记一致（登记为“重庆山城新宾馆有限公司”）"):
        changes.request_change(session, APPLICANT, license_.number, answers={"holder_name": "重庆市公安局"})
    renamed = changes.request_change(
        session, APPLICANT, license_.number, answers={"holder_name": "重庆山城新宾馆有限公司"}
    )
    assert renamed.application is None and renamed.reviews == ()  # 登记事项: updated at once
    session.refresh(license_)
    assert license_.holder_name == "重庆山城新宾馆有限公司" and license_.edition == 3


def test_adding_to_the_scope_adds_permits_reviewed_by_their_departments(session: Session) -> None:
    license_ = issued_hotel(session)
    before = permit_dates(session, license_)
    original = session.get(Application, license_.application_id)
    assert original is not None
    conditions = {**conditions_for("HOTEL", HOTEL), "has_restaurant": True}
    sample, materials = valid_application("HOTEL", conditions=conditions)
    new_facts = {k: v for k, v in sample.items() if k not in original.answers}  # what the restaurant's permits ask
    requested = changes.request_change(
        session, APPLICANT, license_.number, answers={**new_facts, "has_restaurant": True}, materials=materials
    )
    added = set(requested.added_permits)
    assert added == {"FOOD_BUSINESS", "KITCHEN_WASTE_REGISTRATION", "SEWER_DISCHARGE"}
    catalog = catalogs.catalog()
    # the added permits' departments, and no one else: the facts the hotel's own permits read did not change
    assert {r.department_code for r in requested.reviews} == {catalog.permits[c].department for c in added}
    changed = approve_change(session, requested)
    after = permit_dates(session, changed)
    assert {k: v for k, v in after.items() if k in before} == before
    assert sorted(after[c][2] for c in added) == [f"{license_.number}-0{n}" for n in (5, 6, 7)]
    food = session.exec(select(Obligation).where(Obligation.permit_code == "FOOD_BUSINESS")).one()
    assert food.kind is ObligationKind.INSPECTION  # 非核心要件信任: checked after the fact


def test_refusals(session: Session) -> None:
    license_ = issued_hotel(session)
    with pytest.raises(Forbidden, match=r"您不是许可证 .* 的持证人"):  # the license is public: say why, not 不存在
        changes.request_change(session, OTHER_APPLICANT, license_.number, answers={"holder_name": "冒名"})
    with pytest.raises(NotFound):
        changes.request_change(session, APPLICANT, "500107209900000001", answers={"holder_name": "冒名"})
    with pytest.raises(ValidationFailed, match="统一社会信用代码不能变更"):
        changes.request_change(session, APPLICANT, license_.number, answers={"uscc": "91500000MA5U7K2X3X"})
    with pytest.raises(ValidationFailed, match="没有需要变更的事项"):
        changes.request_change(session, APPLICANT, license_.number, answers={"holder_name": license_.holder_name})
    with pytest.raises(ValidationFailed):
        changes.request_change(session, APPLICANT, license_.number, answers={"water_tank_volume": -5})


def test_the_holder_cancels_its_license_and_the_public_history_shows_each_step(
    client: TestClient, session: Session
) -> None:
    license_ = issued_hotel(session)
    licenses.change_permit(session, reviewer("XFJY"), f"{license_.number}-03", Operation.SUSPEND, reason="整改")
    licenses.change_permit(session, reviewer("XFJY"), f"{license_.number}-03", Operation.RESTORE, reason="已整改")
    with pytest.raises(Forbidden, match=r"不是许可证 .* 的持证人"):  # another applicant may not
        licenses.change_license(session, OTHER_APPLICANT, license_.number, Operation.CANCEL, reason="不再经营")
    with pytest.raises(Forbidden):  # the holder may cancel, not suspend
        licenses.change_license(session, APPLICANT, license_.number, Operation.SUSPEND, reason="暂停")
    open_before = session.exec(select(Obligation).where(Obligation.license_id == license_.id)).all()
    assert open_before and all(o.status is ObligationStatus.OPEN for o in open_before)
    licenses.change_license(session, APPLICANT, license_.number, Operation.CANCEL, reason="不再经营")
    session.expire_all()
    ended = session.exec(select(Obligation).where(Obligation.license_id == license_.id)).all()
    assert {o.status for o in ended} == {ObligationStatus.ENDED}  # nothing left to keep
    view = client.get(f"/v/{license_.token}", headers={"Accept": "application/json"}).json()
    assert view["status"]["label"] == "注销"
    assert [(h["event"], h["permit"]) for h in view["history"]] == [
        ("新发", None),
        ("暂扣", "公众聚集场所投入使用、营业前消防安全检查"),
        ("发还", "公众聚集场所投入使用、营业前消防安全检查"),
        ("注销", None),
    ]
    page = client.get(f"/v/{license_.token}").text
    assert 'id="history"' in page and "不再经营" not in page  # what happened, not who or why
    # the premises are free again: the holder may apply anew there
    again = approved(session, APPLICANT, "HOTEL", conditions=conditions_for("HOTEL", HOTEL),
                     uscc=license_.uscc, business_address=license_.business_address)  # fmt: skip
    assert again.status is ApplicationStatus.APPROVED


def test_a_renewal_application_renews_the_permits_and_the_reprint_carries_the_new_dates(
    client: TestClient, session: Session
) -> None:
    license_ = issued_hotel(session)
    permits = licenses.permits_of(session, license_.id)
    ending = min(p.valid_until for p in permits if p.valid_until is not None)
    due = [p.permit_code for p in permits if p.valid_until == ending]
    assert sorted(due) == ["PUBLIC_HEALTH", "SECONDARY_WATER_SUPPLY_HEALTH"]  # both 4 years
    early = ["PUBLIC_HEALTH"]  # the holder renews one; the other runs out
    with pytest.raises(ValidationFailed, match="90 天内届满"):  # not yet due
        changes.request_renewal(session, APPLICANT, license_.number)
    month_before = datetime.combine(ending - timedelta(days=30), datetime.min.time(), CHINA_TIME) + timedelta(hours=9)
    with time_machine.travel(month_before, tick=False):
        swept = obligations.sweep(session)
        assert swept.renewal_reminders == len(due)  # 30 days before: the holder is reminded of each
        requested = changes.request_renewal(session, APPLICANT, license_.number, permit_codes=early)
        assert requested.application is not None and requested.application.kind == "renewal"
        assert sorted(requested.application.permit_codes) == sorted(early)
        assert {r.department_code for r in requested.reviews} == {
            catalogs.catalog().permits[c].department for c in early
        }
        v1 = license_.token
        renewed = approve_change(session, requested)
    session.refresh(renewed)
    after = {p.permit_code: p.valid_until for p in licenses.permits_of(session, renewed.id)}
    for code in early:
        years = catalogs.catalog().permits[code].validity_years
        assert after[code] == ending.replace(year=ending.year + years)  # from the day after the old end
    assert renewed.edition == 2 and renewed.token != v1
    page = client.get(f"/v/{renewed.token}").text
    assert all(after[c].isoformat() in page for c in early) and "延续" in page
    assert "已更新" in client.get(f"/v/{v1}").text
    # a permit that was not renewed runs out: the holder is told once, the day after
    assert after["SECONDARY_WATER_SUPPLY_HEALTH"] == ending
    day_after = datetime.combine(ending + timedelta(days=1), datetime.min.time(), CHINA_TIME) + timedelta(hours=9)
    with time_machine.travel(day_after, tick=False):
        assert obligations.sweep(session).expired == 1
        assert obligations.sweep(session).expired == 0
        lapsed = client.get(f"/v/{renewed.token}", headers={"Accept": "application/json"}).json()
    assert lapsed["status"]["label"] == "失效" and [b["code"] for b in lapsed["blocking"]] == [
        "SECONDARY_WATER_SUPPLY_HEALTH"
    ]
    assert ("失效", "生活饮用水卫生许可（二次供水）") in [(h["event"], h["permit"]) for h in lapsed["history"]]


def test_the_holder_changes_renews_and_cancels_through_the_api(client: TestClient, session: Session) -> None:
    answers, _ = valid_application("HOTEL", conditions=conditions_for("HOTEL", HOTEL))
    user, token = users.create_user(session, "宾馆持证人", Role.APPLICANT, usccs=[answers["uscc"]])
    holder = users.actor_of(user)
    application = approved(session, holder, "HOTEL", conditions=conditions_for("HOTEL", HOTEL), uscc=answers["uscc"])
    license_ = licenses.issue_license(session, SYSTEM_ACTOR, application.id)
    as_holder = {"Authorization": f"Bearer {token}"}
    typed = client.post(f"/api/licenses/{license_.number}/change", json={"answers": {"holder_name": "新名称宾馆"}},
                        headers=as_holder)  # fmt: skip
    assert typed.status_code == 422 and typed.json()["errors"][0]["key"] == "holder_name"  # not in the registry
    registered_as(session, license_, "新名称宾馆")
    renamed = client.post(f"/api/licenses/{license_.number}/change", json={"answers": {"holder_name": "新名称宾馆"}},
                          headers=as_holder)  # fmt: skip
    assert renamed.status_code == 201, renamed.text
    assert renamed.json()["application_id"] is None and renamed.json()["edition"] == 2
    moved = client.post(f"/api/licenses/{license_.number}/change",
                        json={"answers": {"business_address": "重庆市南岸区南坪正街5号"}}, headers=as_holder)  # fmt: skip
    assert moved.status_code == 201 and moved.json()["application_id"]
    assert moved.json()["departments"] == sorted(departments_reading("business_address", HOTEL))
    early = client.post(f"/api/licenses/{license_.number}/renewal", json={}, headers=as_holder)
    assert early.status_code == 409  # the change is pending
    cancelled = client.post(f"/api/licenses/{license_.number}/cancellation", json={"reason": "不再经营"},
                            headers=as_holder)  # fmt: skip
    assert cancelled.status_code == 204
    assert (
        client.get(f"/v/{license_.token}", headers={"Accept": "application/json"}).json()["status"]["label"] == "注销"
    )
    change = client.get(f"/api/applications/{moved.json()['application_id']}", headers=as_holder).json()
    assert (change["status"], change["status_label"]) == ("closed", "已终止办理")
    assert change["status_reason"].startswith("许可证已注销（不再经营），变更申请")
    assert all(d["due_on"] is None for d in change["departments"])


def _queued(session: Session, application_id: str) -> list[str]:
    """The kinds of the application's outbox messages still to do, and any dead letter at all."""
    session.expire_all()
    pending = [m.kind for m in outbox.messages_for(session, application_id) if m.done_at is None]
    return pending + [f"dead:{m.kind}:{m.last_error}" for m in outbox.dead_messages(session)]


def test_cancelling_the_license_closes_its_pending_change_in_the_same_transaction(
    client: TestClient, session: Session
) -> None:
    license_ = issued_hotel(session)
    requested = changes.request_change(
        session, APPLICANT, license_.number, answers={"business_address": "重庆市渝北区新牌坊二路9号"}, reason="搬迁"
    )
    assert requested.application is not None and len(requested.reviews) >= 2
    first, second, *_ = requested.reviews
    reviews.claim(session, reviewer(first.department_code), first.id)
    reviews.decide(session, reviewer(second.department_code), second.id, Decision.APPROVE, "同意变更")
    assert "department_push" in _queued(session, requested.application.id)

    licenses.change_license(session, APPLICANT, license_.number, Operation.CANCEL, reason="不再经营")
    dispatch_once()  # the license's own work (its notices); nothing of the closed change

    assert _queued(session, requested.application.id) == []  # nothing left to do, nothing dead
    closed = session.get(Application, requested.application.id)
    assert closed is not None and closed.status is ApplicationStatus.CLOSED and closed.open_key is None
    assert closed.status_reason == f"许可证已注销（不再经营），变更申请 {closed.reference} 终止办理"
    statuses = {r.department_code: r.status for r in applications.list_progress(session, ADMIN, closed.id).reviews}
    assert statuses.pop(second.department_code) is ReviewStatus.APPROVED  # a decision taken stays
    assert set(statuses.values()) == {ReviewStatus.CLOSED}
    with pytest.raises(Conflict):  # nothing to decide any more
        reviews.decide(session, reviewer(first.department_code), first.id, Decision.APPROVE, "同意变更")
    detail = views.application_detail(applications.list_progress(session, APPLICANT, closed.id))
    assert (detail.status_label, detail.status_reason) == ("已终止办理", closed.status_reason)
    assert [e.action for e in audit.events_for(session, "application", closed.id)][-1] == "application.close"
    assert changes.pending_change(session, license_.id) is None


def test_an_approved_change_of_a_revoked_license_is_closed_not_a_dead_letter(
    client: TestClient, session: Session
) -> None:
    license_ = issued_hotel(session)
    requested = changes.request_change(
        session, APPLICANT, license_.number, answers={"business_address": "重庆市渝北区新牌坊二路9号"}, reason="搬迁"
    )
    assert requested.application is not None
    for review in requested.reviews:  # every department approved: the aggregation is queued
        reviews.decide(session, reviewer(review.department_code), review.id, Decision.APPROVE, "同意变更")
    assert "aggregate" in _queued(session, requested.application.id)

    licenses.change_license(session, ADMIN, license_.number, Operation.REVOKE, reason="严重违法")
    dispatch_once()
    dispatch_once()

    assert _queued(session, requested.application.id) == []
    closed = session.get(Application, requested.application.id)
    assert closed is not None and closed.status is ApplicationStatus.CLOSED
    assert closed.status_reason is not None and closed.status_reason.startswith("许可证已吊销（严重违法）")
    session.refresh(license_)
    assert license_.edition == 1 and license_.business_address != "重庆市渝北区新牌坊二路9号"  # never applied


def test_a_change_or_renewal_of_an_ended_license_is_refused_naming_its_status(session: Session) -> None:
    license_ = issued_hotel(session)
    licenses.change_license(session, APPLICANT, license_.number, Operation.CANCEL, reason="不再经营")
    refused = f"许可证 {license_.number} 当前状态为「注销」，不能办理"

    with pytest.raises(Conflict, match=f"{refused}变更"):
        changes.request_change(session, APPLICANT, license_.number, answers={"holder_name": "新名称宾馆"})
    with pytest.raises(Conflict, match=f"{refused}延续"):
        changes.request_renewal(session, APPLICANT, license_.number)
    assert changes.pending_change(session, license_.id) is None
