"""The certificate: what it prints (the license document), rendering it in the dispatcher's pool, writing the file
and recording which document key signed it, rendering a missing one on demand."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from onelicense.clock import utcnow
from onelicense.licenses.document import LicenseDocument, PermitEntry
from onelicense.licenses.document_keys import SigningFiles, cached_revoked_document_keys
from onelicense.licenses.identifier import looks_like_identifier
from onelicense.licenses.pdf import render_pdf
from onelicense.licenses.pdf_signature import document_signer_kid, sign_pdf
from onelicense.licenses.qr import verify_url
from onelicense.services.licenses.common import LicenseConfig
from onelicense.store import outbox
from onelicense.store.db import transaction
from onelicense.store.tables.license import License, LicensePermit

# shown on the verify page when the PDF in circulation was signed with a revoked document key
DOCUMENT_KEY_REVOKED_NOTICE = "该许可证电子文件的签名密钥已停用，请向发证机关重新获取"


def permits_of(session: Session, license_id: str) -> list[LicensePermit]:
    statement = (
        select(LicensePermit).where(LicensePermit.license_id == license_id).order_by(col(LicensePermit.position))
    )
    return list(session.exec(statement))


def identifier_of(license_: License, config: LicenseConfig | None = None) -> str:
    """The 证照标识 of the license's current edition (GB/T 36904; licenses.identifier)."""
    return (config or LicenseConfig.from_settings()).identifiers.identifier(license_.number, license_.edition)


def license_number_for(key: str, config: LicenseConfig | None = None) -> str:
    """The license number a lookup key names: a license number as it is, or one of our 证照标识 (of any edition) →
    its serial, which is the number. A 证照标识 that is wrong or not ours raises InvalidIdentifier."""
    key = key.strip()
    if not looks_like_identifier(key):
        return key
    number, _ = (config or LicenseConfig.from_settings()).identifiers.license_number(key.upper())
    return number


def license_document(
    license_: License, permits: list[LicensePermit], config: LicenseConfig | None = None
) -> LicenseDocument:
    """The certificate as printed, from the stored rows (the same content the token was signed from)."""
    return LicenseDocument(
        number=license_.number,
        identifier=identifier_of(license_, config),
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
    """Everything rendering needs, picklable: what the PDF says, the QR code's URL, where it goes, and the paths of
    the document-signing key and certificates (the pool's process loads them itself)."""

    document: LicenseDocument
    verify_url: str
    templates_dir: Path | None
    path: Path
    signing: SigningFiles


def certificate(session: Session, license_: License, config: LicenseConfig | None = None) -> Certificate:
    config = config or LicenseConfig.from_settings()
    path = Path(license_.pdf_path) if license_.pdf_path else config.pdf_dir / f"{license_.number}.pdf"
    document = license_document(license_, permits_of(session, license_.id), config)
    url = verify_url(config.public_base_url, license_.token)
    return Certificate(document, url, config.templates_dir, path, config.signing_files())


def render_certificate(certificate: Certificate) -> bytes:
    """The PDF bytes, signed as PAdES (pure, CPU-bound: the dispatcher runs it in a pool of processes)."""
    pdf = render_pdf(certificate.document, certificate.verify_url, certificate.templates_dir, modified=utcnow())
    return sign_pdf(pdf, certificate.signing)


def write_certificate(path: Path, pdf: bytes) -> Path:
    """Write the file atomically: a unique partial file per writer, then a rename (the last one wins)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(pdf)
    os.replace(partial, path)
    return path


def record_document_signer(session: Session, certificate: Certificate, pdf: bytes, *, commit: bool = True) -> None:
    """Note on the license which document key signed `pdf`, the file just written at `certificate.path`, so the
    verify page can tell when that key is revoked. Read from the signature itself (the truth, whatever the
    settings say now). Only while that file is still the license's current one: a render of an edition replaced in
    the meantime records nothing. `updated_at` moves with it (what a public page keyed on the row sees); `version`
    does not: no one's edit of the license conflicts with it."""
    number, path = certificate.document.number, str(certificate.path)
    statement = (
        update(License)
        .where(col(License.number) == number, or_(col(License.pdf_path) == path, col(License.pdf_path).is_(None)))
        .values(document_key_id=document_signer_kid(pdf), updated_at=utcnow())
    )
    with transaction(session, commit=commit):
        session.execute(statement)


def store_certificate(session: Session, certificate: Certificate, pdf: bytes) -> Path:
    """Write the rendered, signed file and record its document key on the license (commits)."""
    path = write_certificate(certificate.path, pdf)
    record_document_signer(session, certificate, pdf)
    return path


def document_key_revoked(license_: License, config: LicenseConfig | None = None) -> bool:
    """Whether the license's current PDF was signed with a document key revoked since: that PDF then fails every
    validator (pdfsig, OpenSSL, pyHanko, `onelicense verify`) and its holder should fetch the re-signed one
    (`license resign`). The license's status is not affected. Unknown (a PDF written before migration 0017, or not
    written yet): False."""
    if license_.document_key_id is None:
        return False
    config = config or LicenseConfig.from_settings()
    return license_.document_key_id in cached_revoked_document_keys(config.document_keys_dir)


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
    return store_certificate(session, wanted, render_certificate(wanted))


def ensure_pdf(session: Session, license_: License, config: LicenseConfig | None = None) -> Path:
    """The certificate file, rendered here and now if it is missing (a download before the pool got to it, a
    deleted file)."""
    wanted = certificate(session, license_, config)
    if wanted.path.exists():
        return wanted.path
    return store_certificate(session, wanted, render_certificate(wanted))
