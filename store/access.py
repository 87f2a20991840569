"""Who may see and do what: the server-side authorization checks shared by the service functions.

Applicants see their own applications; reviewers see the applications their department reviews and act on
their department's reviews only; admins and the system see everything."""

from __future__ import annotations

from sqlalchemy import exists
from sqlmodel import Session, select

from review.roles import Actor, Role
from store.errors import Forbidden
from store.tables.application import Application, DepartmentReview

OVERSEERS = frozenset({Role.ADMIN, Role.SYSTEM})


def require_role(actor: Actor, roles: frozenset[Role] | set[Role], what: str) -> None:
    """Forbidden unless the actor has one of `roles`; `what` names the action in the message."""
    if actor.role not in roles:
        raise Forbidden(f"当前角色（{actor.role.value}）无权{what}")


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
