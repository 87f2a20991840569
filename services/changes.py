"""Changes to an issued license (变更): the holder's name, address, legal representative, scope (adding a pool adds
a permit) or any other fact of the merged form.

The holder states what changed; the service validates and pre-reviews the whole form as it would then stand, and:
- a department reviews again only if one of its permits reads a changed field that the catalog marks for review
  (`change_review`; registration facts such as the name or the legal representative are not), and every permit the
  change adds is reviewed by its department. That review is a change application (kind "change") in the usual
  queue; its approval updates the license (`services.licenses`, on aggregation) instead of issuing another;
- with nothing to review (only registration facts, or a permit dropped from the scope) the license is updated at once.
Either way the license gets a new edition (版次): the old QR code's page says 已更新 and links the new one; the
permits the change did not touch keep their numbers and dates. One pending change per license."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from onelicense import clock
from onelicense.errors import Conflict, Forbidden, NotFound
from onelicense.forms.errors import FieldError, SubmissionRefused, ValidationFailed
from onelicense.forms.merge import MergedForm, changed_fields
from onelicense.forms.model import Permit
from onelicense.forms.prereview import blocking, prereview
from onelicense.forms.validation import Submission, validate_submission
from onelicense.licenses.status import LicenseStatus
from onelicense.review.roles import Actor, require_role
from onelicense.review.transitions import ApplicationStatus
from onelicense.services import applications, licenses, obligations, uploads
from onelicense.services import catalog as catalogs
from onelicense.services.adapters import registry
from onelicense.services.certificate import certificate_problems
from onelicense.services.pending_changes import pending_change
from onelicense.store import audit, inputs
from onelicense.store.db import transaction
from onelicense.store.locking import lock_license
from onelicense.store.tables.application import Application, DepartmentReview
from onelicense.store.tables.license import License, LicensePermit

_ACTIVE = (LicenseStatus.VALID, LicenseStatus.SUSPENDED)
RENEWAL_WINDOW_DAYS = 90  # a permit may be renewed from this many days before its validity ends


@dataclass(frozen=True)
class ChangeRequested:
    license: License
    changed_fields: tuple[str, ...]
    added_permits: tuple[str, ...]
    removed_permits: tuple[str, ...]
    application: Application | None  # the change application the departments review; None: applied at once
    reviews: tuple[DepartmentReview, ...]


def request_change(
    session: Session,
    actor: Actor,
    number: str,
    *,
    answers: Mapping[str, Any],
    materials: Mapping[str, Any] | None = None,
    reason: str = "",
) -> ChangeRequested:
    """The holder's change of license `number`: `answers` are the fields that change (or the whole form), and
    `materials` any new files (those of added permits). Refusals store nothing."""
    license_, original = _holders_license(session, actor, number, "变更")
    note = inputs.text(reason, "变更原因", required=False, max_length=500)
    current = dict(original.answers or {})
    form, submission = _as_it_would_stand(session, actor, license_, original, answers, materials)
    catalog = catalogs.catalog()
    changed = changed_fields(current, submission.answers)
    if not changed:
        raise ValidationFailed([FieldError("answers", "变更内容", "与现有许可证内容相同，没有需要变更的事项")])
    _registration_facts_follow_the_registry(session, license_.uscc, submission.answers, changed)
    premises = applications.open_key_of(submission.answers, license_.industry_code)
    holder = session.exec(select(Application).where(Application.open_key == premises)).first()
    if holder is not None and holder.id != original.id:
        raise Conflict(f"该经营场所已有本行业办理中的申请或有效许可证（申请编号 {holder.reference}），不能变更至此")
    on_license = {p.permit_code: p for p in licenses.permits_of(session, license_.id)}
    active = {code for code, p in on_license.items() if p.status in _ACTIVE}
    # a permit the license carries as 撤销/注销/吊销 stays so: a change neither restores it nor is refused for it
    # (restoring one is a new application for that permit); the change applies to the others
    wanted = [p.code for p in form.permits]
    added = tuple(c for c in wanted if c not in on_license)
    removed = tuple(sorted(active - set(wanted)))
    reviewed_fields = {k for k in changed if k in catalog.fields and catalog.fields[k].change_review}
    affected = [p for p in form.permits if p.code in added or (p.code in active and reviewed_fields & set(p.fields))]
    if not affected:
        with transaction(session):
            licenses.apply_change(
                session, actor, license_, answers=submission.answers, materials=submission.materials,
                added=(), reason=_reason(changed, note),
            )  # fmt: skip
        return ChangeRequested(license_, changed, added, removed, None, ())
    details = {"changed": list(changed), "added": list(added), "removed": list(removed), "reason": note}
    application, reviews = _open_amendment(
        session, actor, license_, form, submission, affected, kind="change", details=details
    )
    return ChangeRequested(license_, changed, added, removed, application, tuple(reviews))


REGISTRATION_FACTS = {"holder_name": "name", "legal_representative": "legal_representative"}


def _registration_facts_follow_the_registry(
    session: Session, uscc: str, answers: Mapping[str, Any], changed: tuple[str, ...]
) -> None:
    """登记事项 (the holder's name, its legal representative) change on the license only as the business registry
    already records them: never from typed text. A holder that renamed itself first registers the change with
    市场监管, then the license follows."""
    asked = [key for key in changed if key in REGISTRATION_FACTS]
    if not asked:
        return
    company = registry.lookup(session, uscc)
    problems = []
    for key in asked:
        label = catalogs.item_label(key)
        if company is None:
            problems.append(FieldError(key, label, "市场主体登记中查不到该主体，登记事项不能在线变更，请到市场监管窗口办理"))
            continue
        registered = str(getattr(company, REGISTRATION_FACTS[key]))
        if str(answers.get(key) or "").strip() != registered:
            problems.append(FieldError(key, label, f"须与市场主体登记一致（登记为“{registered}”）：请先办理登记变更"))
    if problems:
        raise ValidationFailed(problems)


def _reason(changed: tuple[str, ...], note: str) -> str:
    labels = "、".join(catalogs.item_label(k) for k in changed)
    return f"变更{labels}" + (f"（{note}）" if note else "")


def renewable_permits(session: Session, license_: License) -> list[LicensePermit]:
    """The license's valid permits whose validity ends within RENEWAL_WINDOW_DAYS: what 延续 accepts (and the
    portal offers)."""
    horizon = clock.today() + timedelta(days=RENEWAL_WINDOW_DAYS)
    return [
        p
        for p in licenses.permits_of(session, license_.id)
        if p.status is LicenseStatus.VALID and p.valid_until is not None and p.valid_until <= horizon
    ]


def request_renewal(
    session: Session,
    actor: Actor,
    number: str,
    *,
    permit_codes: list[str] | None = None,
    answers: Mapping[str, Any] | None = None,
    materials: Mapping[str, Any] | None = None,
) -> ChangeRequested:
    """延续: the holder asks to renew permits whose validity ends within RENEWAL_WINDOW_DAYS (default: all such),
    reusing the license's current data — `answers` only where the holder edits it. The permits' departments review
    the renewal application; its approval gives each renewed permit a new validity from the day after the old one
    ends and reissues the certificate carrying the new dates."""
    license_, original = _holders_license(session, actor, number, "延续")
    renewable = {p.permit_code: p for p in renewable_permits(session, license_)}
    wanted = list(permit_codes) if permit_codes else sorted(renewable)
    if not wanted or (unknown := [c for c in wanted if c not in renewable]):
        detail = f"：{'、'.join(unknown)}" if permit_codes and wanted else ""
        raise ValidationFailed([FieldError("permit_codes", "延续事项",
                                           f"只能延续有效期在 {RENEWAL_WINDOW_DAYS} 天内届满的有效许可{detail}")])  # fmt: skip
    current = dict(original.answers or {})
    form, submission = _as_it_would_stand(session, actor, license_, original, answers, materials)
    if missing := [c for c in wanted if c not in {p.code for p in form.permits}]:
        raise Conflict(f"所改内容使以下许可不再适用，不能延续：{'、'.join(missing)}")
    renewed = [p for p in form.permits if p.code in wanted]
    application, reviews = _open_amendment(session, actor, license_, form, submission, renewed, kind="renewal")
    changed = changed_fields(current, submission.answers)
    return ChangeRequested(license_, changed, (), (), application, tuple(reviews))


def _holders_license(session: Session, actor: Actor, number: str, what: str) -> tuple[License, Application]:
    """The license `number` of this holder (404 for anyone else's), valid, with no change or renewal pending."""
    require_role(actor, applications.APPLICANTS, f"申请{what}")
    license_ = session.exec(select(License).where(License.number == number)).first()
    original = session.get(Application, license_.application_id) if license_ and license_.application_id else None
    if license_ is None:
        raise NotFound(f"许可证 {number} 不存在")
    if original is None or original.submitted_by != actor.user_id:  # the license itself is public (证照公示)
        raise Forbidden(f"您不是许可证 {number} 的持证人，不能申请{what}")
    if not may_change(license_):
        raise Conflict(_not_valid(license_, what))
    if (pending := pending_change(session, license_.id)) is not None:
        raise Conflict(f"该许可证已有办理中的变更或延续申请（申请编号 {pending.reference}），请待其办结后再申请")
    return license_, original


def may_change(license_: License | None) -> bool:
    """Whether the license is one a change or a renewal may be asked for (a valid one); the portal
    offers the forms by it."""
    return license_ is not None and license_.status is LicenseStatus.VALID


def _not_valid(license_: License, what: str) -> str:
    return f"许可证 {license_.number} 当前状态为「{license_.status.label}」，不能办理{what}"


def _as_it_would_stand(
    session: Session,
    actor: Actor,
    license_: License,
    original: Application,
    answers: Mapping[str, Any] | None,
    materials: Mapping[str, Any] | None,
) -> tuple[MergedForm, Submission]:
    """The whole form with the holder's edits, validated and pre-reviewed as a new application would be; the new
    materials may refer only to the holder's own uploads."""
    current = dict(original.answers or {})
    given = inputs.json_object(dict(answers or {}), "变更内容")
    if "uscc" in given and given["uscc"] != current.get("uscc"):
        raise ValidationFailed(
            [FieldError("uscc", "统一社会信用代码", "统一社会信用代码不能变更，请以新的主体重新申请")]
        )
    form = applications.form_for(license_.industry_code, {**current, **given})
    given_materials = inputs.json_object(dict(materials or {}), "申请材料")
    uploads.check_owned(session, actor, given_materials)
    merged_materials = {**dict(original.materials or {}), **given_materials}
    submission = validate_submission(form, {**current, **given}, merged_materials, commitment_accepted=True)
    if refused := blocking(prereview(form, submission.answers)):
        raise SubmissionRefused([f.as_dict() for f in refused])
    if listed := obligations.commitment_block(
        session, license_.uscc, [p.code for p in form.permits], submission.materials
    ):
        raise SubmissionRefused(listed)
    if problems := certificate_problems(submission.answers):
        raise ValidationFailed(problems)
    return form, submission


def _open_amendment(
    session: Session,
    actor: Actor,
    license_: License,
    form: MergedForm,
    submission: Submission,
    permits: list[Permit],
    *,
    kind: str,
    details: dict[str, Any] | None = None,
) -> tuple[Application, list[DepartmentReview]]:
    """The change or renewal application of `license_` for `permits`, with a review by each of their departments
    (one transaction, audited). One pending per license: its open key refuses a second, even when two race."""
    application = Application(
        reference=applications.new_reference(),
        industry_code=license_.industry_code,
        holder_name=inputs.text(submission.answers.get("holder_name"), "申请人名称", max_length=500),
        uscc=license_.uscc,
        answers=inputs.json_object(submission.answers, "表单内容"),
        materials=inputs.json_object(submission.materials, "申请材料"),
        permit_codes=[p.code for p in permits],
        status=ApplicationStatus.SUBMITTED,
        submitted_by=actor.user_id,
        open_key=f"change|{license_.id}",
        kind=kind,
        license_id=license_.id,
    )
    departments = tuple(d for d in form.departments if any(p.department == d.code for p in permits))
    try:
        with transaction(session):
            # under the license's lock: ended meanwhile (注销, 撤销, 吊销), it takes no change; ending after us,
            # it closes this application with it (services.pending_changes)
            current = lock_license(session, license_.id)
            if current.status is not LicenseStatus.VALID:
                raise Conflict(_not_valid(current, "延续" if kind == "renewal" else "变更"))
            session.add(application)
            session.flush()
            reviews = applications.open_reviews(
                session, actor, application, replace(form, permits=tuple(permits), departments=departments)
            )
            audit.record(session, actor, f"application.{kind}_request", "application", application.id, None,
                         {"license": license_.number, "permits": [p.code for p in permits],
                          "departments": sorted(r.department_code for r in reviews), **(details or {})})  # fmt: skip
    except IntegrityError:
        raise Conflict("该许可证已有办理中的变更或延续申请，请待其办结后再申请") from None
    return application, reviews
