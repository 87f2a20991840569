"""Service functions for applications (申请): submit, amend after a supplement request, record the aggregation,
mark the license issued, and the applicant-side queries. The only way to change an application's state."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from review.aggregate import CompositeOpinion
from review.roles import Actor, Role
from review.sla import CHINA_TIME
from review.transitions import ApplicationStatus, Outcome, ReviewStatus, StateKind, check_transition
from store import audit, inputs, outbox
from store.access import OVERSEERS, require_role, require_view_application
from store.db import transaction
from store.errors import Conflict, Forbidden, InvalidRequest, NotFound
from store.locking import check_version, lock_application, update_versioned
from store.tables.application import Application, DepartmentReview
from store.tables.types import utcnow

SUBMITTERS = frozenset({Role.APPLICANT, Role.ADMIN})
_APPLICATION_FIELDS = ("reference", "status", "version", "industry_code", "holder_name", "uscc", "permit_codes")
_STALE = "申请已被修改，请刷新后重试"
FIRST_PUSH_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class ApplicationProgress:
    """An application and its department reviews, for the applicant's progress view (办理进度)."""

    application: Application
    reviews: list[DepartmentReview]


def submit(
    session: Session,
    actor: Actor,
    *,
    industry_code: str,
    holder_name: str,
    uscc: str,
    answers: Mapping[str, Any],
    materials: Mapping[str, Any],
    permit_codes: Sequence[str],
    departments: Mapping[str, Sequence[str]],
    idempotency_key: str | None = None,
) -> Application:
    """Store a validated application with one PENDING review and one push message per department.

    `departments` maps each involved department to the permits it reviews; together they must cover
    `permit_codes` exactly once. A repeated `idempotency_key` from the same submitter returns the application
    its first call created, so a retried request never creates two."""
    require_role(actor, SUBMITTERS, "提交申请")
    key = inputs.text(idempotency_key, "幂等键", required=False, max_length=200) or None
    if key is not None and (existing := _by_idempotency_key(session, key)) is not None:
        return _replayed(existing, actor)
    application = Application(
        reference=_new_reference(),
        industry_code=inputs.text(industry_code, "行业代码", max_length=200),
        holder_name=inputs.text(holder_name, "申请人名称", max_length=500),
        uscc=inputs.text(uscc, "统一社会信用代码", max_length=64),
        answers=inputs.json_object(answers, "表单内容"),
        materials=inputs.json_object(materials, "申请材料"),
        permit_codes=inputs.code_list(permit_codes, "许可事项"),
        status=ApplicationStatus.SUBMITTED,
        submitted_by=actor.user_id,
        idempotency_key=key,
    )
    assignment = _department_assignment(application.permit_codes, departments)
    try:
        with transaction(session):
            session.add(application)
            session.flush()  # a duplicate idempotency key fails here, before any more work
            reviews = [
                DepartmentReview(application_id=application.id, department_code=dept, permit_codes=codes)
                for dept, codes in assignment.items()
            ]
            session.add_all(reviews)
            after = audit.snapshot(application, *_APPLICATION_FIELDS, "answers", "materials")
            after["departments"] = assignment
            audit.record(session, actor, "application.submit", "application", application.id, None, after)
            for review in reviews:
                outbox.enqueue(
                    session,
                    outbox.DEPARTMENT_PUSH,
                    application.id,
                    department_code=review.department_code,
                    payload={"review_id": review.id, "round": review.round},
                    # the submit flow makes the first attempt; the dispatcher is the fallback if that fails or
                    # the process dies, so it does not race the flow for a fresh message
                    not_before=utcnow() + FIRST_PUSH_GRACE,
                )
                audit.record(
                    session,
                    actor,
                    "review.open",
                    "department_review",
                    review.id,
                    None,
                    audit.snapshot(review, "department_code", "permit_codes", "status", "round"),
                )
    except IntegrityError:
        # a concurrent submit with the same key won the race: return what it created
        if key is not None and (existing := _by_idempotency_key(session, key)) is not None:
            return _replayed(existing, actor)
        raise Conflict("提交冲突，请重试") from None
    return application


def amend(
    session: Session,
    actor: Actor,
    application_id: str,
    answers_patch: Mapping[str, Any] | None = None,
    materials_patch: Mapping[str, Any] | None = None,
    *,
    expected_version: int | None = None,
) -> Application:
    """The applicant supplements (补正) what the departments asked for.

    Top-level keys of the patches replace those of the stored answers/materials (a None value removes the
    key). Only the reviews that asked for supplement reopen, with round + 1; the others keep their decisions."""
    answers_patch = inputs.json_object(answers_patch or {}, "补正的表单内容")
    materials_patch = inputs.json_object(materials_patch or {}, "补正的申请材料")
    if not answers_patch and not materials_patch:
        raise InvalidRequest("补正内容为空")
    application = _get(session, application_id)
    if actor.role is not Role.APPLICANT or application.submitted_by != actor.user_id:
        raise Forbidden("只有提交该申请的申请人可以补正")
    with transaction(session):
        application = lock_application(session, application_id)
        check_version(application, expected_version, _STALE)
        check_transition(StateKind.APPLICATION, application.status, ApplicationStatus.RESUBMITTED)
        reopened = _reviews(session, application.id, ReviewStatus.SUPPLEMENT_REQUESTED)
        if not reopened:
            raise Conflict("没有要求补正的部门审查")
        before = {
            "status": application.status,
            "answers": {k: application.answers.get(k) for k in answers_patch},
            "materials": {k: application.materials.get(k) for k in materials_patch},
        }
        update_versioned(
            session,
            application,
            _STALE,
            status=ApplicationStatus.RESUBMITTED,
            answers=apply_patch(application.answers, answers_patch),
            materials=apply_patch(application.materials, materials_patch),
            # the columns the queue, the opinion and the license read follow a corrected name or USCC
            holder_name=inputs.text(
                answers_patch.get("holder_name", application.holder_name), "申请人名称", max_length=500
            ),
            uscc=inputs.text(answers_patch.get("uscc", application.uscc), "统一社会信用代码", max_length=64),
        )
        now = utcnow()
        for review in reopened:
            check_transition(StateKind.REVIEW, review.status, ReviewStatus.RESUBMITTED)
            review_before = audit.snapshot(review, "status", "round", "decision", "opinion", "requested_items")
            update_versioned(
                session,
                review,
                "部门审查已被修改，请刷新后重试",
                status=ReviewStatus.RESUBMITTED,
                round=review.round + 1,
                assignee=None,
                decision=None,
                opinion=None,
                requested_items=[],
                opened_at=now,
                claimed_at=None,
                decided_at=None,
            )
            outbox.enqueue(
                session,
                outbox.DEPARTMENT_PUSH,
                application.id,
                department_code=review.department_code,
                payload={"review_id": review.id, "round": review.round},
            )
            audit.record(
                session,
                actor,
                "review.reopen",
                "department_review",
                review.id,
                review_before,
                audit.snapshot(review, "status", "round"),
            )
        after = {"status": application.status, "answers": answers_patch, "materials": materials_patch}
        audit.record(session, actor, "application.amend", "application", application.id, before, after)
    return application


def record_aggregation(
    session: Session,
    actor: Actor,
    application_id: str,
    opinion: CompositeOpinion | Mapping[str, Any],
    outcome: Outcome | str,
) -> Application:
    """Store the composite opinion (综合审批意见) and move the application to the outcome's status.

    Idempotent: recording the same outcome again (aggregation ran twice) returns the application unchanged."""
    require_role(actor, OVERSEERS, "汇总审批意见")
    outcome = _outcome(outcome)
    opinion_json = (
        opinion.to_dict() if isinstance(opinion, CompositeOpinion) else inputs.json_object(opinion, "综合审批意见")
    )
    if opinion_json.get("outcome", outcome.value) != outcome.value:
        raise InvalidRequest("综合审批意见与审批结果不一致")
    target = outcome.application_status
    with transaction(session):
        application = lock_application(session, application_id)
        if _already(application.status, target):
            return application
        check_transition(StateKind.APPLICATION, application.status, target)
        before = audit.snapshot(application, "status", "version")
        update_versioned(session, application, _STALE, status=target, composite_opinion=opinion_json)
        after = {"status": target, "outcome": outcome, "composite_opinion": opinion_json}
        audit.record(session, actor, "application.aggregate", "application", application.id, before, after)
    return application


def mark_issued(session: Session, actor: Actor, application_id: str, *, commit: bool = True) -> Application:
    """APPROVED → ISSUED once the composite license exists. Idempotent.

    The license service passes `commit=False` to record the license and this status in one transaction."""
    require_role(actor, OVERSEERS, "发放许可证")
    with transaction(session, commit=commit):
        application = lock_application(session, application_id)
        if application.status is ApplicationStatus.ISSUED:
            return application
        check_transition(StateKind.APPLICATION, application.status, ApplicationStatus.ISSUED)
        before = audit.snapshot(application, "status", "version")
        update_versioned(session, application, _STALE, status=ApplicationStatus.ISSUED)
        audit.record(session, actor, "application.issue", "application", application.id, before, {"status": "issued"})
    return application


def get_application(session: Session, actor: Actor, application_id: str) -> Application:
    """The application if the actor may see it: its applicant, a reviewer of an involved department, an admin."""
    application = _get(session, application_id)
    require_view_application(session, actor, application)
    return application


def list_progress(session: Session, actor: Actor, application_id: str) -> ApplicationProgress:
    """The application and every department's review of it, ordered by department."""
    application = get_application(session, actor, application_id)
    return ApplicationProgress(application=application, reviews=_reviews(session, application.id))


def list_applications(
    session: Session,
    actor: Actor,
    *,
    status: ApplicationStatus | str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Application]:
    """Newest first: an applicant's own, a reviewer's department's, or all for an admin."""
    statement = select(Application)
    if actor.role is Role.APPLICANT:
        statement = statement.where(Application.submitted_by == actor.user_id)
    elif actor.role is Role.REVIEWER:
        involved = select(DepartmentReview.application_id).where(
            DepartmentReview.department_code == actor.department_code
        )
        statement = statement.where(col(Application.id).in_(involved))
    if status is not None:
        statement = statement.where(Application.status == inputs.enum_value(ApplicationStatus, status, "申请状态"))
    statement = statement.order_by(col(Application.created_at).desc(), col(Application.id))
    return list(session.exec(statement.offset(inputs.offset(offset)).limit(inputs.page_size(limit))))


# --- helpers -------------------------------------------------------------------------------------------


def _get(session: Session, application_id: str) -> Application:
    application = session.get(Application, application_id, populate_existing=True)
    if application is None:
        raise NotFound("申请不存在")
    return application


def _reviews(session: Session, application_id: str, status: ReviewStatus | None = None) -> list[DepartmentReview]:
    statement = select(DepartmentReview).where(DepartmentReview.application_id == application_id)
    if status is not None:
        statement = statement.where(DepartmentReview.status == status)
    statement = statement.order_by(col(DepartmentReview.department_code))
    return list(session.exec(statement.execution_options(populate_existing=True)))


def find_by_idempotency_key(session: Session, actor: Actor, key: str | None) -> Application | None:
    """The application a previous submit with this key created, if any (Conflict when another submitter's)."""
    if not key:
        return None
    existing = _by_idempotency_key(session, key)
    return None if existing is None else _replayed(existing, actor)


def _by_idempotency_key(session: Session, key: str) -> Application | None:
    return session.exec(select(Application).where(Application.idempotency_key == key)).first()


def _replayed(application: Application, actor: Actor) -> Application:
    if application.submitted_by != actor.user_id:
        raise Conflict("该幂等键已被其他提交使用")
    return application


def _department_assignment(permit_codes: list[str], departments: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Check that every permit is reviewed by exactly one department and no department reviews nothing."""
    if not isinstance(departments, Mapping) or not departments:
        raise InvalidRequest("至少需要一个审批部门")
    assignment = {
        inputs.text(dept, "部门代码", max_length=200): inputs.code_list(codes, f"部门 {dept} 的许可事项")
        for dept, codes in departments.items()
    }
    seen: dict[str, str] = {}
    for dept, codes in assignment.items():
        for code in codes:
            if code not in permit_codes:
                raise InvalidRequest(f"部门 {dept} 的许可事项 {code} 不在申请的许可事项中")
            if code in seen:
                raise InvalidRequest(f"许可事项 {code} 同时分配给了部门 {seen[code]} 和 {dept}")
            seen[code] = dept
    unassigned = [c for c in permit_codes if c not in seen]
    if unassigned:
        raise InvalidRequest(f"许可事项没有审批部门：{'、'.join(unassigned)}")
    return assignment


def apply_patch(stored: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """The document after an amendment's patch: top-level keys replaced, a None value removes the key."""
    merged = dict(stored)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _already(current: ApplicationStatus, target: ApplicationStatus) -> bool:
    """The outcome was recorded before (an approved application may since have been issued)."""
    return current is target or (target is ApplicationStatus.APPROVED and current is ApplicationStatus.ISSUED)


def _new_reference() -> str:
    # date + 8 random hex digits: readable on the phone, collisions negligible (and refused by the unique index)
    return f"SQ{utcnow().astimezone(CHINA_TIME):%Y%m%d}-{secrets.token_hex(4).upper()}"  # the applicant's date


def _outcome(value: Outcome | str) -> Outcome:
    return inputs.enum_value(Outcome, value, "审批结果")
