"""Changes (变更、延续) applied once their application is approved: the license's data and the permits renewed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from onelicense import clock
from onelicense.errors import Conflict, InvalidRequest, NotFound
from onelicense.forms.merge import changed_fields
from onelicense.licenses.numbering import permit_number
from onelicense.licenses.status import LicenseStatus, Operation, validity_end
from onelicense.review.roles import Actor
from onelicense.review.transitions import ApplicationStatus
from onelicense.services import catalog as catalogs
from onelicense.services import obligations
from onelicense.services.applications import mark_issued, open_key_of
from onelicense.services.licenses.common import _granted_permits
from onelicense.services.licenses.documents import permits_of
from onelicense.services.licenses.editions import reissue
from onelicense.services.permit_changes import apply_permit_operation
from onelicense.store.audit import record, snapshot
from onelicense.store.locking import update_versioned
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License, LicensePermit


def apply_change(
    session: Session,
    actor: Actor,
    license_: License,
    *,
    answers: dict[str, Any],
    materials: dict[str, Any],
    added: tuple[str, ...] | list[str],
    reason: str,
) -> License:
    """Bring license `license_` to the form as changed (变更), in the caller's transaction: the holder's name,
    legal representative and address from `answers`, the `added` permits (approved) issued today and numbered
    after the others, the permits the new scope no longer selects cancelled (注销), every other permit kept with
    its number and dates; the issuing application's data updated; a new edition (`reissue`)."""
    catalog = catalogs.catalog()
    original = session.get(Application, license_.application_id) if license_.application_id else None
    assert original is not None  # a change is requested on a license issued from an application
    wanted = {p.code for p in catalogs.merged_form(license_.industry_code, answers).permits}
    permits = permits_of(session, license_.id)
    for permit in permits:
        if permit.status in (LicenseStatus.VALID, LicenseStatus.SUSPENDED) and permit.permit_code not in wanted:
            apply_permit_operation(session, actor, permit, Operation.CANCEL, reason="经营范围变更，不再从事该项经营")
    today = clock.today()
    position = max((p.position for p in permits), default=0)
    new_rows = []
    for code in added:
        position += 1
        spec = catalog.permits[code]
        new_rows.append(
            LicensePermit(
                license_id=license_.id,
                position=position,
                permit_code=code,
                permit_name=spec.name,
                department_code=spec.department,
                department_name=catalog.departments[spec.department].name,
                number=permit_number(license_.number, position),
                issued_on=today,
                valid_until=validity_end(today, spec.validity_years),
                mandatory=spec.mandatory,
            )
        )
    session.add_all(new_rows)
    session.flush()
    obligations.open_obligations(session, license_, new_rows, original)
    before = snapshot(license_, "holder_name", "legal_representative", "business_address", "version")
    update_versioned(
        session,
        license_,
        "该许可证已被他人变更，请刷新后重试",
        holder_name=str(answers.get("holder_name") or license_.holder_name),
        legal_representative=str(answers.get("legal_representative") or license_.legal_representative),
        business_address=str(answers.get("business_address") or license_.business_address),
    )
    record(session, actor, "license.change", "license", license_.number, before,
           {**snapshot(license_, "holder_name", "business_address", "version"), "added": list(added),
            "reason": reason})  # fmt: skip
    update_versioned(
        session,
        original,
        "申请已被他人处理，请刷新后重试",
        answers=answers,
        materials=materials,
        holder_name=license_.holder_name,
        permit_codes=sorted(set(original.permit_codes) | set(added)),
        open_key=open_key_of(answers, license_.industry_code),  # the premises the license now holds
    )
    return reissue(session, actor, license_, reason=reason)


def _apply_change_application(session: Session, actor: Actor, application: Application) -> License:
    """A reviewed change application (locked): its approval applied to the license it amends, once."""
    assert application.license_id is not None
    license_ = session.get(License, application.license_id)
    if license_ is None:
        raise NotFound("变更所涉许可证不存在")
    if application.status is ApplicationStatus.ISSUED:
        return license_
    if application.status is not ApplicationStatus.APPROVED:
        raise Conflict(f"变更申请当前状态为「{application.status.label}」，准予变更后才能换发")
    if license_.status is not LicenseStatus.VALID:  # ended meanwhile: retrying cannot help (an admin's dead letter)
        raise InvalidRequest(
            f"许可证当前状态为「{license_.status.label}」，变更申请 {application.reference} 不能再办理"
        )
    granted = set(_granted_permits(application))
    if application.kind == "renewal":  # 延续: each granted permit valid again from the day after it ends
        catalog = catalogs.catalog()
        for permit in permits_of(session, license_.id):
            if permit.permit_code in granted and permit.valid_until is not None:
                years = (
                    catalog.permits[permit.permit_code].validity_years
                    if permit.permit_code in catalog.permits
                    else None
                )
                until = validity_end(permit.valid_until + timedelta(days=1), years)
                if until is not None:
                    apply_permit_operation(session, actor, permit, Operation.RENEW,
                                           reason=f"延续申请 {application.reference}", valid_until=until)  # fmt: skip
    on_license = {p.permit_code for p in permits_of(session, license_.id)}
    added = [code for code in application.permit_codes if code in granted and code not in on_license]
    original = session.get(Application, license_.application_id) if license_.application_id else None
    before = (original.answers if original else None) or {}
    changed = changed_fields(before, application.answers)
    labels = "、".join(catalogs.item_label(k) for k in changed) or "许可事项"
    what = "延续" if application.kind == "renewal" else f"变更{labels}"
    apply_change(
        session,
        actor,
        license_,
        answers=dict(application.answers),
        materials=dict(application.materials),
        added=added,
        reason=f"{what}（申请 {application.reference}）",
    )
    mark_issued(session, actor, application.id, commit=False)
    update_versioned(session, application, "申请已被他人处理，请刷新后重试", open_key=None)
    return license_
