"""One permit's lifecycle operation inside the caller's transaction: the shared core of
`services.licenses.change_permit` (a department or an admin acting on a permit) and `services.obligations`
(a broken commitment withdraws the permit in the same transaction that lists the holder)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from onelicense.errors import Conflict, InvalidRequest
from onelicense.licenses.status import TERMINAL, TRANSITIONS, Operation, next_status
from onelicense.review.roles import Actor
from onelicense.store import inputs
from onelicense.store.audit import record, snapshot
from onelicense.store.locking import update_versioned
from onelicense.store.tables.license import License, LicensePermit

PERMIT_FIELDS = ("status", "reason", "valid_until", "version")


def check_operation(operation: Operation, reason: object) -> str:
    """`reason` as it may be stored (stripped; no invisible characters), if `operation` changes a permit."""
    if operation not in TRANSITIONS:
        raise InvalidRequest(f"「{operation.label}」不是变更操作")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidRequest(f"请填写{operation.label}原因")
    return inputs.text(reason, f"{operation.label}原因", max_length=2000)


def apply_permit_operation(
    session: Session,
    actor: Actor,
    permit: LicensePermit,
    operation: Operation,
    *,
    reason: str,
    valid_until: date | None = None,
) -> LicensePermit:
    """Check and apply `operation` to `permit`, audited (no commit; the caller has checked who may do it)."""
    reason = check_operation(operation, reason)
    license_ = session.get(License, permit.license_id)
    assert license_ is not None  # foreign key
    if license_.status in TERMINAL:
        raise Conflict(f"许可证已{license_.status.label}，其分项许可不能再变更")
    values: dict[str, object] = {"status": next_status(operation, permit.status, permit.permit_name), "reason": reason}
    if operation is Operation.RENEW:
        if valid_until is None or (permit.valid_until is not None and valid_until <= permit.valid_until):
            raise InvalidRequest("延续须给出晚于原有效期的新有效期")
        values["valid_until"] = valid_until
    before = snapshot(permit, *PERMIT_FIELDS)
    update_versioned(session, permit, "该许可已被他人变更，请刷新后重试", **values)
    record(session, actor, f"license_permit.{operation.value}", "license_permit", permit.number, before,
           snapshot(permit, *PERMIT_FIELDS))  # fmt: skip
    return permit
