"""A license's pending change or renewal application (变更、延续申请): found, and closed (已终止办理) in the
transaction that ends the license (注销, 撤销, 吊销), so an application with nothing left to amend does not wait
in the departments' queues and fail later as a dead letter when its approval cannot be applied.

Both `services.changes` (one pending per license) and `services.licenses` (ending a license) use it, which is why
it lives apart from either."""

from __future__ import annotations

from sqlmodel import Session, col, select

from onelicense.review.roles import Actor
from onelicense.review.transitions import ApplicationStatus, ReviewStatus, StateKind, check_transition
from onelicense.store import audit, outbox
from onelicense.store.locking import lock_application, update_versioned
from onelicense.store.tables.application import Application, DepartmentReview
from onelicense.store.tables.license import License

AMENDING_KINDS = ("change", "renewal")  # applications that amend an issued license instead of issuing one
FINAL = (ApplicationStatus.ISSUED, ApplicationStatus.REJECTED, ApplicationStatus.CLOSED)
UNDECIDED_REVIEWS = (
    ReviewStatus.PENDING,
    ReviewStatus.RESUBMITTED,
    ReviewStatus.CLAIMED,
    ReviewStatus.SUPPLEMENT_REQUESTED,
)
# the work an open application still has in the outbox; a closed one has none left to do
_MOOT = (outbox.DEPARTMENT_PUSH, outbox.AGGREGATE)
_STALE = "申请已被他人处理，请刷新后重试"


def pending_change(session: Session, license_id: str) -> Application | None:
    """The change or renewal application of the license not yet issued, refused or closed (at most one)."""
    return session.exec(
        select(Application).where(
            Application.license_id == license_id,
            col(Application.kind).in_(AMENDING_KINDS),
            col(Application.status).not_in(FINAL),
        )
    ).first()


def close_with_license(session: Session, actor: Actor, license_: License, ended: str) -> Application | None:
    """In the caller's transaction (no commit), once `license_` has ended: close its pending change or renewal
    application with the reason `ended` (e.g. "许可证已注销（不再经营）"), end its undecided reviews, and drop its
    queued department pushes and aggregation, each step audited. Returns the closed application, if any."""
    found = pending_change(session, license_.id)
    if found is None:
        return None
    application = lock_application(session, found.id)
    if application.status in FINAL:  # decided while we looked
        return None
    check_transition(StateKind.APPLICATION, application.status, ApplicationStatus.CLOSED)
    what = "延续申请" if application.kind == "renewal" else "变更申请"
    reason = f"{ended}，{what} {application.reference} 终止办理"
    reviews = session.exec(
        select(DepartmentReview)
        .where(DepartmentReview.application_id == application.id, col(DepartmentReview.status).in_(UNDECIDED_REVIEWS))
        .execution_options(populate_existing=True)  # their versions as the lock found them
    ).all()
    for review in reviews:
        check_transition(StateKind.REVIEW, review.status, ReviewStatus.CLOSED)
        before = audit.snapshot(review, "status", "version")
        update_versioned(session, review, "审查任务已被他人处理，请刷新后重试", status=ReviewStatus.CLOSED)
        audit.record(session, actor, "review.close", "department_review", review.id, before,
                     {**audit.snapshot(review, "status", "version"), "reason": reason})  # fmt: skip
    before = audit.snapshot(application, "status", "version")
    update_versioned(session, application, _STALE, status=ApplicationStatus.CLOSED, status_reason=reason, open_key=None)
    audit.record(session, actor, "application.close", "application", application.id, before,
                 {**audit.snapshot(application, "status", "version"), "reason": reason,
                  "closed_reviews": sorted(r.department_code for r in reviews)})  # fmt: skip
    outbox.drop_pending(session, application.id, _MOOT, reason)
    return application
