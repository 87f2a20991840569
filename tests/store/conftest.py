"""Real applications for the store tests, built through the services (`tests.builders`), and row counters.

The usual application is a 宾馆 with 二次供水: three departments, the health commission reviewing two permits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, func, select

from onelicense.review.roles import Actor
from onelicense.store.tables import Application, AuditEvent, DecisionRecord, DepartmentReview, OutboxMessage
from tests.builders import APPLICANT, SMALL, conditions_for, submit_valid

HOTEL = "HOTEL"
POOL = "SWIMMING_POOL"  # 游泳馆: shares the fire and health departments with the hotel
FIRE, HEALTH, POLICE = "XFJY", "WSJK", "GA"  # 消防救援支队, 卫生健康委员会, 公安分局
MARKET, COMMERCE = "SCJG", "SWW"  # 市场监督管理局, 商务委员会: the convenience store's departments
DEPARTMENTS: dict[str, list[str]] = {
    POLICE: ["HOTEL_SPECIAL_TRADE"],
    HEALTH: ["PUBLIC_HEALTH", "SECONDARY_WATER_SUPPLY_HEALTH"],
    FIRE: ["FIRE_SAFETY_CHECK"],
}


@functools.cache
def hotel_conditions() -> dict[str, Any]:
    return conditions_for(HOTEL, [code for codes in DEPARTMENTS.values() for code in codes])


@functools.cache
def one_department() -> dict[str, Any]:
    """A convenience store selling ready-to-eat food only: one permit, reviewed by the market regulator alone."""
    return conditions_for(SMALL, ["FOOD_BUSINESS"])


SubmitFn = Callable[..., Application]


@pytest.fixture
def submit(session: Session) -> SubmitFn:
    """`submit(actor, industry_code=HOTEL, **kwargs)`: a valid application stored through `services.applications`
    (kwargs as `tests.builders.submit_valid`: conditions, idempotency_key, materials, answer overrides)."""

    def _submit(actor: Actor = APPLICANT, *, industry_code: str = HOTEL, **kwargs: Any) -> Application:
        if industry_code == HOTEL:
            kwargs.setdefault("conditions", hotel_conditions())
        return submit_valid(session, actor, industry_code, **kwargs).application

    return _submit


def reviews_of(session: Session, application_id: str) -> dict[str, DepartmentReview]:
    rows = session.exec(
        select(DepartmentReview)
        .where(DepartmentReview.application_id == application_id)
        .execution_options(populate_existing=True)
    )
    return {r.department_code: r for r in rows}


def count(session: Session, table: type, **where: Any) -> int:
    statement = select(func.count()).select_from(table)
    for name, value in where.items():
        statement = statement.where(getattr(table, name) == value)
    return session.exec(statement).one()


def row_counts(session: Session) -> dict[str, int]:
    """Rows per application-side table: proves a failed call wrote nothing."""
    return {
        t.__name__: count(session, t)
        for t in (Application, DepartmentReview, DecisionRecord, AuditEvent, OutboxMessage)
    }
