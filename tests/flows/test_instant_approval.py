"""Instant approval (秒批) through the real flows: a small beauty shop's only permit (公共场所卫生许可, 全信任) goes
from submission to a verifiable license with no human, the system's decision carrying the catalog's rules and the
inputs they read; the department finds it on its 先予许可、待核查 list. A rule that fails, or an applicant on the
dishonesty list (tests/store/test_obligations.py), sends the permit to the department's queue as before."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from onelicense.flows.dispatcher import dispatch_once
from onelicense.forms.errors import ValidationFailed
from onelicense.review.obligations import ObligationKind
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.review.transitions import ReviewStatus
from onelicense.services import applications, reviews
from onelicense.store import audit
from onelicense.store.db import session_scope
from onelicense.store.tables.application import DepartmentReview
from onelicense.store.tables.license import License
from onelicense.store.tables.lifecycle import Obligation
from onelicense.web.app import create_app
from tests import builders
from tests.builders import SMALL_SHOP
from tests.flows.conftest import APPLICANT, status_of

pytestmark = pytest.mark.usefixtures("flow_settings")


def submit_shop(**overrides: Any) -> str:
    answers, materials = builders.valid_application("BEAUTY_SALON", conditions={}, **{**SMALL_SHOP, **overrides})
    with session_scope() as session:
        submitted = applications.submit(
            session, APPLICANT, industry_code="BEAUTY_SALON", answers=answers, materials=materials
        )
        assert [p for r in submitted.reviews for p in r.permit_codes] == ["PUBLIC_HEALTH"]
        return submitted.application.id


def the_review(application_id: str) -> DepartmentReview:
    with session_scope() as session:
        return session.exec(select(DepartmentReview).where(DepartmentReview.application_id == application_id)).one()


def test_a_small_beauty_shop_is_licensed_without_a_human(flow_settings) -> None:
    application_id = submit_shop()
    dispatch_once()  # fan-out: the review is prepared and, every rule holding, decided by the system
    review = the_review(application_id)
    assert review.status is ReviewStatus.APPROVED and review.assignee == "system"
    assert review.opinion is not None and "先予许可" in review.opinion
    dispatch_once()  # aggregation: the license
    assert status_of(application_id) == "issued"
    with session_scope() as session:
        license_ = session.exec(select(License).where(License.application_id == application_id)).one()
        [event] = [
            e for e in audit.events_for(session, "department_review", review.id) if e.action == "review.auto_decide"
        ]
        inspection = session.exec(select(Obligation).where(Obligation.license_id == license_.id)).one()
    assert event.actor == SYSTEM_ACTOR.label
    rules = {r["rule"]: r for r in event.after["evidence"]["rules"]}  # type: ignore[index]
    assert rules["floor_area <= 200"]["inputs"] == {"floor_area": 80} and rules["floor_area <= 200"]["passed"]
    assert inspection.kind is ObligationKind.INSPECTION and "秒批" in (inspection.note or "")
    page = TestClient(create_app()).get(f"/v/{license_.token}")
    assert page.status_code == 200 and ">有效<" in page.text


@pytest.mark.parametrize(
    ("override", "why"),
    [({"floor_area": 500}, "floor_area <= 200"), ({"air_conditioning_type": "集中空调通风系统"}, "air_conditioning")],
)
def test_a_rule_that_fails_sends_the_permit_to_the_department(flow_settings, override: dict, why: str) -> None:
    application_id = submit_shop(**override)
    dispatch_once()
    review = the_review(application_id)
    assert review.status is ReviewStatus.PENDING and review.assignee is None
    assert status_of(application_id) == "submitted"


# ---------------------------------------------------------------- 秒批 rules bind to their industries (issue 17, H2)
# industry → (a public venue category that fits it, the permits its answers select: PUBLIC_HEALTH among them)
FITTING = {
    "SWIMMING_POOL": ("游泳场所", ["HIGH_RISK_SPORTS", "PUBLIC_HEALTH", "FIRE_SAFETY_CHECK"]),
    "HOTEL": ("宾馆旅店", ["HOTEL_SPECIAL_TRADE", "PUBLIC_HEALTH", "FIRE_SAFETY_CHECK"]),
}


def answers_as(industry_code: str, **overrides: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A valid application of the industry giving a small beauty shop's figures (area, staff, air conditioning)."""
    category, permits = FITTING[industry_code]
    conditions = builders.conditions_for(industry_code, permits)
    small = {**SMALL_SHOP, "public_venue_category": category}
    return builders.valid_application(industry_code, conditions=conditions, **{**small, **overrides})


@pytest.mark.parametrize("industry_code", ["SWIMMING_POOL", "HOTEL"])
def test_a_pool_or_hotel_declaring_itself_a_beauty_shop_is_refused_at_validation(flow_settings, industry_code) -> None:
    answers, materials = answers_as(industry_code, public_venue_category="美容店")
    with session_scope() as session, pytest.raises(ValidationFailed) as refused:
        applications.submit(session, APPLICANT, industry_code=industry_code, answers=answers, materials=materials)
    [error] = refused.value.errors
    assert (error.key, error.label) == ("public_venue_category", "公共场所类别")
    assert "“美容店”不适用于本行业" in error.reason and FITTING[industry_code][0] in error.reason


@pytest.mark.parametrize("industry_code", ["SWIMMING_POOL", "HOTEL"])
def test_a_small_pool_or_hotel_leaves_its_health_permit_to_the_department(flow_settings, industry_code) -> None:
    answers, materials = answers_as(industry_code)
    with session_scope() as session:
        submitted = applications.submit(
            session, APPLICANT, industry_code=industry_code, answers=answers, materials=materials
        )
        application_id = submitted.application.id
        [health] = [r.id for r in submitted.reviews if "PUBLIC_HEALTH" in r.permit_codes]
        verdict = reviews.auto_decide(session, health)  # what the fan-out asks, here directly
    assert verdict is not None and not verdict.eligible and verdict.uncovered == ("PUBLIC_HEALTH",)
    dispatch_once()  # the fan-out prepares every review and decides none of them
    with session_scope() as session:
        stored = session.exec(select(DepartmentReview).where(DepartmentReview.application_id == application_id)).all()
        assert stored and all(r.status is ReviewStatus.PENDING and r.assignee is None for r in stored)
        events = [e.action for r in stored for e in audit.events_for(session, "department_review", r.id)]
    assert "review.auto_decide" not in events
    assert status_of(application_id) == "submitted"
