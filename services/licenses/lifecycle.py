"""The life of an issued license: find it, suspend (暂扣), restore (发还), withdraw (撤销), cancel (注销), revoke (吊销) a
permit or the whole license; the holder told."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col, select

from onelicense.errors import Forbidden, InvalidRequest, NotFound
from onelicense.licenses.status import TERMINAL, Operation, next_status
from onelicense.review.roles import Actor, Role
from onelicense.services import obligations, pending_changes
from onelicense.services.licenses.common import _LICENSE_FIELDS, LicenseConfig, _holder_of, _notify_holder
from onelicense.services.licenses.editions import reissue
from onelicense.services.permit_changes import apply_permit_operation, check_operation
from onelicense.store.access import OVERSEERS, require_view_application
from onelicense.store.audit import record, snapshot
from onelicense.store.db import transaction
from onelicense.store.locking import update_versioned
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License, LicensePermit


def license_of_application(session: Session, actor: Actor, application_id: str) -> License | None:
    """The license issued for an application, to those who may see the application (its applicant, the
    departments that reviewed it, admins); None while none is issued."""
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound("申请不存在")
    require_view_application(session, actor, application)
    return session.exec(select(License).where(License.application_id == application_id)).first()


def load_license(session: Session, number: str) -> License:
    license_ = session.exec(select(License).where(License.number == number)).first()
    if license_ is None:
        raise NotFound(f"许可证 {number} 不存在")
    return license_


def change_permit(
    session: Session,
    actor: Actor,
    permit_no: str,
    operation: Operation,
    *,
    reason: str,
    valid_until: date | None = None,
    config: LicenseConfig | None = None,
) -> LicensePermit:
    """Suspend, restore, withdraw, cancel, revoke or renew (with a new `valid_until`) one constituent permit. A
    renewal reissues the certificate (a new edition carrying the new date, `reissue`).

    Only an admin, the system, or a reviewer of the permit's own department may do it."""
    reason = check_operation(operation, reason)
    with transaction(session):
        permit = session.exec(select(LicensePermit).where(LicensePermit.number == permit_no)).first()
        if permit is None:
            raise NotFound(f"许可 {permit_no} 不存在")
        if not _may_change_permit(actor, permit):
            raise Forbidden(f"仅管理员或{permit.department_name}可变更「{permit.permit_name}」")
        apply_permit_operation(session, actor, permit, operation, reason=reason, valid_until=valid_until)
        license_ = session.get(License, permit.license_id)
        assert license_ is not None  # foreign key
        if operation is Operation.RENEW:  # the new date goes on the certificate and into its signed token
            reissue(session, actor, license_, reason=f"延续「{permit.permit_name}」：{reason}", config=config)
        else:
            _notify_holder(session, license_, "license_changed", f"{permit.id}:{permit.version}",
                           permit_id=permit.id, detail=f"{operation.label}（{reason}）")  # fmt: skip
    return permit


def change_license(session: Session, actor: Actor, number: str, operation: Operation, *, reason: str) -> License:
    """Suspend, restore, withdraw, cancel or revoke a whole composite license (admin only); its holder may cancel
    it (注销: it no longer operates there). Commitments not yet due or handed in end with it; one already broken
    stays with its department; a change or renewal application still pending is closed (已终止办理) with the
    reason, its undecided reviews with it."""
    holder_cancels = actor.role is Role.APPLICANT and operation is Operation.CANCEL
    if actor.role is not Role.ADMIN and actor.role is not Role.SYSTEM and not holder_cancels:
        raise Forbidden("仅管理员可变更整个综合许可证；持证人可申请注销")
    if operation is Operation.RENEW:
        raise InvalidRequest("延续针对分项许可，请指定许可编号")
    reason = check_operation(operation, reason)
    with transaction(session):
        license_ = load_license(session, number)
        if holder_cancels and _holder_of(session, license_) != actor.user_id:  # the license itself is public
            raise Forbidden(f"您不是许可证 {number} 的持证人，不能申请注销")
        before = snapshot(license_, *_LICENSE_FIELDS)
        status = next_status(operation, license_.status, f"许可证 {number}")
        update_versioned(session, license_, "该许可证已被他人变更，请刷新后重试", status=status, status_reason=reason)
        record(session, actor, f"license.{operation.value}", "license", number, before,
               snapshot(license_, *_LICENSE_FIELDS))  # fmt: skip
        if status in TERMINAL:  # the holder may apply again for these premises
            session.execute(
                update(Application)
                .where(col(Application.id) == license_.application_id)
                .values(open_key=None)
                .execution_options(synchronize_session=False)
            )
            obligations.end_with_license(session, license_.id)
            closed = pending_changes.close_with_license(session, actor, license_, f"许可证已{status.label}（{reason}）")
            detail = f"{status.label}（{reason}）" + (f"；办理中的申请 {closed.reference} 已终止办理" if closed else "")
            _notify_holder(session, license_, "license_ended", f"{license_.id}:{status.value}", detail=detail)
    return license_


def _may_change_permit(actor: Actor, permit: LicensePermit) -> bool:
    if actor.role in OVERSEERS:
        return True
    return actor.role is Role.REVIEWER and actor.department_code == permit.department_code
