"""One clock, moved by a setting (ONELICENSE_CLOCK_SHIFT) as a service centre's acceptance test would: the 承诺制
cycle (overdue → 限期整改 → lapse → investigation → 公示 → listing), the renewal window and expiry all follow it,
with no sleeping and no patched system time. Production refuses the setting; every page shows a banner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from onelicense import clock
from onelicense.clock import CHINA_TIME
from onelicense.errors import Conflict
from onelicense.forms.errors import ValidationFailed
from onelicense.licenses.status import LicenseStatus
from onelicense.review.obligations import ObligationKind, ObligationStatus
from onelicense.review.sla import nth_working_day
from onelicense.services import aggregation, changes, licenses, obligations
from onelicense.services import catalog as catalogs
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import Settings, get_settings
from onelicense.store.license_queries import current_status
from onelicense.templating import environment
from tests.builders import ADMIN, APPLICANT, OTHER_APPLICANT, SYSTEM, conditions_for, decide_all, reviewer, submit_valid

SIGN_OFFICE = "CGJ"


@pytest.fixture
def moved(isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """move(day): the one clock reads 10:00 Beijing time on `day` from now on."""

    def move(day: date) -> None:
        target = datetime(day.year, day.month, day.day, 10, tzinfo=CHINA_TIME)
        monkeypatch.setenv("ONELICENSE_CLOCK_SHIFT", f"PT{int((target - datetime.now(UTC)).total_seconds())}S")
        get_settings.cache_clear()
        assert clock.today() == day

    yield move
    get_settings.cache_clear()


def _issue(session: Session, actor, permits: list[str]) -> licenses.License:  # type: ignore[no-untyped-def]
    conditions = conditions_for("CONVENIENCE_STORE", permits)
    application = submit_valid(session, actor, "CONVENIENCE_STORE", conditions=conditions).application
    decide_all(session, application.id)
    aggregation.aggregate(session, application.id)
    return licenses.issue_license(session, SYSTEM, application.id, config=LicenseConfig.from_settings())


def _working_day_after(day: date, n: int = 1) -> date:
    return nth_working_day(day, n, catalogs.calendar())


def test_the_commitment_cycle_follows_the_moved_clock_to_the_listing(session: Session, moved) -> None:  # type: ignore[no-untyped-def]
    issued = _issue(session, APPLICANT, ["FOOD_BUSINESS", "OUTDOOR_SIGN"])
    [supply] = [o for o in obligations.list_obligations(session, ADMIN) if o.kind is ObligationKind.SUPPLY]
    assert supply.due_on > clock.today() + timedelta(days=60)  # months away on the wall clock

    moved(_working_day_after(supply.due_on))
    assert obligations.sweep(session).overdue == 1
    session.refresh(supply)
    assert supply.status is ObligationStatus.OVERDUE
    ordered = obligations.order_rectification(session, reviewer(SIGN_OFFICE), supply.id, reason="请补交", days=3)
    assert ordered.rectify_due_on == _working_day_after(clock.today(), 3)

    moved(_working_day_after(ordered.rectify_due_on))
    assert obligations.sweep(session).lapsed == 1
    investigating = obligations.open_investigation(session, reviewer(SIGN_OFFICE), supply.id, note="未整改")
    assert investigating.publicity_until == _working_day_after(clock.today(), get_settings().publicity_days)

    moved(investigating.publicity_until)
    with pytest.raises(Conflict, match="公示期"):
        obligations.list_as_dishonest(session, reviewer(SIGN_OFFICE), supply.id, reason="逾期未补交材料")
    moved(investigating.publicity_until + timedelta(days=1))
    listed = obligations.list_as_dishonest(session, reviewer(SIGN_OFFICE), supply.id, reason="逾期未补交材料")
    assert listed.status is ObligationStatus.LISTED
    assert obligations.credit_standing(session, issued.uscc).blocked_until == clock.today().replace(
        year=clock.today().year + get_settings().dishonesty_block_years
    )
    session.expire_all()
    withdrawn = [p.permit.permit_code for p in current_status(session, issued.number).permits if p.status is LicenseStatus.WITHDRAWN]
    assert withdrawn == ["OUTDOOR_SIGN"]


def test_renewal_window_and_expiry_follow_the_moved_clock(session: Session, moved) -> None:  # type: ignore[no-untyped-def]
    issued = _issue(session, OTHER_APPLICANT, ["FOOD_BUSINESS"])
    [food] = [p for p in licenses.permits_of(session, issued.id) if p.permit_code == "FOOD_BUSINESS"]
    assert food.valid_until is not None and food.valid_until.year >= clock.today().year + 4

    moved(food.valid_until - timedelta(days=changes.RENEWAL_WINDOW_DAYS + 1))
    with pytest.raises(ValidationFailed, match="天内届满"):
        changes.request_renewal(session, OTHER_APPLICANT, issued.number)
    moved(food.valid_until - timedelta(days=30))
    renewal = changes.request_renewal(session, OTHER_APPLICANT, issued.number)
    assert [r.department_code for r in renewal.reviews] == ["SCJG"]
    assert current_status(session, issued.number).composite.status is LicenseStatus.VALID

    moved(food.valid_until + timedelta(days=2))
    assert current_status(session, issued.number).composite.status is LicenseStatus.EXPIRED
    assert obligations.sweep(session).expired == 1


def test_production_refuses_a_moved_clock() -> None:
    with pytest.raises(ValidationError, match="不允许拨动时钟"):
        Settings(production=True, clock_shift=timedelta(days=1))
    assert Settings(production=True).clock_shift is None


def test_every_page_says_when_the_clock_is_moved(moved) -> None:  # type: ignore[no-untyped-def]
    page = environment().from_string('{% extends "public_base.html.j2" %}{% block content %}x{% endblock %}')
    assert "测试时钟" not in page.render()
    moved(date(2031, 1, 6))
    banner = page.render()
    assert "测试时钟" in banner and "2031-01-06" in banner and "不是正式办理" in banner
