"""好差评: after the decision the applicant rates each department that reviewed its application, and the whole
service, once each. A poor rating (差评, score ≤ 2) of a department opens a follow-up for that department: a reply
with the 整改 taken, due `rating_reply_days` working days later. The reply is shown to the applicant.

The department head answers: in this system that is any reviewer of the department (there is no separate head
role), and the reply records which reviewer gave it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from onelicense import clock
from onelicense.clock import utcnow
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.review.roles import Actor, Role, require_role
from onelicense.review.sla import WorkingCalendar, nth_working_day
from onelicense.review.transitions import ApplicationStatus
from onelicense.services import catalog as catalogs
from onelicense.settings import get_settings
from onelicense.store import audit, inputs
from onelicense.store.access import require_view_application
from onelicense.store.db import transaction
from onelicense.store.tables.application import Application, DepartmentReview
from onelicense.store.tables.portal import Rating

# the application has its final decision (综合审批意见 with an outcome that ends it)
RATEABLE_STATUSES = frozenset({ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.ISSUED})
SCORES = {1: "非常不满意", 2: "不满意", 3: "基本满意", 4: "满意", 5: "非常满意"}
POOR_SCORE = 2
OVERALL = ""  # the department code of a rating of the whole service
COMMENT_MAX = 500
REPLY_MAX = 2000
_FIELDS = ("application_id", "department_code", "score", "comment", "reply_due", "reply", "replied_by", "replied_at")


@dataclass(frozen=True)
class FollowUp:
    """A poor rating a department has to answer (差评整改回复), with the application it is about."""

    rating: Rating
    reference: str
    overdue: bool

    @property
    def open(self) -> bool:
        return self.rating.reply is None


def may_rate(application: Application) -> bool:
    """Whether the application has its final decision, so its applicant may rate it (the portal offers the forms
    by it)."""
    return application.status in RATEABLE_STATUSES


def is_poor(score: int) -> bool:
    return score <= POOR_SCORE


def rate(
    session: Session,
    actor: Actor,
    application_id: str,
    department_code: str | None,
    score: int | str,
    comment: str | None = None,
) -> Rating:
    """The applicant rates one department that reviewed its application ("" or None: the whole service), once,
    after the decision. A 差评 of a department sets the date its reply is due on the working-day calendar."""
    require_role(actor, frozenset({Role.APPLICANT}), "评价审批服务")
    department = inputs.text(department_code, "评价对象", required=False, max_length=50)
    value = _score(score)
    text = inputs.text(comment, "评价内容", required=False, max_length=COMMENT_MAX) or None
    application = session.get(Application, inputs.text(application_id, "申请 ID", max_length=64))
    if application is None or application.submitted_by != actor.user_id:
        # the same answer for another applicant's application and a missing one: ids are not disclosed
        raise NotFound("申请不存在")
    if application.status not in RATEABLE_STATUSES:
        raise Conflict(f"申请尚未办结（当前状态：{application.status.label}），办结后才能评价")
    if department != OVERALL and department not in reviewed_departments(session, application.id):
        raise InvalidRequest(f"部门 {department} 未参与审查该申请，不能评价")
    if _find(session, application.id, department) is not None:
        raise Conflict(f"已评价过{_target(department)}，每项只能评价一次")
    rating = Rating(
        application_id=application.id,
        department_code=department,
        score=value,
        comment=text,
        rated_by=actor.user_id,
        reply_due=reply_due_date(clock.today(), catalogs.calendar(session)) if is_poor(value) and department != OVERALL else None,
    )
    try:
        with transaction(session):
            session.add(rating)
            session.flush()  # a concurrent second rating fails here, on the unique constraint
            audit.record(session, actor, "rating.create", "rating", rating.id, None, audit.snapshot(rating, *_FIELDS))
    except IntegrityError:
        raise Conflict(f"已评价过{_target(department)}，每项只能评价一次") from None
    return rating


def reply(session: Session, actor: Actor, rating_id: str, text: str | None) -> Rating:
    """A reviewer of the rated department answers a 差评 with the 整改 taken; once."""
    if actor.role is not Role.REVIEWER or not actor.department_code:
        raise Forbidden("只有被评价部门的审批人员可以回复差评")
    answer = inputs.text(text, "整改回复", max_length=REPLY_MAX)
    with transaction(session):
        rating = session.exec(select(Rating).where(Rating.id == rating_id).with_for_update()).first()
        if rating is None or rating.department_code != actor.department_code:
            raise NotFound("该评价不存在或不属于本部门")
        if rating.reply_due is None:
            raise InvalidRequest("只有差评需要整改回复")
        if rating.reply is not None:
            raise Conflict("该差评已回复")
        before = audit.snapshot(rating, *_FIELDS)
        rating.reply, rating.replied_by, rating.replied_at = answer, actor.user_id, utcnow()
        session.add(rating)
        session.flush()
        audit.record(session, actor, "rating.reply", "rating", rating.id, before, audit.snapshot(rating, *_FIELDS))
    return rating


def ratings_of_application(session: Session, actor: Actor, application_id: str) -> list[Rating]:
    """The ratings of an application with their replies (the whole service first), for whoever may view it."""
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound("申请不存在")
    require_view_application(session, actor, application)
    statement = select(Rating).where(Rating.application_id == application.id)
    if actor.role is Role.REVIEWER:  # a department sees only what was said about it
        statement = statement.where(Rating.department_code == actor.department_code)
    return list(session.exec(statement.order_by(col(Rating.department_code))))


def followups(session: Session, actor: Actor, today: date | None = None, limit: int = 200) -> list[FollowUp]:
    """The reviewer's department's 差评: unanswered first (oldest due first, overdue marked), then the answered."""
    if actor.role is not Role.REVIEWER or not actor.department_code:
        raise Forbidden("只有部门审批人员可以查看本部门的差评整改")
    today = today or clock.today()
    unanswered = col(Rating.reply).is_(None)
    statement = (
        select(Rating, Application.reference)
        .join(Application, col(Application.id) == col(Rating.application_id))
        .where(Rating.department_code == actor.department_code, col(Rating.reply_due).is_not(None))
        .order_by(unanswered.desc(), col(Rating.reply_due), col(Rating.created_at))
        .limit(inputs.page_size(limit))
    )
    return [
        FollowUp(rating, reference, rating.reply is None and rating.reply_due is not None and today > rating.reply_due)
        for rating, reference in session.exec(statement)
    ]


def reviewed_departments(session: Session, application_id: str) -> list[str]:
    statement = (
        select(DepartmentReview.department_code)
        .where(DepartmentReview.application_id == application_id)
        .order_by(col(DepartmentReview.department_code))
    )
    return list(session.exec(statement))


def reply_due_date(rated_on: date, calendar: WorkingCalendar | None = None) -> date:
    """The day a reply to a 差评 given on `rated_on` is due: `rating_reply_days` working days later."""
    return nth_working_day(rated_on, get_settings().rating_reply_days, calendar or catalogs.calendar())


def _score(score: int | str) -> int:
    try:
        value = int(score) if not isinstance(score, bool) else 0
    except (TypeError, ValueError):
        value = 0
    if value not in SCORES:
        raise InvalidRequest("评分必须是 1 到 5 之间的整数")
    return value


def _find(session: Session, application_id: str, department: str) -> Rating | None:
    statement = select(Rating).where(Rating.application_id == application_id, Rating.department_code == department)
    return session.exec(statement).first()


def _target(department: str) -> str:
    return "整体服务" if department == OVERALL else catalogs.department_name(department)
