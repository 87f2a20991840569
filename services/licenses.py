"""License service functions: issue (新发) exactly once per application, then suspend (暂扣), restore (发还),
withdraw (撤销), cancel (注销), revoke (吊销) a permit or the whole license, renew (延续) a permit; the signing keys.

Each change checks the actor and the transition table (licenses.status), writes an audit event and commits in
one transaction; reading (the live status, the publicity list) is in store.license_queries. Issuing writes a
`render_pdf` outbox message with the license: the certificate is rendered after the commit, from the stored rows
(`certificate`, then `write_certificate`), by the dispatcher's pool of processes; `ensure_pdf` renders a missing
file on demand.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from onelicense import clock
from onelicense.clock import china_date, utcnow
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.forms.merge import changed_fields
from onelicense.licenses.document import IssuingAuthority, LicenseDocument, PermitEntry
from onelicense.licenses.keys import cached_keyset, revoke_key
from onelicense.licenses.numbering import format_number, number_prefix, permit_number
from onelicense.licenses.pdf import render_pdf
from onelicense.licenses.qr import verify_url
from onelicense.licenses.status import TERMINAL, LicenseStatus, Operation, next_status, validity_end
from onelicense.licenses.token import sign_token
from onelicense.review.roles import Actor, Role, require_role
from onelicense.review.transitions import ApplicationStatus, Decision
from onelicense.services import catalog as catalogs
from onelicense.services import notifications, obligations, pending_changes
from onelicense.services.applications import mark_issued, open_key_of
from onelicense.services.permit_changes import apply_permit_operation, check_operation
from onelicense.settings import Settings, get_settings
from onelicense.store import inputs, outbox
from onelicense.store.access import OVERSEERS, require_view_application
from onelicense.store.audit import record, snapshot
from onelicense.store.db import transaction
from onelicense.store.locking import lock_application, update_versioned
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License, LicenseCounter, LicensePermit

_ISSUE_ATTEMPTS = 5
_LICENSE_FIELDS = ("status", "status_reason", "version")


@dataclass(frozen=True)
class LicenseConfig:
    """Where keys and PDFs live and what the certificate and QR code say; from the settings by default."""

    keys_dir: Path
    pdf_dir: Path
    templates_dir: Path | None
    public_base_url: str
    authority: IssuingAuthority

    @classmethod
    def from_settings(cls) -> LicenseConfig:
        """The configuration of the current settings object (kept while the settings are: verification calls
        this on every request)."""
        global _current_config
        settings = get_settings()
        if _current_config is None or _current_config[0] is not settings:
            _current_config = (settings, cls._build(settings))
        return _current_config[1]

    @classmethod
    def _build(cls, settings: Settings) -> LicenseConfig:
        authority = IssuingAuthority(
            name=settings.license_authority_name,
            region_code=settings.license_region_code,
        )
        return cls(
            keys_dir=settings.data_dir / "keys",
            pdf_dir=settings.data_dir / "licenses",
            templates_dir=settings.templates_dir,
            public_base_url=settings.public_base_url,
            authority=authority,
        )


_current_config: tuple[Settings, LicenseConfig] | None = None

# ---------------------------------------------------------------------------------------------------- issuing


def issue_license(
    session: Session,
    actor: Actor,
    application_id: str,
    *,
    issued_at: datetime | None = None,
    idempotency_key: str | None = None,
    config: LicenseConfig | None = None,
) -> License:
    """The composite license of an approved application, issued once: a repeated or concurrent call returns the
    license already issued. Holder, permits and names come from the application and the catalog."""
    require_role(actor, OVERSEERS, "签发综合许可证")
    config = config or LicenseConfig.from_settings()
    license_ = _issued_before(session, application_id, idempotency_key)
    for attempt in range(_ISSUE_ATTEMPTS):
        if license_ is not None:
            break
        try:
            with transaction(session):
                license_ = _issue_locked(session, actor, application_id, issued_at, idempotency_key, config)
        except IntegrityError:
            # a concurrent first issuer of the year made the counter row first (or, without the row lock of another
            # database, took our application): try again
            if attempt == _ISSUE_ATTEMPTS - 1:
                raise Conflict("许可证编号分配冲突，请稍后重试") from None
    assert license_ is not None
    return license_


def _issued_before(session: Session, application_id: str, idempotency_key: str | None) -> License | None:
    application = session.get(Application, application_id)
    if application is not None and application.kind in ("change", "renewal") and application.license_id is not None:
        if application.status is not ApplicationStatus.ISSUED:
            return None  # applied under the application's lock in _issue_locked
        return session.get(License, application.license_id)
    found = session.exec(select(License).where(License.application_id == application_id)).first()
    if found is None and idempotency_key is not None:
        found = session.exec(select(License).where(License.idempotency_key == idempotency_key)).first()
    return found


def _issue_locked(
    session: Session,
    actor: Actor,
    application_id: str,
    issued_at: datetime | None,
    idempotency_key: str | None,
    config: LicenseConfig,
) -> License:
    """Inside one transaction: lock the application, return its license if a racing issuer made it, else insert
    the license, its permits and the audit event and move the application to 已发证."""
    application = lock_application(session, application_id)  # concurrent issuers of one application queue here
    if application.kind in ("change", "renewal"):
        return _apply_change_application(session, actor, application)
    existing = _issued_before(session, application_id, idempotency_key)
    if existing is not None:
        return existing
    if application.status not in (ApplicationStatus.APPROVED, ApplicationStatus.ISSUED):
        raise Conflict(f"申请当前状态为「{application.status.label}」，准予许可后才能发证")
    catalog = catalogs.catalog()
    unknown = [c for c in application.permit_codes if c not in catalog.permits]
    if unknown or application.industry_code not in catalog.industries:
        raise InvalidRequest(f"行业目录中没有该申请的行业或许可：{application.industry_code} {' '.join(unknown)}")
    granted = _granted_permits(application)
    issued_at = (issued_at or utcnow()).replace(microsecond=0)
    issued_on = china_date(issued_at)
    number = _next_number(session, config.authority.region_code, issued_on.year)
    permits = []
    for position, code in enumerate(granted, start=1):
        spec = catalog.permits[code]
        permits.append(
            PermitEntry(
                code=code,
                name=spec.name,
                department_code=spec.department,
                department_name=catalog.departments[spec.department].name,
                number=permit_number(number, position),
                issued_on=issued_on,
                valid_until=validity_end(issued_on, spec.validity_years),
                mandatory=spec.mandatory,
            )
        )
    answers = application.answers or {}
    document = LicenseDocument(
        number=number,
        holder_name=application.holder_name,
        uscc=application.uscc,
        legal_representative=str(answers.get("legal_representative", "")),
        business_address=str(answers.get("business_address", "")),
        industry_code=application.industry_code,
        industry_name=catalog.industries[application.industry_code].name,
        issued_at=issued_at,
        authority_name=config.authority.name,
        permits=tuple(permits),
    )
    keyset = cached_keyset(config.keys_dir)
    license_ = License(
        number=number,
        application_id=application_id,
        idempotency_key=idempotency_key,
        holder_name=document.holder_name,
        uscc=document.uscc,
        legal_representative=document.legal_representative,
        business_address=document.business_address,
        industry_code=document.industry_code,
        industry_name=document.industry_name,
        authority_name=document.authority_name,
        issued_at=issued_at,
        key_id=keyset.active_kid or "",
        token=sign_token(document.signed_content(), keyset),
        pdf_path=str(config.pdf_dir / f"{number}.pdf"),
    )
    session.add(license_)
    session.flush()  # the unique application_id / number decide a race here, before the permits are written
    permit_rows = []
    for position, entry in enumerate(permits, start=1):
        permit_rows.append(
            LicensePermit(
                license_id=license_.id,
                position=position,
                permit_code=entry.code,
                permit_name=entry.name,
                department_code=entry.department_code,
                department_name=entry.department_name,
                number=entry.number,
                issued_on=entry.issued_on,
                valid_until=entry.valid_until,
                mandatory=entry.mandatory,
            )
        )
    session.add_all(permit_rows)
    session.flush()
    # the commitments the permits were granted on become obligations with due dates (承诺制信任审批)
    obligations.open_obligations(session, license_, permit_rows, application)
    notifications.notify(
        session, "issued", license_.id, user_id=application.submitted_by, application_id=application_id
    )
    record(
        session,
        actor,
        "license.issue",
        "license",
        number,
        after={"application_id": application_id, "permits": [p.code for p in permits], "key_id": license_.key_id},
    )
    mark_issued(session, actor, application_id, commit=False)
    # the certificate is rendered after the commit, by the dispatcher's pool of processes: the license is
    # verifiable the moment it is issued, and a crash before the render loses nothing
    outbox.enqueue(session, outbox.RENDER_PDF, application_id, payload={"number": number})
    return license_


def _granted_permits(application: Application) -> list[str]:
    """The permits the composite opinion granted: a refused optional permit never appears on the license."""
    opinion = application.composite_opinion or {}
    decided = {p["code"]: p["decision"] for p in opinion.get("permits", [])}
    if not decided:
        raise Conflict("申请尚无综合审批意见，不能发证")
    granted = [code for code in application.permit_codes if decided.get(code) == Decision.APPROVE.value]
    if not granted:
        raise Conflict("综合审批意见未准予任何许可事项，不能发证")
    return granted


def _next_number(session: Session, region_code: str, year: int) -> str:
    """The next serial of the region and year, taken under the counter row's lock (held until the issuing
    transaction ends), so concurrent issuers queue instead of colliding. The first license of a year makes its
    row; two first issuers racing there make the loser retry (IntegrityError)."""
    prefix = number_prefix(region_code, year)
    taken = (
        session.connection()
        .execute(
            update(LicenseCounter)
            .where(col(LicenseCounter.prefix) == prefix)
            .values(last_serial=col(LicenseCounter.last_serial) + 1)
            .returning(col(LicenseCounter.last_serial))
        )
        .scalar_one_or_none()
    )
    if taken is None:
        session.add(LicenseCounter(prefix=prefix, last_serial=1))
        session.flush()
        taken = 1
    return format_number(region_code, year, int(taken))


# ------------------------------------------------------------------------------------------------- documents


def permits_of(session: Session, license_id: str) -> list[LicensePermit]:
    statement = (
        select(LicensePermit).where(LicensePermit.license_id == license_id).order_by(col(LicensePermit.position))
    )
    return list(session.exec(statement))


def license_document(license_: License, permits: list[LicensePermit]) -> LicenseDocument:
    """The certificate as printed, from the stored rows (the same content the token was signed from)."""
    return LicenseDocument(
        number=license_.number,
        holder_name=license_.holder_name,
        uscc=license_.uscc,
        legal_representative=license_.legal_representative,
        business_address=license_.business_address,
        industry_code=license_.industry_code,
        industry_name=license_.industry_name,
        issued_at=license_.edition_at or license_.issued_at,  # a reissued edition is dated when it was reissued
        authority_name=license_.authority_name,
        permits=tuple(
            PermitEntry(
                code=p.permit_code,
                name=p.permit_name,
                department_code=p.department_code,
                department_name=p.department_name,
                number=p.number,
                issued_on=p.issued_on,
                valid_until=p.valid_until,
                mandatory=p.mandatory,
            )
            for p in permits
        ),
    )


@dataclass(frozen=True)
class Certificate:
    """Everything rendering needs, picklable: what the PDF says, the QR code's URL, where it goes."""

    document: LicenseDocument
    verify_url: str
    templates_dir: Path | None
    path: Path


def certificate(session: Session, license_: License, config: LicenseConfig | None = None) -> Certificate:
    config = config or LicenseConfig.from_settings()
    path = Path(license_.pdf_path) if license_.pdf_path else config.pdf_dir / f"{license_.number}.pdf"
    document = license_document(license_, permits_of(session, license_.id))
    return Certificate(document, verify_url(config.public_base_url, license_.token), config.templates_dir, path)


def render_certificate(certificate: Certificate) -> bytes:
    """The PDF bytes (pure, CPU-bound: the dispatcher runs it in a pool of processes)."""
    return render_pdf(certificate.document, certificate.verify_url, certificate.templates_dir)


def write_certificate(path: Path, pdf: bytes) -> Path:
    """Write the file atomically: a unique partial file per writer, then a rename (the last one wins)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(pdf)
    os.replace(partial, path)
    return path


def pdf_when_ready(session: Session, license_: License, config: LicenseConfig | None = None) -> Path | None:
    """The certificate file for a download: None while the dispatcher's render is still queued (the caller asks
    the client to come back in a moment), rendered here when it is missing with no render queued (deleted)."""
    wanted = certificate(session, license_, config)
    if wanted.path.exists():
        return wanted.path
    queued = [
        m
        for m in outbox.messages_for(session, license_.application_id or "", outbox.RENDER_PDF)
        if m.done_at is None and m.dead_at is None
    ]
    if queued:
        return None
    return write_certificate(wanted.path, render_certificate(wanted))


def ensure_pdf(session: Session, license_: License, config: LicenseConfig | None = None) -> Path:
    """The certificate file, rendered here and now if it is missing (a download before the pool got to it, a
    deleted file)."""
    wanted = certificate(session, license_, config)
    if wanted.path.exists():
        return wanted.path
    return write_certificate(wanted.path, render_certificate(wanted))


# ------------------------------------------------------------------------------------------------- editions


def reissue(
    session: Session, actor: Actor, license_: License, *, reason: str, config: LicenseConfig | None = None
) -> License:
    """A new edition (版次) of the certificate after a change or a renewal, in the caller's transaction: signed
    again from the rows as they now stand (dated now), its PDF rendered afresh under a new file name by the
    dispatcher. The older editions' QR codes still verify and their page says 已更新, linking this one."""
    config = config or LicenseConfig.from_settings()
    keyset = cached_keyset(config.keys_dir)
    session.flush()  # the permit rows as changed in this transaction
    edition = license_.edition + 1
    previous = license_.edition_at or license_.issued_at
    # dated now, and always after the edition it replaces: its token differs even within the same second
    at = max(utcnow().replace(microsecond=0), previous + timedelta(seconds=1))
    before = snapshot(license_, "edition", "key_id", "version")
    document = replace(license_document(license_, permits_of(session, license_.id)), issued_at=at)
    update_versioned(
        session,
        license_,
        "该许可证已被他人变更，请刷新后重试",
        edition=edition,
        edition_at=at,
        token=sign_token(document.signed_content(), keyset),
        key_id=keyset.active_kid or "",
        pdf_path=str(config.pdf_dir / f"{license_.number}-{edition}.pdf"),
    )
    record(session, actor, "license.reissue", "license", license_.number, before,
           {**snapshot(license_, "edition", "key_id", "version"), "reason": reason})  # fmt: skip
    if license_.application_id is not None:
        outbox.enqueue(session, outbox.RENDER_PDF, license_.application_id, payload={"number": license_.number})
        _notify_holder(session, license_, "reissued", f"{license_.id}:{edition}", detail=reason)
    return license_


# ------------------------------------------------------------------------------------------------- changes


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


# ------------------------------------------------------------------------------------------------- lifecycle


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


def _holder_of(session: Session, license_: License) -> str | None:
    """The user id of the applicant the license was issued to (None for migrated licenses)."""
    issuer = session.get(Application, license_.application_id) if license_.application_id else None
    return issuer.submitted_by if issuer else None


def _notify_holder(
    session: Session, license_: License, event: str, key: str, *, detail: str, permit_id: str | None = None
) -> None:
    """Tell the license's holder (in the caller's transaction)."""
    notifications.notify(
        session,
        event,
        key,
        user_id=_holder_of(session, license_),
        application_id=license_.application_id,
        permit_id=permit_id,
        detail=detail,
    )


def _may_change_permit(actor: Actor, permit: LicensePermit) -> bool:
    if actor.role in OVERSEERS:
        return True
    return actor.role is Role.REVIEWER and actor.department_code == permit.department_code


# ------------------------------------------------------------------------------------------------ signing keys


def provision_keys(config: LicenseConfig | None = None) -> str | None:
    """Make sure a signing key exists, so the published key set answers from the first request on (the server
    does this at start; verification itself never creates keys). Returns the active key id."""
    config = config or LicenseConfig.from_settings()
    return cached_keyset(config.keys_dir).active_kid


def revoke_signing_key(
    session: Session, actor: Actor, kid: str, *, reason: str, config: LicenseConfig | None = None
) -> str | None:
    """A signing key leaked: revoke it (its tokens stop verifying, online and offline with the published set). If it
    was the active key, a new one takes over (its kid is returned). Admins only, audited. Then `resign_licenses`."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("只有管理员可以停用签名密钥")
    reason = inputs.text(reason, "停用原因", max_length=500)
    config = config or LicenseConfig.from_settings()
    with transaction(session):
        replacement = revoke_key(config.keys_dir, kid, reason, utcnow())
        record(session, actor, "license_key.revoke", "license_key", kid, None,
               {"reason": reason, "new_active_key": replacement})  # fmt: skip
    return replacement


def resign_licenses(session: Session, actor: Actor, *, config: LicenseConfig | None = None) -> list[str]:
    """Sign every license that is still in force (有效, 暂扣) and not signed by the active key again with it, and
    render its certificate anew (the holder downloads the new PDF; the old QR code stops verifying once its key is
    revoked). Admins only; one audit event per license. Returns the license numbers."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("只有管理员可以重新签发许可证")
    config = config or LicenseConfig.from_settings()
    keyset = cached_keyset(config.keys_dir)
    stale = session.exec(
        select(License).where(
            col(License.key_id) != keyset.active_kid,
            col(License.status).in_([LicenseStatus.VALID, LicenseStatus.SUSPENDED]),
        )
    ).all()
    done = []
    for license_ in stale:
        with transaction(session):
            document = license_document(license_, permits_of(session, license_.id))
            token = sign_token(document.signed_content(), keyset)
            before = snapshot(license_, "key_id", "version")
            update_versioned(
                session, license_, "该许可证已被他人变更，请刷新后重试", token=token, key_id=keyset.active_kid or ""
            )
            record(session, actor, "license.resign", "license", license_.number, before,
                   snapshot(license_, "key_id", "version"))  # fmt: skip
        if license_.pdf_path:
            Path(license_.pdf_path).unlink(missing_ok=True)
        ensure_pdf(session, license_, config)
        done.append(license_.number)
    return done
