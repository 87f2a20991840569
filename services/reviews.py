"""Department reviews (部门审查): the reviewer queue, claim, release, decide, and the system's key fields and
suggested opinion (辅助审批). The last decision of an application hands it over to aggregation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from onelicense.clock import utcnow
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound, OneLicenseError
from onelicense.forms.errors import FieldError, ValidationFailed
from onelicense.forms.extract import department_payload
from onelicense.forms.prereview import prereview
from onelicense.forms.validation import validate_submission
from onelicense.review.aggregate import ReviewFacts
from onelicense.review.assist import suggested_opinion
from onelicense.review.auto_decision import AutoDecision, auto_decision
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role, require_role
from onelicense.review.transitions import (
    OPEN_REVIEW_STATUSES,
    OPINION_MAX_CHARS,
    ApplicationStatus,
    Decision,
    ReviewStatus,
    StateKind,
    check_transition,
)
from onelicense.services import catalog as catalogs
from onelicense.services import notifications, obligations
from onelicense.store import audit, inputs, outbox, paging
from onelicense.store.access import (
    OVERSEERS,
    require_department_reviewer,
    require_view_application,
    require_view_review,
)
from onelicense.store.db import transaction
from onelicense.store.locking import check_version, lock_application, update_versioned
from onelicense.store.tables.application import Application, DecisionRecord, DepartmentReview
from onelicense.store.tables.user import User

_STALE = "该审查任务已被他人处理，请刷新后重试"
_REVIEW_FIELDS = ("status", "version", "assignee", "decision", "opinion", "requested_items", "round")


@dataclass(frozen=True)
class QueueItem:
    """A review in a department's queue with what a reviewer needs to pick it (申请编号, 行业, 申请人)."""

    review: DepartmentReview
    application: Application


def list_queue(
    session: Session,
    actor: Actor,
    status: ReviewStatus | str | Iterable[ReviewStatus | str] | None = None,
    industry: str | None = None,
    older_than: timedelta | None = None,
    limit: int = 50,
    offset: int = 0,
    *,
    department: str | None = None,
) -> list[QueueItem]:
    """Oldest first. A reviewer sees its own department only; an admin any (or `department`).

    `status` defaults to the open ones (待受理, 待复审, 审查中); `older_than` keeps reviews opened at least that long ago."""
    statement = (
        _queue_statement(actor, status, industry, older_than, department)
        .order_by(col(DepartmentReview.opened_at), col(DepartmentReview.id))
        .offset(inputs.offset(offset))
        .limit(inputs.page_size(limit))
    )
    return [QueueItem(review=r, application=a) for r, a in session.exec(statement)]


def count_queue(
    session: Session,
    actor: Actor,
    status: ReviewStatus | str | Iterable[ReviewStatus | str] | None = None,
    industry: str | None = None,
    older_than: timedelta | None = None,
    *,
    department: str | None = None,
) -> int:
    """How many reviews `list_queue` pages through with the same filters."""
    return paging.count_rows(session, _queue_statement(actor, status, industry, older_than, department))


def _queue_statement(
    actor: Actor,
    status: ReviewStatus | str | Iterable[ReviewStatus | str] | None,
    industry: str | None,
    older_than: timedelta | None,
    department: str | None,
) -> Select[DepartmentReview, Application]:
    if actor.role is Role.REVIEWER:
        if department is not None and department != actor.department_code:
            raise Forbidden("只能查看本部门的审查队列")
        department = actor.department_code
    else:
        require_role(actor, OVERSEERS, "查看审查队列")
    statuses = _statuses(status)
    statement = (
        select(DepartmentReview, Application)
        .join(Application, col(Application.id) == col(DepartmentReview.application_id))
        .where(col(DepartmentReview.status).in_(statuses))
    )
    if department is not None:
        statement = statement.where(DepartmentReview.department_code == department)
    if industry is not None:
        statement = statement.where(Application.industry_code == industry)
    if older_than is not None:
        statement = statement.where(DepartmentReview.opened_at <= utcnow() - older_than)
    return statement


def get_review(session: Session, actor: Actor, review_id: str) -> DepartmentReview:
    review = _get(session, review_id)
    require_view_review(actor, review)
    return review


def claim(session: Session, actor: Actor, review_id: str, expected_version: int | None = None) -> DepartmentReview:
    """A reviewer takes a review from the queue (受理). Claiming one's own claimed review again is a no-op;
    a review claimed by someone else is a Conflict."""
    review = _get(session, review_id)
    require_department_reviewer(actor, review, "受理")
    if review.status is ReviewStatus.CLAIMED and review.assignee == actor.user_id:
        return review
    _check_claim(session, actor, review)
    check_version(review, expected_version, _STALE)
    with transaction(session):
        application = lock_application(session, review.application_id)
        before = audit.snapshot(review, *_REVIEW_FIELDS)
        now = utcnow()
        update_versioned(session, review, _STALE, status=ReviewStatus.CLAIMED, assignee=actor.user_id, claimed_at=now)
        audit.record(
            session,
            actor,
            "review.claim",
            "department_review",
            review.id,
            before,
            audit.snapshot(review, *_REVIEW_FIELDS),
        )
        _start_review(session, actor, application)
    return review


def release(session: Session, actor: Actor, review_id: str, expected_version: int | None = None) -> DepartmentReview:
    """Put a claimed review back in the queue: by the reviewer who claimed it, or an admin."""
    review = _get(session, review_id)
    _check_release(actor, review)
    check_version(review, expected_version, _STALE)
    with transaction(session):
        lock_application(session, review.application_id)
        before = audit.snapshot(review, *_REVIEW_FIELDS)
        update_versioned(session, review, _STALE, status=ReviewStatus.PENDING, assignee=None, claimed_at=None)
        audit.record(
            session,
            actor,
            "review.release",
            "department_review",
            review.id,
            before,
            audit.snapshot(review, *_REVIEW_FIELDS),
        )
    return review


def decide(
    session: Session,
    actor: Actor,
    review_id: str,
    decision: Decision | str,
    opinion: str | None,
    requested_items: Sequence[str] | None = None,
    expected_version: int | None = None,
) -> DepartmentReview:
    """Approve, reject or ask for supplement (with the fields/materials needed), with an opinion text.

    A reviewer may decide a pending review directly or one it claimed. When this is the application's last
    open review, the same transaction moves the application to 待汇总 and queues its aggregation."""
    decision = inputs.enum_value(Decision, decision, "审查决定")
    opinion_text = _opinion(decision, opinion)
    items = _requested_items(decision, requested_items)
    review = _get(session, review_id)
    _check_decide(session, actor, review, decision)
    _check_requestable(review, items)
    check_version(review, expected_version, _STALE)
    with transaction(session):
        _record_decision(session, actor, review, decision, opinion_text, items)
    return review


def _opinion(decision: Decision, opinion: str | None) -> str | None:
    """The opinion as stored (None when blank), by the one rule: required unless 同意, at most OPINION_MAX_CHARS."""
    try:
        return inputs.text(opinion, "审查意见", required=decision.needs_opinion, max_length=OPINION_MAX_CHARS) or None
    except InvalidRequest as exc:
        reason = exc.message.removeprefix("审查意见")
        error = {"key": "opinion", "label": "审查意见", "reason": reason, "message": exc.message}
        raise InvalidRequest(f"{exc.message}（opinion）", errors=[error]) from exc


def _record_decision(
    session: Session,
    actor: Actor,
    review: DepartmentReview,
    decision: Decision,
    opinion_text: str | None,
    items: list[str],
    *,
    action: str = "review.decide",
    evidence: dict[str, Any] | None = None,
) -> None:
    """The decision's rows, inside the caller's transaction: the review, its decision record, the audit event;
    the application to 审查中, or to 待汇总 (with its aggregation message) after its last open review."""
    application = lock_application(session, review.application_id)
    before = audit.snapshot(review, *_REVIEW_FIELDS)
    now = utcnow()
    update_versioned(
        session,
        review,
        _STALE,
        status=decision.review_status,
        decision=decision,
        opinion=opinion_text,
        requested_items=items,
        assignee=actor.user_id,
        claimed_at=review.claimed_at or now,
        decided_at=now,
    )
    session.add(
        DecisionRecord(
            review_id=review.id,
            application_id=review.application_id,
            department_code=review.department_code,
            round=review.round,
            decision=decision,
            opinion=opinion_text,
            requested_items=items,
            actor=actor.label,
            at=now,
        )
    )
    after = audit.snapshot(review, *_REVIEW_FIELDS)
    if evidence is not None:
        after["evidence"] = evidence
    audit.record(session, actor, action, "department_review", review.id, before, after)
    _start_review(session, actor, application)
    if decision is Decision.SUPPLEMENT:
        wanted = "、".join(catalogs.item_label(k) for k in items)
        notifications.notify(
            session,
            "supplement_requested",
            f"{review.id}:{review.round}",
            user_id=application.submitted_by,
            application_id=application.id,
            detail=f"{catalogs.department_name(review.department_code)}要求补正：{wanted}",
        )
    if _open_reviews(session, application.id) == 0:
        _await_aggregation(session, actor, application)


def auto_decide(session: Session, review_id: str) -> AutoDecision | None:
    """秒批: approve a pending review at once, as the system, when every permit it covers declares instant-approval
    rules for the application's industry, every rule holds for the application as stored, the submitting account's
    binding to the company was verified (services.bindings: no instant grant on a claim nobody proved), and the
    holder is not on the dishonesty list. The audit event carries each rule, the inputs it read and the industry.
    Returns the verdict (None: the review was not pending)."""
    with transaction(session):
        review = _get(session, review_id)
        if review.status is not ReviewStatus.PENDING or review.round != 1:
            return None
        application = session.get(Application, review.application_id, populate_existing=True)
        if application is None or application.kind != "new":
            return None
        catalog = catalogs.catalog()
        permits = [catalog.permits[c] for c in review.permit_codes if c in catalog.permits]
        verdict = auto_decision(permits, application.answers or {}, industry_code=application.industry_code)
        if not verdict.eligible:
            return verdict
        if not application.holder_verified:
            return AutoDecision(eligible=False, results=verdict.results)
        standing = obligations.credit_standing(session, application.uscc)
        if standing.blocked_until is not None:
            return AutoDecision(eligible=False, results=verdict.results)
        evidence = {
            "rules": [
                {"permit": r.permit_code, "rule": r.rule, "passed": r.passed, "inputs": r.inputs}
                for r in verdict.results
            ],
            "credit": standing.label,
            "industry": application.industry_code,
            "holder_verified": True,
        }
        _record_decision(session, SYSTEM_ACTOR, review, Decision.APPROVE, verdict.opinion(), [],
                         action="review.auto_decide", evidence=evidence)  # fmt: skip
    return verdict


def prepare_review(
    session: Session, application_id: str, department_code: str, *, actor: Actor = SYSTEM_ACTOR
) -> DepartmentReview:
    """Extract the department's key fields and run its automatic checks into a suggested opinion (辅助审批), from
    the application as stored now (so a re-review after an amendment sees the corrected data), and attach both
    to the department's review."""
    require_role(actor, OVERSEERS, "设置辅助审批意见")
    review = session.exec(
        select(DepartmentReview).where(
            DepartmentReview.application_id == application_id, DepartmentReview.department_code == department_code
        )
    ).first()
    application = session.get(Application, application_id, populate_existing=True)
    if review is None or application is None:
        raise NotFound("审查任务不存在")
    form = catalogs.merged_form(application.industry_code, application.answers)
    pending = validate_submission(form, application.answers, application.materials).pending_materials
    payload = department_payload(form, application.answers, application.materials, department_code)
    suggestion = suggested_opinion(form, department_code, prereview(form, application.answers), pending)
    return set_suggestion(session, review.id, suggestion, payload, actor=actor)


def set_suggestion(
    session: Session,
    review_id: str,
    suggested_opinion: str | None,
    key_fields: dict[str, Any],
    *,
    actor: Actor = SYSTEM_ACTOR,
) -> DepartmentReview:
    """Attach the system's suggested opinion (辅助审批) and the department's key fields to a review.

    Advisory data written by the department task while humans may already be working on the review: it does
    not bump the version, so it never makes a reviewer's decision fail with a Conflict."""
    require_role(actor, OVERSEERS, "设置辅助审批意见")
    suggestion = inputs.text(suggested_opinion, "辅助审批意见", required=False) or None
    fields = inputs.json_object(key_fields, "关键字段")
    with transaction(session):
        review = _get(session, review_id)
        before = audit.snapshot(review, "suggested_opinion", "key_fields")
        session.execute(
            update(DepartmentReview)
            .where(col(DepartmentReview.id) == review_id)
            .values(suggested_opinion=suggestion, key_fields=fields)
            .execution_options(synchronize_session=False)
        )
        after = {"suggested_opinion": suggestion, "key_fields": fields}
        audit.record(session, actor, "review.suggest", "department_review", review_id, before, after)
    session.refresh(review)
    return review


def decision_history(session: Session, actor: Actor, review_id: str) -> list[DecisionRecord]:
    """Every decision taken on the review, in order (one per round)."""
    get_review(session, actor, review_id)
    statement = (
        select(DecisionRecord)
        .where(DecisionRecord.review_id == review_id)
        .order_by(col(DecisionRecord.at), col(DecisionRecord.round))
    )
    return list(session.exec(statement))


def review_facts(session: Session, actor: Actor, application_id: str) -> list[ReviewFacts]:
    """Each department's review as plain facts for `review.aggregate.composite_opinion`."""
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound("申请不存在")
    require_view_application(session, actor, application)
    statement = (
        select(DepartmentReview)
        .where(DepartmentReview.application_id == application_id)
        .order_by(col(DepartmentReview.department_code))
    )
    return [
        ReviewFacts(
            department_code=r.department_code,
            permit_codes=tuple(r.permit_codes),
            decision=r.decision if r.status not in OPEN_REVIEW_STATUSES else None,
            opinion=r.opinion,
            reviewer=r.assignee,
            decided_at=r.decided_at,
            requested_items=tuple(r.requested_items),
            round=r.round,
        )
        for r in session.exec(statement.execution_options(populate_existing=True))
    ]


# --- helpers -------------------------------------------------------------------------------------------


def _get(session: Session, review_id: str) -> DepartmentReview:
    review = session.get(DepartmentReview, review_id, populate_existing=True)
    if review is None:
        raise NotFound("审查任务不存在")
    return review


# --- what an actor may do with a review now: the commands' own checks, which the desk and the API render -------


@dataclass(frozen=True)
class ReviewActions:
    claim: bool  # 受理
    release: bool  # 退回队列
    decide: bool  # 作出审查决定

    @property
    def names(self) -> list[str]:
        return [name for name in ("claim", "release", "decide") if getattr(self, name)]


def allowed_actions(session: Session, actor: Actor, review: DepartmentReview) -> ReviewActions:
    """What `actor` may do with `review` now, decided by the very checks `claim`, `release` and `decide` make."""

    def passes(check: Callable[[], None]) -> bool:
        try:
            check()
        except OneLicenseError:
            return False
        return True

    mine = review.status is ReviewStatus.CLAIMED and review.assignee == actor.user_id
    return ReviewActions(
        claim=not mine and passes(lambda: _check_claim(session, actor, review)),
        release=passes(lambda: _check_release(actor, review)),
        decide=passes(lambda: _check_decide(session, actor, review, Decision.APPROVE)),
    )


def _check_claim(session: Session, actor: Actor, review: DepartmentReview) -> None:
    require_department_reviewer(actor, review, "受理")
    _refuse_if_taken(session, review, actor)
    check_transition(StateKind.REVIEW, review.status, ReviewStatus.CLAIMED)


def _check_release(actor: Actor, review: DepartmentReview) -> None:
    """By the reviewer who claimed it, or an admin."""
    if actor.role is not Role.ADMIN:
        require_department_reviewer(actor, review, "释放")
        if review.status is ReviewStatus.CLAIMED and review.assignee != actor.user_id:
            raise Forbidden("只能释放自己受理的审查任务")
    check_transition(StateKind.REVIEW, review.status, ReviewStatus.PENDING)


def _check_decide(session: Session, actor: Actor, review: DepartmentReview, decision: Decision) -> None:
    """A reviewer of the department decides a pending review directly or one it claimed itself."""
    require_department_reviewer(actor, review, "审查")
    _refuse_if_taken(session, review, actor)
    check_transition(StateKind.REVIEW, review.status, decision.review_status)


def _refuse_if_taken(session: Session, review: DepartmentReview, actor: Actor) -> None:
    if review.status is ReviewStatus.CLAIMED and review.assignee != actor.user_id:
        raise Conflict(f"该审查任务已由{assignee_name(session, review)}受理，已被他人处理")


def assignee_name(session: Session, review: DepartmentReview) -> str:
    """Who holds a review, as colleagues read it: the reviewer's name (never the internal user id)."""
    user = session.get(User, review.assignee) if review.assignee else None
    department = catalogs.department_name(review.department_code)
    return f"{department}审批人员「{user.name}」" if user is not None else f"{department}其他审批人员"


def requestable_items(permit_codes: Sequence[str]) -> list[tuple[str, str, str]]:
    """(key, label, kind) of the fields and materials of these permits: what their department may ask the
    applicant to supplement (补正)."""
    catalog = catalogs.catalog()
    permits = [catalog.permits[c] for c in permit_codes if c in catalog.permits]
    fields = dict.fromkeys(key for p in permits for key in p.fields)
    materials = dict.fromkeys(m.code for p in permits for m in p.materials)
    return [
        *((k, catalog.fields[k].label, "field") for k in fields),
        *((c, catalog.materials[c].name, "material") for c in materials),
    ]


def _check_requestable(review: DepartmentReview, items: Sequence[str]) -> None:
    """Every requested item must be a field or material of the reviewing department's permits."""
    allowed = {key for key, _, _ in requestable_items(review.permit_codes)}
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


def _start_review(session: Session, actor: Actor, application: Application) -> None:
    """The first claim or decision of a round moves the application from 已提交 / 已补正 to 审查中."""
    if application.status not in (ApplicationStatus.SUBMITTED, ApplicationStatus.RESUBMITTED):
        return
    check_transition(StateKind.APPLICATION, application.status, ApplicationStatus.IN_REVIEW)
    before = audit.snapshot(application, "status", "version")
    update_versioned(session, application, "申请已被修改，请刷新后重试", status=ApplicationStatus.IN_REVIEW)
    after = audit.snapshot(application, "status", "version")
    audit.record(session, actor, "application.start_review", "application", application.id, before, after)


def _await_aggregation(session: Session, actor: Actor, application: Application) -> None:
    """Every department has decided: 审查中 → 待汇总, and a durable message asks for the aggregation."""
    check_transition(StateKind.APPLICATION, application.status, ApplicationStatus.AWAITING_AGGREGATION)
    before = audit.snapshot(application, "status", "version")
    update_versioned(session, application, "申请已被修改，请刷新后重试", status=ApplicationStatus.AWAITING_AGGREGATION)
    outbox.enqueue(session, outbox.AGGREGATE, application.id, payload={"version": application.version})
    after = audit.snapshot(application, "status", "version")
    audit.record(session, actor, "application.await_aggregation", "application", application.id, before, after)


def _open_reviews(session: Session, application_id: str) -> int:
    statement = (
        select(func.count())
        .select_from(DepartmentReview)
        .where(
            DepartmentReview.application_id == application_id,
            col(DepartmentReview.status).in_(OPEN_REVIEW_STATUSES),
        )
    )
    return session.exec(statement).one()


def _statuses(status: ReviewStatus | str | Iterable[ReviewStatus | str] | None) -> list[ReviewStatus]:
    if status is None:
        return sorted(OPEN_REVIEW_STATUSES)
    if isinstance(status, str):
        return [inputs.enum_value(ReviewStatus, status, "审查状态")]
    return [inputs.enum_value(ReviewStatus, s, "审查状态") for s in status]


def _requested_items(decision: Decision, items: Sequence[str] | None) -> list[str]:
    if decision is Decision.SUPPLEMENT:
        if not items:
            raise InvalidRequest("要求补正时必须列出需补正的字段或材料")
        return inputs.code_list(items, "补正事项")
    if items:
        raise InvalidRequest("只有要求补正时才能列出补正事项")
    return []
