"""The actions behind the routes and the `onelicense queue` CLI: authorize, run the checks that need the catalog
(which the store does not read), then call the one service function or flow that changes the state.

    submit  → flows.application.submit_application (validate, pre-review, store, fan out)
    amend   → forms validation of the merged answers → store.applications.amend
    decide  → requested items checked against the department's permits → store.reviews.decide
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from forms.catalog import get_catalog
from forms.errors import FieldError, ValidationFailed
from forms.merge import merge_form
from forms.prereview import blocking, prereview
from forms.validation import MATERIAL_PREFIX, validate_submission
from review.roles import Actor, Role
from review.transitions import ApplicationStatus, Decision, ReviewStatus
from store import applications, reviews
from store.access import require_role
from store.db import session_scope
from store.errors import Conflict
from store.tables.application import Application, DepartmentReview
from web.api import schemas, views
from web.errors import SubmissionRefused

APPLICANTS = frozenset({Role.APPLICANT})


def submit(actor: Actor, request: schemas.SubmitRequest) -> schemas.SubmitResult:
    """一表申请: only applicants submit; the flow refuses (nothing stored) or stores and fans out."""
    from flows.application import submit_application  # on use: the CLI shares this module, Prefect loads slowly

    require_role(actor, APPLICANTS, "提交申请")
    outcome = submit_application(
        industry_code=request.industry_code,
        answers=request.answers,
        materials=request.materials,
        applicant_id=actor.user_id,
        commitment_accepted=request.commitment_accepted,
        idempotency_key=request.idempotency_key,
    )
    if not outcome["accepted"]:
        raise SubmissionRefused(outcome.get("errors", []), outcome.get("findings", []))
    with session_scope() as session:
        application = applications.get_application(session, actor, outcome["application_id"])
        replayed = bool(outcome.get("replayed"))  # an idempotent replay: the first request fanned out
    return schemas.SubmitResult(
        application_id=application.id,
        reference=application.reference,
        replayed=replayed,
        findings=outcome.get("findings", []),
        departments=[
            schemas.DepartmentBranch(
                department_code=branch["department_code"],
                department_name=views.department_name(branch["department_code"]),
                review_id=branch["review_id"],
            )
            for branch in outcome.get("departments", [])
        ],
    )


def amend(
    session: Session,
    actor: Actor,
    application_id: str,
    answers: Mapping[str, Any],
    materials: Mapping[str, Any],
    expected_version: int | None = None,
) -> Application:
    """补正: only the applicant, only while 待补正, only the requested items, and the result must still be a valid
    application for the same permits. Refused amendments raise before anything is written."""
    require_role(actor, APPLICANTS, "补正申请")
    progress = applications.list_progress(session, actor, application_id)  # 403 unless it is the actor's own
    application = progress.application
    if application.status is not ApplicationStatus.SUPPLEMENT_REQUESTED:
        # checked before validating, so the caller learns the real reason; the store checks again under its lock
        raise Conflict(f"只有「待补正」的申请可以补正（当前状态：{application.status.label}）")
    asked = [r for r in progress.reviews if r.status is ReviewStatus.SUPPLEMENT_REQUESTED]
    clean_answers, clean_materials = check_amendment(application, asked, answers, materials)
    return applications.amend(
        session, actor, application_id, clean_answers, clean_materials, expected_version=expected_version
    )


def check_amendment(
    application: Application,
    asked: list[DepartmentReview],
    answers: Mapping[str, Any],
    materials: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cleaned patches, or ValidationFailed / SubmissionRefused naming every problem."""
    catalog = get_catalog()
    requested = {key for review in asked for key in review.requested_items}
    outside = [
        *(FieldError(k, _label(k), _NOT_REQUESTED) for k in answers if k not in requested),
        *(FieldError(f"{MATERIAL_PREFIX}{c}", _label(c), _NOT_REQUESTED) for c in materials if c not in requested),
    ]
    if outside:
        raise ValidationFailed(outside)
    merged_answers = applications.apply_patch(application.answers, answers)
    merged_materials = applications.apply_patch(application.materials, materials)
    form = merge_form(application.industry_code, merged_answers, catalog)
    if [p.code for p in form.permits] != list(application.permit_codes):
        changed = [k for k in answers if (merged := form.field(k)) is not None and merged.condition_for]
        raise ValidationFailed(
            [FieldError(k, _label(k), "补正不能改变申请的许可事项，如需变更请重新申请") for k in changed or answers]
        )
    submission = validate_submission(form, merged_answers, merged_materials)
    findings = blocking(prereview(form, submission.answers))
    if findings:
        raise SubmissionRefused([], [f.as_dict() for f in findings])
    return (
        {k: submission.answers.get(k) for k in answers},
        {c: submission.materials.get(c) for c in materials},
    )


def decide(session: Session, actor: Actor, review_id: str, request: schemas.DecideRequest) -> DepartmentReview:
    """审查决定: the store checks who may decide and the state; the requested items are checked here against
    the catalog, after the actor was allowed to see the review."""
    review = reviews.get_review(session, actor, review_id)
    if request.decision is Decision.SUPPLEMENT:
        check_requested_items(review, request.requested_items)
    return reviews.decide(
        session,
        actor,
        review_id,
        request.decision,
        request.opinion,
        request.requested_items or None,
        expected_version=request.expected_version,
    )


def check_requested_items(review: DepartmentReview, items: list[str]) -> None:
    """Every requested item must be a field or material of the reviewing department's permits."""
    allowed = {item.key for item in views.requestable_items(review.permit_codes)}
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise ValidationFailed(
            [
                FieldError(
                    "requested_items",
                    "补正事项",
                    f"不属于本部门审查的许可事项的字段或材料：{'、'.join(unknown)}",
                )
            ]
        )


_NOT_REQUESTED = "不在审批部门要求补正的范围内"


def _label(key: str) -> str:
    return views.item_label(key).label
