"""Issuing and the license lifecycle through the store services, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.licenses.keys import load_keyset
from onelicense.licenses.numbering import is_valid_number
from onelicense.licenses.status import LicenseStatus, Operation
from onelicense.licenses.token import verify_token
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.review.transitions import ApplicationStatus
from onelicense.services import catalog as catalogs
from onelicense.services import licenses
from onelicense.services.licenses import LicenseConfig
from onelicense.store import license_queries, outbox
from onelicense.store.audit import events_for
from onelicense.store.db import get_session
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License, LicensePermit
from tests.licenses.conftest import ADMIN, APPLICANT, ApproveFn, reviewer

ISSUED_AT = datetime(2025, 3, 14, 1, 30, tzinfo=UTC)  # 09:30 in China


def _count(session: Session, table: type) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def test_issuing_an_approved_application_stores_signs_and_queues_its_certificate(
    session: Session, approved_application: ApproveFn, license_config: LicenseConfig
) -> None:
    application = approved_application()
    license_ = licenses.issue_license(session, SYSTEM_ACTOR, application.id, config=license_config, issued_at=ISSUED_AT)
    assert is_valid_number(license_.number) and license_.number.startswith("5001072025")
    assert (license_.holder_name, license_.uscc, license_.legal_representative) == (
        "渝北区老街坊便利店",
        application.uscc,
        "张三明",
    )
    permits = licenses.permits_of(session, license_.id)
    assert [(p.permit_code, p.department_code, p.number) for p in permits] == [
        ("FOOD_BUSINESS", "SCJG", f"{license_.number}-01"),
        ("TOBACCO_RETAIL", "SWW", f"{license_.number}-02"),
    ]
    assert permits[0].issued_on == date(2025, 3, 14) and permits[0].valid_until == date(2030, 3, 13)
    content = verify_token(license_.token, load_keyset(license_config.keys_dir)).content
    assert content == licenses.license_document(license_, permits).signed_content()
    # verifiable at once; the certificate is its own durable step, rendered after the commit
    [render] = outbox.messages_for(session, application.id, outbox.RENDER_PDF)
    assert render.payload == {"number": license_.number} and render.done_at is None
    assert not Path(license_.pdf_path or "").exists()
    path = licenses.ensure_pdf(session, license_, license_config)
    assert path == Path(license_.pdf_path or "") and path.read_bytes().startswith(b"%PDF")
    assert session.get(Application, application.id).status is ApplicationStatus.ISSUED  # type: ignore[union-attr]
    assert [e.action for e in events_for(session, "license", license_.number)] == ["license.issue"]


def test_issuing_twice_returns_the_same_license(
    session: Session, approved_application: ApproveFn, license_config: LicenseConfig
) -> None:
    application = approved_application()
    first = licenses.issue_license(session, SYSTEM_ACTOR, application.id, config=license_config)
    second = licenses.issue_license(session, ADMIN, application.id, config=license_config)
    assert first.id == second.id
    assert _count(session, License) == 1


def test_concurrent_issuing_from_two_threads_makes_one_license(
    db_url: str, session: Session, approved_application: ApproveFn, license_config: LicenseConfig
) -> None:
    application_id = approved_application().id
    barrier = threading.Barrier(2)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def issue() -> None:
        worker = get_session(db_url)
        try:
            barrier.wait()
            numbers.append(licenses.issue_license(worker, SYSTEM_ACTOR, application_id, config=license_config).number)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            worker.close()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(numbers) == 2 and numbers[0] == numbers[1]
    assert _count(session, License) == 1
    assert _count(session, LicensePermit) == 2


def test_licenses_of_different_applications_get_consecutive_numbers(
    session: Session, approved_application: ApproveFn, license_config: LicenseConfig
) -> None:
    numbers = [
        licenses.issue_license(session, SYSTEM_ACTOR, approved_application().id, config=license_config).number
        for _ in range(2)
    ]
    assert int(numbers[1][10:17]) == int(numbers[0][10:17]) + 1


def test_a_missing_pdf_is_rendered_again(
    session: Session, approved_application: ApproveFn, license_config: LicenseConfig
) -> None:
    application = approved_application()
    license_ = licenses.issue_license(session, SYSTEM_ACTOR, application.id, config=license_config)
    path = licenses.ensure_pdf(session, license_, license_config)
    path.unlink()  # deleted, or never rendered because the process died after the commit
    assert licenses.issue_license(session, SYSTEM_ACTOR, application.id, config=license_config).id == license_.id
    assert licenses.ensure_pdf(session, license_, license_config) == path and path.exists()


def test_only_an_approved_application_gets_a_license(
    session: Session, approved_application: ApproveFn, license_config: LicenseConfig
) -> None:
    with pytest.raises(NotFound):
        licenses.issue_license(session, SYSTEM_ACTOR, "nope", config=license_config)
    application = approved_application()
    with pytest.raises(Forbidden):
        licenses.issue_license(session, APPLICANT, application.id, config=license_config)
    with pytest.raises(Forbidden):
        licenses.issue_license(session, reviewer("SCJG"), application.id, config=license_config)
    assert _count(session, License) == 0


def test_an_application_whose_permit_left_the_catalog_is_refused_with_a_reason(
    session: Session, approved_application: ApproveFn, license_config: LicenseConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = approved_application()
    catalog = catalogs.catalog()
    trimmed = catalog.model_copy(
        update={"permits": {k: v for k, v in catalog.permits.items() if k != "TOBACCO_RETAIL"}}
    )
    monkeypatch.setattr(catalogs, "catalog", lambda: trimmed)  # the catalog in use, as an operator replaced it
    with pytest.raises(InvalidRequest, match="TOBACCO_RETAIL"):
        licenses.issue_license(session, SYSTEM_ACTOR, application.id, config=license_config)
    assert _count(session, License) == 0


@pytest.fixture
def issued(session: Session, approved_application: ApproveFn, license_config: LicenseConfig) -> License:
    return licenses.issue_license(session, SYSTEM_ACTOR, approved_application().id, config=license_config)


def test_suspending_a_permit_makes_the_composite_suspended_naming_it(session: Session, issued: License) -> None:
    food = f"{issued.number}-01"
    licenses.change_permit(session, reviewer("SCJG"), food, Operation.SUSPEND, reason="责令停业整顿")
    now = license_queries.current_status(session, issued.number)
    assert now.composite.status is LicenseStatus.SUSPENDED
    assert [p.permit.permit_name for p in now.blocking_permits] == ["食品经营许可"]
    licenses.change_permit(session, ADMIN, food, Operation.RESTORE, reason="整改完成")
    assert license_queries.current_status(session, issued.number).composite.status is LicenseStatus.VALID
    actions = [e.action for e in events_for(session, "license_permit", food)]
    assert actions == ["license_permit.suspend", "license_permit.restore"]


def test_another_department_may_not_change_a_permit(session: Session, issued: License) -> None:
    with pytest.raises(Forbidden):
        licenses.change_permit(session, reviewer("SWW"), f"{issued.number}-01", Operation.SUSPEND, reason="x")
    with pytest.raises(Forbidden):
        licenses.change_permit(session, APPLICANT, f"{issued.number}-01", Operation.SUSPEND, reason="x")
    assert license_queries.current_status(session, issued.number).composite.status is LicenseStatus.VALID
    licenses.change_permit(session, ADMIN, f"{issued.number}-01", Operation.SUSPEND, reason="管理员暂扣")
    assert license_queries.current_status(session, issued.number).composite.status is LicenseStatus.SUSPENDED


def test_whole_license_operations_are_for_admins(session: Session, issued: License) -> None:
    with pytest.raises(Forbidden):
        licenses.change_license(session, reviewer("SCJG"), issued.number, Operation.REVOKE, reason="x")
    licenses.change_license(session, ADMIN, issued.number, Operation.REVOKE, reason="严重违法")
    now = license_queries.current_status(session, issued.number)
    assert now.composite.status is LicenseStatus.REVOKED
    with pytest.raises(Conflict):  # revoked is final
        licenses.change_license(session, ADMIN, issued.number, Operation.RESTORE, reason="x")
    with pytest.raises(Conflict):
        licenses.change_permit(session, ADMIN, f"{issued.number}-01", Operation.SUSPEND, reason="x")


def test_refused_transitions_and_missing_reasons(session: Session, issued: License) -> None:
    with pytest.raises(Conflict, match="有效"):
        licenses.change_permit(session, ADMIN, f"{issued.number}-01", Operation.RESTORE, reason="x")
    with pytest.raises(InvalidRequest):
        licenses.change_permit(session, ADMIN, f"{issued.number}-01", Operation.SUSPEND, reason="  ")
    with pytest.raises(NotFound):
        licenses.change_permit(session, ADMIN, f"{issued.number}-09", Operation.SUSPEND, reason="x")


def test_expiry_is_computed_from_the_dates_and_renewal_lifts_it(
    session: Session, issued: License, license_config: LicenseConfig
) -> None:
    food = licenses.permits_of(session, issued.id)[0]
    assert food.valid_until is not None
    after = datetime.combine(food.valid_until + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=1)
    now = license_queries.current_status(session, issued.number, at=after)
    assert now.composite.status is LicenseStatus.EXPIRED
    assert [p.permit.permit_code for p in now.blocking_permits] == ["FOOD_BUSINESS", "TOBACCO_RETAIL"]
    with pytest.raises(InvalidRequest):
        licenses.change_permit(
            session, ADMIN, food.number, Operation.RENEW, reason="延续", valid_until=date(2020, 1, 1)
        )
    first_token = issued.token
    for permit in licenses.permits_of(session, issued.id):
        licenses.change_permit(
            session, ADMIN, permit.number, Operation.RENEW, reason="延续", valid_until=date(2035, 3, 13),
            config=license_config,
        )  # fmt: skip
    assert license_queries.current_status(session, issued.number, at=after).composite.status is LicenseStatus.VALID
    # each renewal reissued the certificate: the signed token and the PDF carry the new date
    renewed = session.exec(select(License).where(License.number == issued.number)).one()
    session.refresh(renewed)
    assert renewed.edition == 3 and renewed.token != first_token
    content = verify_token(renewed.token, load_keyset(license_config.keys_dir)).content
    assert {p.valid_until for p in content.permits} == {date(2035, 3, 13)}
    assert {p.valid_until for p in verify_token(first_token, load_keyset(license_config.keys_dir)).content.permits} != {
        date(2035, 3, 13)
    }  # the old token still verifies, with the old dates: its page says 已更新
    assert renewed.pdf_path is not None and renewed.pdf_path.endswith(f"{issued.number}-3.pdf")
    document = licenses.certificate(session, renewed, license_config).document
    assert {p.valid_until for p in document.permits} == {date(2035, 3, 13)}
    assert [e.action for e in events_for(session, "license", issued.number)][-2:] == ["license.reissue"] * 2


def test_publicity_search_by_name_uscc_and_industry(
    session: Session, approved_application: ApproveFn, license_config: LicenseConfig
) -> None:
    names = ["老街坊便利店", "新街坊便利店", "悦来酒店"]
    issued = [
        licenses.issue_license(session, SYSTEM_ACTOR, approved_application(holder_name=name).id, config=license_config)
        for name in names
    ]
    assert [r.license.holder_name for r in license_queries.search_publicity(session, q="街坊").items] == [
        "新街坊便利店",
        "老街坊便利店",
    ]
    assert [r.license.number for r in license_queries.search_publicity(session, q=issued[2].uscc).items] == [
        issued[2].number
    ]
    assert license_queries.search_publicity(session, industry="CONVENIENCE_STORE").total == 3
    assert license_queries.search_publicity(session, industry="HOTEL").total == 0
    page = license_queries.search_publicity(session, page=2, page_size=2)
    assert (page.total, page.pages, len(page.items)) == (3, 2, 1)
    assert license_queries.search_publicity(session, q="100%_").total == 0  # LIKE wildcards are literal


def test_concurrent_issuers_of_different_applications_get_consecutive_numbers(
    db_url: str, session: Session, approved_application: ApproveFn, license_config: LicenseConfig
) -> None:
    """Eight issuers at once (a dispatcher's batch, several dispatchers): none collides on a number, none fails."""
    applications = [approved_application().id for _ in range(8)]
    barrier = threading.Barrier(len(applications))
    numbers: list[str] = []
    errors: list[BaseException] = []

    def issue(application_id: str) -> None:
        own = get_session(db_url)
        try:
            barrier.wait(timeout=20)
            numbers.append(licenses.issue_license(own, SYSTEM_ACTOR, application_id, config=license_config).number)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=issue, args=(a,)) for a in applications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    serials = sorted(int(n[10:17]) for n in numbers)
    assert serials == list(range(serials[0], serials[0] + len(applications)))
