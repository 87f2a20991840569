"""Who may see and do what: the server-side authorization checks shared by the service functions.

Applicants see their own applications; reviewers see the applications their department reviews, but of their
answers and materials only what their own department's permits need, and act on their department's reviews only;
admins and the system see everything."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists
from sqlmodel import Session, select

from onelicense.errors import Forbidden
from onelicense.forms.model import Catalog
from onelicense.review.roles import Actor, Role
from onelicense.store.tables.application import Application, DepartmentReview

OVERSEERS = frozenset({Role.ADMIN, Role.SYSTEM})
# who reads every answer and material of an application they may view: its applicant (applicants view only their
# own) and the overseers. Any other role reads only what its department's permits need.
FULL_VIEW = frozenset({Role.APPLICANT, Role.ADMIN, Role.SYSTEM})


def can_view_application(session: Session, actor: Actor, application: Application) -> bool:
    if actor.role in OVERSEERS:
        return True
    if actor.role is Role.APPLICANT:
        return application.submitted_by == actor.user_id
    if actor.role is Role.REVIEWER and actor.department_code:
        involved = select(DepartmentReview.id).where(
            DepartmentReview.application_id == application.id,
            DepartmentReview.department_code == actor.department_code,
        )
        return bool(session.exec(select(exists(involved))).one())
    return False


def require_view_application(session: Session, actor: Actor, application: Application) -> None:
    if not can_view_application(session, actor, application):
        raise Forbidden("无权查看该申请")


def require_department_reviewer(actor: Actor, review: DepartmentReview, what: str) -> None:
    """Only a reviewer of the review's own department may claim or decide it."""
    if actor.role is not Role.REVIEWER:
        raise Forbidden(f"只有部门审批人员可以{what}")
    if actor.department_code != review.department_code:
        raise Forbidden(f"只能{what}本部门（{actor.department_code or '无部门'}）的审查任务")


def require_view_review(actor: Actor, review: DepartmentReview) -> None:
    if actor.role in OVERSEERS:
        return
    if actor.role is Role.REVIEWER and actor.department_code == review.department_code:
        return
    raise Forbidden("无权查看该审查任务")


def department_items(
    catalog: Catalog, reviews: Iterable[DepartmentReview], department_code: str | None
) -> tuple[set[str], set[str]]:
    """(field keys, material codes) the permits reviewed by `department_code` need: from the catalog entries of
    the permits its reviews hold, plus the key fields stored on those reviews (so a permit that has since left the
    catalog still shows what the department was sent)."""
    fields: set[str] = set()
    materials: set[str] = set()
    for review in reviews:
        if department_code is None or review.department_code != department_code:
            continue
        for code in review.permit_codes:
            permit = catalog.permits.get(code)
            if permit is not None:
                fields.update(permit.fields)
                materials.update(m.code for m in permit.materials)
        stored = review.key_fields or {}
        fields.update(str(f["key"]) for f in stored.get("fields", []) if isinstance(f, dict) and "key" in f)
        materials.update(str(m["code"]) for m in stored.get("materials", []) if isinstance(m, dict) and "code" in m)
    return fields, materials
