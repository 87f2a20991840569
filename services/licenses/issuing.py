"""Issuing (新发) exactly once per application: the license number, its permits and their validity, the signed token,
the outbox message that renders the certificate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from onelicense.clock import china_date, utcnow
from onelicense.errors import Conflict, InvalidRequest
from onelicense.licenses.document import LicenseDocument, PermitEntry
from onelicense.licenses.keys import cached_keyset
from onelicense.licenses.numbering import format_number, number_prefix, permit_number
from onelicense.licenses.status import validity_end
from onelicense.licenses.token import sign_token
from onelicense.review.roles import Actor, require_role
from onelicense.review.transitions import ApplicationStatus
from onelicense.services import catalog as catalogs
from onelicense.services import notifications, obligations
from onelicense.services.applications import mark_issued
from onelicense.services.licenses.changes import _apply_change_application
from onelicense.services.licenses.common import _ISSUE_ATTEMPTS, LicenseConfig, _granted_permits
from onelicense.store import outbox
from onelicense.store.access import OVERSEERS
from onelicense.store.audit import record
from onelicense.store.db import transaction
from onelicense.store.locking import lock_application
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License, LicenseCounter, LicensePermit


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
        identifier=config.identifiers.identifier(number, 1),
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
