"""Actors and a small application factory for the store tests; data is built through the public services."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from sqlmodel import Session, func, select

from review.roles import SYSTEM_ACTOR, Actor, Role
from services import applications
from store.tables import Application, AuditEvent, DecisionRecord, DepartmentReview, OutboxMessage

# three departments, one of them reviewing two permits
DEPARTMENTS: dict[str, list[str]] = {"FIRE": ["FIRE_CHECK"], "HEALTH": ["HYGIENE"], "MKT": ["FOOD", "LIQUOR"]}
PERMITS = ["FOOD", "LIQUOR", "FIRE_CHECK", "HYGIENE"]

APPLICANT = Actor("applicant-1", Role.APPLICANT)
OTHER_APPLICANT = Actor("applicant-2", Role.APPLICANT)
ADMIN = Actor("admin-1", Role.ADMIN)
SYSTEM = SYSTEM_ACTOR


def reviewer(department: str, n: int = 1) -> Actor:
    return Actor(f"{department.lower()}-reviewer-{n}", Role.REVIEWER, department)


SubmitFn = Callable[..., Application]


@pytest.fixture
def submit(session: Session) -> SubmitFn:
    """`submit(**overrides)` stores an application of APPLICANT for DEPARTMENTS unless told otherwise."""

    def _submit(
        actor: Actor = APPLICANT,
        *,
        departments: Mapping[str, Sequence[str]] = DEPARTMENTS,
        **overrides: Any,
    ) -> Application:
        permits = [code for codes in departments.values() for code in codes]
        fields: dict[str, Any] = {
            "industry_code": "hotel",
            "holder_name": "重庆𠀀悦来酒店有限公司",
            "uscc": "91500000MA5U7K2X3Q",
            "answers": {"floor_area": 320, "rooms": 40, "name_note": "含生僻字𪚥与表情😀"},
            "materials": {"lease": {"file": "lease.pdf"}},
            "permit_codes": permits,
            "departments": {k: list(v) for k, v in departments.items()},
        }
        fields.update(overrides)
        return applications.submit(session, actor, **fields)

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
