"""Applications (申请): submit one merged form, amend what a department asked for, record the composite opinion,
mark the license issued, and read them as the actor may. The only way to change an application's state.

    submit  validate against the merged form → pre-review (预审) → store application, one review and one push
            message per department, audit — one transaction; the fan-out runs later from the outbox
    amend   only the applicant, only while 待补正, only the requested items; the merged result must still be a
            valid application for the same permits → reopen the reviews that asked
"""

from __future__ import annotations

import hashlib
import json
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from onelicense.clock import CHINA_TIME, utcnow
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.forms.errors import FieldError, SubmissionRefused, UnknownIndustry, ValidationFailed
from onelicense.forms.merge import MergedForm
from onelicense.forms.prereview import Finding, blocking, prereview
from onelicense.forms.validation import MATERIAL_PREFIX, parse_conditions, validate_submission
from onelicense.review.aggregate import CompositeOpinion
from onelicense.review.roles import Actor, Role, require_role
from onelicense.review.transitions import ApplicationStatus, Outcome, ReviewStatus, StateKind, check_transition
from onelicense.services import bindings, notifications, obligations, uploads
from onelicense.services import catalog as catalogs
from onelicense.services.certificate import certificate_problems
from onelicense.store import audit, inputs, license_queries, outbox, paging
from onelicense.store.access import FULL_VIEW, OVERSEERS, department_items, require_view_application
from onelicense.store.db import transaction
from onelicense.store.license_queries import LicenseNow
from onelicense.store.locking import check_version, lock_application, update_versioned
from onelicense.store.tables.application import Application, DepartmentReview
from onelicense.store.tables.license import License

APPLICANTS = frozenset({Role.APPLICANT})
_APPLICATION_FIELDS = ("reference", "status", "version", "industry_code", "holder_name", "uscc", "permit_codes")
_STALE = "申请已被修改，请刷新后重试"
_NOT_REQUESTED = "不在审批部门要求补正的范围内"


@dataclass(frozen=True)
class Submitted:
    """A stored application with its department reviews; `replayed` when an idempotency key found the first one."""

    application: Application
    reviews: list[DepartmentReview]
    findings: list[Finding]
    replayed: bool = False


@dataclass(frozen=True)
class ApplicationProgress:
    """An application and its department reviews (办理进度), as the actor may read it: a reviewer's copy holds only
    the answers and materials its own department's permits need."""

    application: Application
    reviews: list[DepartmentReview]
    license: License | None = None
    license_now: LicenseNow | None = None  # the license's live status, each permit's effective status with it


# ------------------------------------------------------------------------------------------------ submitting


def submit(
    session: Session,
    actor: Actor,
    *,
    industry_code: str,
    answers: Mapping[str, Any] | Any,
    materials: Mapping[str, Any] | Any = None,
    commitment_accepted: bool = True,
    idempotency_key: str | None = None,
    commitment_signature: Mapping[str, Any] | None = None,
) -> Submitted:
    """一表申请: validate and pre-review the merged form, then store the application with one PENDING review and one
    push message per department, in one transaction. Refusals (ValidationFailed, SubmissionRefused) store nothing.

    An applicant submits only for the USCCs its account declares, and one holder has one active application or
    license per industry and premises (a second one is refused with the first one's reference). A repeated
    `idempotency_key` from the same applicant with the same content returns what its first call created."""
    require_role(actor, APPLICANTS, "提交申请")
    key = inputs.text(idempotency_key, "幂等键", required=False, max_length=200) or None
    digest = request_digest(industry_code, answers, materials or {}, commitment_accepted)
    if key is not None and (existing := _by_idempotency_key(session, key)) is not None:
        return _replay(session, existing, actor, digest)
    form = form_for(industry_code, answers)
    submission = validate_submission(form, answers, materials or {}, commitment_accepted=commitment_accepted)
    findings = prereview(form, submission.answers)
    if refused := blocking(findings):
        raise SubmissionRefused([f.as_dict() for f in refused])
    if listed := obligations.commitment_block(
        session, str(submission.answers.get("uscc", "")), [p.code for p in form.permits], submission.materials
    ):
        raise SubmissionRefused(listed)
    if problems := certificate_problems(submission.answers):
        raise ValidationFailed(problems)
    uploads.check_owned(session, actor, submission.materials)
    _require_declared(actor, str(submission.answers.get("uscc", "")))
    facts = bindings.holder_facts(session, actor, str(submission.answers.get("uscc", "")))
    answers = registered_facts(submission.answers, facts)
    # only a verified binding takes the premises: an unverified application never blocks the real holder's
    open_key = open_key_of(answers, form.industry.code) if facts.verified else None
    if open_key is not None and (holder := _open_holder(session, open_key)) is not None:
        if key is not None and holder.idempotency_key == key:  # our own retry won the race since we looked
            return _replay(session, holder, actor, digest)
        raise _duplicate(holder)
    application = Application(
        reference=new_reference(),
        industry_code=form.industry.code,
        holder_name=inputs.text(answers.get("holder_name"), "申请人名称", max_length=500),
        uscc=inputs.text(answers.get("uscc"), "统一社会信用代码", max_length=64),
        answers=inputs.json_object(answers, "表单内容"),
        materials=inputs.json_object(submission.materials, "申请材料"),
        permit_codes=[p.code for p in form.permits],
        status=ApplicationStatus.SUBMITTED,
        submitted_by=actor.user_id,
        idempotency_key=key,
        request_digest=digest,
        open_key=open_key,
        holder_verified=facts.verified,
        commitment_signature=dict(commitment_signature) if commitment_signature is not None else None,
    )
    try:
        with transaction(session):
            session.add(application)
            session.flush()  # a duplicate idempotency key fails here, before any more work
            reviews = open_reviews(session, actor, application, form)
            after = audit.snapshot(application, *_APPLICATION_FIELDS, "answers", "materials")
            after["departments"] = {r.department_code: r.permit_codes for r in reviews}
            audit.record(session, actor, "application.submit", "application", application.id, None, after)
            notifications.notify(
                session, "accepted", application.id, user_id=actor.user_id, application_id=application.id
            )
    except IntegrityError:
        # a concurrent submit won the race: with the same key, answer what it created; for the same premises,
        # refuse as if it had come first
        if key is not None and (existing := _by_idempotency_key(session, key)) is not None:
            return _replay(session, existing, actor, digest)
        if open_key is not None and (holder := _open_holder(session, open_key)) is not None:
            raise _duplicate(holder) from None
        raise Conflict("提交冲突，请重试") from None
    return Submitted(application, reviews, findings)


def request_digest(industry_code: object, answers: object, materials: object, commitment_accepted: object) -> str:
    """The fingerprint of a submission's content, to recognise a retry (same) from a reused key (different)."""
    document = {
        "industry_code": industry_code,
        "answers": answers,
        "materials": materials,
        "commitment": commitment_accepted,
    }
    canonical = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def registered_facts(answers: Mapping[str, Any], facts: bindings.HolderFacts) -> dict[str, Any]:
    """The answers with the registry's name and legal representative where the form asks for them: what the
    registry says, never what was typed (the audit keeps both)."""
    result = dict(answers)
    if facts.name is not None:
        for key, value in (("holder_name", facts.name), ("legal_representative", facts.legal_representative)):
            if key in result and value:
                result[key] = value
    return result


def _require_declared(actor: Actor, uscc: str) -> None:
    if actor.usccs is not None and uscc not in actor.usccs:
        declared = "、".join(sorted(actor.usccs)) or "无"
        raise Forbidden(
            f"当前账号只能代表已登记的经营主体办理（已登记的统一社会信用代码：{declared}），不能为 {uscc} 提交申请"
        )


def open_key_of(answers: Mapping[str, Any], industry_code: str) -> str:
    """USCC, industry and the premises (the business address, compared without spaces, case or width)."""
    address = unicodedata.normalize("NFKC", str(answers.get("business_address") or ""))
    return "|".join((str(answers.get("uscc", "")), industry_code, "".join(address.split()).casefold()))[:700]


def _open_holder(session: Session, open_key: str) -> Application | None:
    """The active application or license that holds these premises, if any."""
    return session.exec(select(Application).where(Application.open_key == open_key)).first()


def _duplicate(holder: Application) -> Conflict:
    what = "有效的行业综合许可证" if holder.status is ApplicationStatus.ISSUED else "办理中的申请"
    return Conflict(
        f"该经营主体在同一经营场所已有本行业{what}（申请编号 {holder.reference}）：请勿重复申请；"
        "如为另一经营场所，请填写该场所的地址"
    )


def form_for(industry_code: str, answers: Mapping[str, Any] | Any) -> MergedForm:
    """The form the applicant filled; an unknown industry or one whose answers select no permit is a problem of
    the submitted `industry_code` (422 naming it), not a missing page."""
    catalog = catalogs.catalog()
    industry = catalog.industries.get(industry_code)
    if industry is None:
        raise ValidationFailed([FieldError("industry_code", "行业", UnknownIndustry(industry_code).message)])
    conditions, problems = parse_conditions(industry, answers if isinstance(answers, Mapping) else {}, catalog)
    if problems:
        raise ValidationFailed(problems)
    form = catalogs.merged_form(industry_code, conditions)
    if not form.permits:
        reason = "所回答的经营范围不涉及任何许可事项，无需办理行业综合许可"
        raise ValidationFailed([FieldError("industry_code", "行业", reason)])
    return form


def open_reviews(session: Session, actor: Actor, application: Application, form: MergedForm) -> list[DepartmentReview]:
    """One review per department for the permits it reviews, each with its push message (the fan-out's work)."""
    now = utcnow()
    working = catalogs.calendar(session)
    reviews = []
    for department in form.departments:
        permit_codes = [p.code for p in form.permits_of(department.code)]
        reviews.append(
            DepartmentReview(
                application_id=application.id,
                department_code=department.code,
                permit_codes=permit_codes,
                opened_at=now,
                **catalogs.review_date_columns(permit_codes, now, working),
            )
        )
    session.add_all(reviews)
    for review in reviews:
        _send_to_department(
            session,
            actor,
            review,
            "review.open",
            None,
            audit.snapshot(review, "department_code", "permit_codes", "status", "round"),
        )
    return sorted(reviews, key=lambda r: r.department_code)


def _send_to_department(
    session: Session,
    actor: Actor,
    review: DepartmentReview,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    """A review (re)opened: its push to the department's system (outbox, same transaction) and its audit event."""
    outbox.enqueue(
        session,
        outbox.DEPARTMENT_PUSH,
        review.application_id,
        department_code=review.department_code,
        payload={"review_id": review.id, "round": review.round},
    )
    audit.record(session, actor, action, "department_review", review.id, before, after)


def _replay(session: Session, application: Application, actor: Actor, digest: str) -> Submitted:
    if application.submitted_by != actor.user_id:
        raise Conflict("该幂等键已被其他提交使用")
    if application.request_digest not in (None, digest):
        raise Conflict(
            f"该幂等键已用于另一份内容不同的申请（申请编号 {application.reference}）：重试请原样提交，新申请请换用新的幂等键"
        )
    form = catalogs.merged_form(application.industry_code, application.answers)
    return Submitted(application, _reviews(session, application.id), prereview(form, application.answers), True)


# -------------------------------------------------------------------------------------------------- amending


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

    Top-level keys of the patches replace those of the stored answers/materials (a None value removes the key).
    Only the requested items may change, and the result must still validate for the same permits; refused
    amendments write nothing. Only the reviews that asked reopen, with round + 1; the others keep their decisions."""
    application = _get(session, application_id)
    if actor.role is not Role.APPLICANT or application.submitted_by != actor.user_id:
        raise Forbidden("只有提交该申请的申请人可以补正")
    answers_patch = inputs.json_object(answers_patch or {}, "补正的表单内容")
    materials_patch = inputs.json_object(materials_patch or {}, "补正的申请材料")
    if not answers_patch and not materials_patch:
        raise InvalidRequest("补正内容为空")
    if application.status is not ApplicationStatus.SUPPLEMENT_REQUESTED:
        # checked before validating, so the caller learns the real reason; checked again under the lock
        raise Conflict(f"只有「待补正」的申请可以补正（当前状态：{application.status.label}）")
    asked = _reviews(session, application.id, ReviewStatus.SUPPLEMENT_REQUESTED)
    answers_patch, materials_patch = _check_amendment(application, asked, answers_patch, materials_patch)
    uploads.check_owned(session, actor, materials_patch)
    amended = apply_patch(application.answers, answers_patch)
    if "uscc" in answers_patch:
        _require_declared(actor, str(amended.get("uscc", "")))
    facts = bindings.holder_facts(session, actor, str(amended.get("uscc", "")))
    registered = registered_facts(amended, facts)
    answers_patch = {**answers_patch, **{k: registered[k] for k in answers_patch if k in registered}}
    amended = registered
    open_key = open_key_of(amended, application.industry_code) if facts.verified else None
    if open_key is not None and (holder := _open_holder(session, open_key)) is not None and holder.id != application.id:
        raise _duplicate(holder)
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
            open_key=open_key,
            holder_verified=facts.verified,
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
                **catalogs.review_date_columns(review.permit_codes, now, catalogs.calendar(session)),
            )
            _send_to_department(
                session, actor, review, "review.reopen", review_before, audit.snapshot(review, "status", "round")
            )
        after = {"status": application.status, "answers": answers_patch, "materials": materials_patch}
        audit.record(session, actor, "application.amend", "application", application.id, before, after)
    return application


def _check_amendment(
    application: Application,
    asked: list[DepartmentReview],
    answers: Mapping[str, Any],
    materials: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cleaned patches, or ValidationFailed / SubmissionRefused naming every problem."""
    requested = {key for review in asked for key in review.requested_items}
    outside = [
        *(FieldError(k, catalogs.item_label(k), _NOT_REQUESTED) for k in answers if k not in requested),
        *(
            FieldError(f"{MATERIAL_PREFIX}{c}", catalogs.item_label(c), _NOT_REQUESTED)
            for c in materials
            if c not in requested
        ),
    ]
    if outside:
        raise ValidationFailed(outside)
    merged_answers = apply_patch(application.answers, answers)
    merged_materials = apply_patch(application.materials, materials)
    form = catalogs.merged_form(application.industry_code, merged_answers)
    if [p.code for p in form.permits] != list(application.permit_codes):
        changed = [k for k in answers if (merged := form.field(k)) is not None and merged.condition_for]
        raise ValidationFailed(
            [
                FieldError(k, catalogs.item_label(k), "补正不能改变申请的许可事项，如需变更请重新申请")
                for k in changed or answers
            ]
        )
    submission = validate_submission(form, merged_answers, merged_materials)
    if refused := blocking(prereview(form, submission.answers)):
        raise SubmissionRefused([f.as_dict() for f in refused])
    if problems := [p for p in certificate_problems(submission.answers) if p.key in answers]:
        raise ValidationFailed(problems)
    return (
        {k: submission.answers.get(k) for k in answers},
        {c: submission.materials.get(c) for c in materials},
    )


def apply_patch(stored: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """The document after an amendment's patch: top-level keys replaced, a None value removes the key."""
    merged = dict(stored)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# ------------------------------------------------------------------------------------------- deciding, issuing


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
    outcome = inputs.enum_value(Outcome, outcome, "审批结果")
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
        # a refused application no longer holds its premises: the holder may apply again
        still_open = application.open_key if target is not ApplicationStatus.REJECTED else None
        update_versioned(
            session, application, _STALE, status=target, composite_opinion=opinion_json, open_key=still_open
        )
        after = {"status": target, "outcome": outcome, "composite_opinion": opinion_json}
        audit.record(session, actor, "application.aggregate", "application", application.id, before, after)
        notifications.notify(
            session,
            "decided",
            f"{application.id}:{outcome.value}",
            user_id=application.submitted_by,
            application_id=application.id,
            detail=target.label,
        )
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


# ---------------------------------------------------------------------------------------------------- reading


def get_application(session: Session, actor: Actor, application_id: str) -> Application:
    """The application if the actor may see it (its applicant, a reviewer of an involved department, an admin),
    narrowed to what the actor may read (see `ApplicationProgress`)."""
    application = _get(session, application_id)
    require_view_application(session, actor, application)
    if actor.role not in FULL_VIEW:
        _narrow(session, actor, application, _reviews(session, application.id))
    return application


def list_progress(session: Session, actor: Actor, application_id: str) -> ApplicationProgress:
    """The application and every department's review of it, ordered by department."""
    application = get_application(session, actor, application_id)
    license_ = session.exec(select(License).where(License.application_id == application.id)).first()
    now = license_queries.current_status(session, license_.number) if license_ is not None else None
    return ApplicationProgress(application, _reviews(session, application.id), license_, now)


def list_applications(
    session: Session,
    actor: Actor,
    *,
    status: ApplicationStatus | str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Application]:
    """Newest first: an applicant's own, a reviewer's department's, or all for an admin (answers not included
    for reviewers: see `get_application`)."""
    statement = _visible_applications(actor, status)
    statement = statement.order_by(col(Application.created_at).desc(), col(Application.id))
    rows = list(session.exec(statement.offset(inputs.offset(offset)).limit(inputs.page_size(limit))))
    if actor.role not in FULL_VIEW:
        for application in rows:
            _narrow(session, actor, application, _reviews(session, application.id))
    return rows


def count_applications(session: Session, actor: Actor, *, status: ApplicationStatus | str | None = None) -> int:
    """How many applications `list_applications` pages through for this actor and status."""
    return paging.count_rows(session, _visible_applications(actor, status))


def _visible_applications(actor: Actor, status: ApplicationStatus | str | None) -> SelectOfScalar[Application]:
    statement = select(Application)
    if actor.role is Role.APPLICANT:
        statement = statement.where(Application.submitted_by == actor.user_id)
    elif actor.role is Role.REVIEWER:
        involved = select(DepartmentReview.application_id).where(
            DepartmentReview.department_code == actor.department_code
        )
        statement = statement.where(col(Application.id).in_(involved))
    else:
        require_role(actor, OVERSEERS, "查看申请列表")
    if status is not None:
        statement = statement.where(Application.status == inputs.enum_value(ApplicationStatus, status, "申请状态"))
    return statement


def find_by_idempotency_key(session: Session, actor: Actor, key: str | None) -> Application | None:
    """The application a previous submit with this key created, if any (Conflict when another submitter's)."""
    if not key:
        return None
    existing = _by_idempotency_key(session, key)
    if existing is not None and existing.submitted_by != actor.user_id:
        raise Conflict("该幂等键已被其他提交使用")
    return existing


# ---------------------------------------------------------------------------------------------------- helpers


def _narrow(session: Session, actor: Actor, application: Application, reviews: Sequence[DepartmentReview]) -> None:
    """Detach the row from the session and keep only the answers and materials of the actor's department, so no
    page or endpoint built on it can show another department's fields (the stored row is untouched)."""
    fields, materials = department_items(catalogs.catalog(), reviews, actor.department_code)
    if application in session:
        session.expunge(application)
    set_committed_value(application, "answers", {k: v for k, v in application.answers.items() if k in fields})
    set_committed_value(application, "materials", {k: v for k, v in application.materials.items() if k in materials})


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


def _by_idempotency_key(session: Session, key: str) -> Application | None:
    return session.exec(select(Application).where(Application.idempotency_key == key)).first()


def _already(current: ApplicationStatus, target: ApplicationStatus) -> bool:
    """The outcome was recorded before (an approved application may since have been issued)."""
    return current is target or (target is ApplicationStatus.APPROVED and current is ApplicationStatus.ISSUED)


def new_reference() -> str:
    # date + 8 random hex digits: readable on the phone, collisions negligible (and refused by the unique index)
    return f"SQ{utcnow().astimezone(CHINA_TIME):%Y%m%d}-{secrets.token_hex(4).upper()}"  # the applicant's date
