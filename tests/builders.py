"""Valid applications built through the service layer, for the tests of every package.

Every builder goes through `services` (the one door), so test data is what a real applicant could have made:
catalog-valid answers from `demo.sample`, a distinct USCC per application unless told otherwise."""

from __future__ import annotations

import itertools
from typing import Any

from sqlmodel import Session

from onelicense.demo.sample import sample_application
from onelicense.forms.model import FieldType
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role
from onelicense.review.transitions import OPEN_REVIEW_STATUSES, Decision
from onelicense.services import aggregation, applications, reviews
from onelicense.services import catalog as catalogs
from onelicense.services.applications import Submitted
from onelicense.store.tables.application import Application

APPLICANT = Actor("applicant-1", Role.APPLICANT)
OTHER_APPLICANT = Actor("applicant-2", Role.APPLICANT)
ADMIN = Actor("admin-1", Role.ADMIN)
SYSTEM = SYSTEM_ACTOR

# 便利店 selling ready-to-eat food and tobacco: two permits of two departments (SCJG: FOOD_BUSINESS, SWW: TOBACCO_RETAIL)
SMALL = "CONVENIENCE_STORE"
SMALL_CONDITIONS = {"sells_ready_to_eat_food": True, "sells_tobacco": True}

# 美容店 small enough for instant approval (秒批) of its 公共场所卫生许可 under the catalog's auto_approve rules
SMALL_SHOP = {
    "public_venue_category": "美容店",
    "floor_area": 80,
    "employee_count": 6,
    "air_conditioning_type": "分体式空调",
}

_serials = itertools.count(1)


def reviewer(department_code: str, n: int = 1) -> Actor:
    return Actor(f"{department_code.lower()}-reviewer-{n}", Role.REVIEWER, department_code)


def conditions_for(industry_code: str, permit_codes: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Answers to the industry's yes/no questions that select exactly `permit_codes` (searched, small industries)."""
    catalog = catalogs.catalog()
    keys = [k for k in catalog.industries[industry_code].condition_keys if catalog.fields[k].type == FieldType.BOOLEAN]
    wanted = set(permit_codes)
    for values in itertools.product((False, True), repeat=len(keys)):
        answers = dict(zip(keys, values, strict=True))
        if {p.code for p in catalogs.merged_form(industry_code, answers).permits} == wanted:
            return answers
    raise ValueError(f"no answers select {sorted(wanted)} in {industry_code}")


def valid_application(
    industry_code: str = SMALL,
    *,
    conditions: dict[str, Any] | None = None,
    serial: int | None = None,
    **overrides: Any,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(answers, materials) of a valid application; `overrides` replace answers (after the conditions chose the
    permits, so an override of a condition question may change them)."""
    if conditions is None and industry_code == SMALL:
        conditions = SMALL_CONDITIONS
    sample = sample_application(industry_code, serial=serial or next(_serials), conditions=conditions)
    return {**sample.answers, **overrides}, dict(sample.materials)


def submit_valid(
    session: Session,
    actor: Actor = APPLICANT,
    industry_code: str = SMALL,
    *,
    conditions: dict[str, Any] | None = None,
    serial: int | None = None,
    idempotency_key: str | None = None,
    materials: dict[str, str] | None = None,
    **overrides: Any,
) -> Submitted:
    answers, sample_materials = valid_application(industry_code, conditions=conditions, serial=serial, **overrides)
    return applications.submit(
        session,
        actor,
        industry_code=industry_code,
        answers=answers,
        materials=sample_materials if materials is None else materials,
        idempotency_key=idempotency_key,
    )


def decide_all(
    session: Session,
    application_id: str,
    overrides: dict[str, tuple[Decision, list[str] | None]] | None = None,
) -> None:
    """Every open review decided by a reviewer of its department: approve unless `overrides` says otherwise."""
    overrides = overrides or {}
    for review in applications.list_progress(session, ADMIN, application_id).reviews:
        if review.status not in OPEN_REVIEW_STATUSES:
            continue
        decision, items = overrides.get(review.department_code, (Decision.APPROVE, None))
        reviews.decide(
            session, reviewer(review.department_code), review.id, decision, "审查意见：" + decision.label, items
        )


def approved(session: Session, actor: Actor = APPLICANT, industry_code: str = SMALL, **kwargs: Any) -> Application:
    """An application every department approved, with its composite opinion recorded: ready to be issued."""
    submitted = submit_valid(session, actor, industry_code, **kwargs)
    decide_all(session, submitted.application.id)
    return aggregation.aggregate(session, submitted.application.id)
