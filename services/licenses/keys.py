"""The signing keys, of the QR token (Ed25519) and of the PDF (the document-signing certificate): provisioned on
first use, rotated, revoked, every current license signed again with the new keys."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from onelicense.clock import utcnow
from onelicense.errors import Forbidden
from onelicense.licenses import document_keys
from onelicense.licenses.keys import cached_keyset, revoke_key, rotate_key
from onelicense.licenses.pdf_signature import document_signer_kid
from onelicense.licenses.status import LicenseStatus
from onelicense.licenses.token import sign_token
from onelicense.review.roles import Actor, Role
from onelicense.services.licenses.common import LicenseConfig
from onelicense.services.licenses.documents import ensure_pdf, license_document, permits_of
from onelicense.store import inputs
from onelicense.store.audit import record, snapshot
from onelicense.store.db import transaction
from onelicense.store.locking import update_versioned
from onelicense.store.tables.license import License


def provision_keys(config: LicenseConfig | None = None) -> str | None:
    """Make sure a signing key exists, so the published key set answers from the first request on (the server
    does this at start; verification itself never creates keys), and the document-signing certificate, so the
    render pool never makes one. Returns the active key id."""
    config = config or LicenseConfig.from_settings()
    config.signing_files()
    return cached_keyset(config.keys_dir).active_kid


def active_document_kid(config: LicenseConfig) -> str:
    """The kid of the document-signing key that signs new PDFs."""
    return document_keys.document_key_id(document_keys.load_certificate(config.signing_files().certificate))


def rotate_keys(config: LicenseConfig | None = None) -> tuple[str, str | None]:
    """A new token key and, when the local default signs the PDFs, a new document-signing key and certificate
    (a configured certificate is renewed by its CA). Older keys stay: what they signed still verifies.
    Returns (token kid, document kid or None)."""
    config = config or LicenseConfig.from_settings()
    cached_keyset(config.keys_dir)  # a first run creates the initial key, so the rotation is to a second one
    token_kid = rotate_key(config.keys_dir)
    if config.document_signing is not None:
        return token_kid, None
    return token_kid, document_keys.rotate_document_key(config.document_keys_dir, config.authority.name)


def is_document_kid(kid: str) -> bool:
    """Document keys have ids twice as long as token keys (licenses.document_keys.KID_BYTES)."""
    return len(kid) == 2 * document_keys.KID_BYTES


def revoke_signing_key(
    session: Session, actor: Actor, kid: str, *, reason: str, config: LicenseConfig | None = None
) -> str | None:
    """A signing key leaked: revoke it. A token key's tokens stop verifying (online and offline with the published
    set); a document key's PDFs fail `onelicense verify`. If it was the active key, a new one takes over (its kid is
    returned; a configured document certificate is replaced by the operator). Admins only, audited. Then
    `resign_licenses`."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("只有管理员可以停用签名密钥")
    reason = inputs.text(reason, "停用原因", max_length=500)
    config = config or LicenseConfig.from_settings()
    with transaction(session):
        if is_document_kid(kid):
            folder = config.document_keys_dir
            document_keys.require_known(folder, kid, config.configured_certificate())
            replacement = document_keys.revoke_document_key(folder, kid, reason, utcnow(), config.authority.name)
            action, entity = "license_document_key.revoke", "license_document_key"
        else:
            replacement = revoke_key(config.keys_dir, kid, reason, utcnow())
            action, entity = "license_key.revoke", "license_key"
        record(session, actor, action, entity, kid, None, {"reason": reason, "new_active_key": replacement})
    return replacement


def resign_licenses(session: Session, actor: Actor, *, config: LicenseConfig | None = None) -> list[str]:
    """Sign every license that is still in force (有效, 暂扣) and not signed by the active keys again: its token
    when another token key signed it, its certificate anew when that or another document key signed the PDF (the
    holder downloads the new PDF; the old one stops verifying once its key is revoked). Admins only; one audit event
    per license. Returns the license numbers.

    Which document key signed a PDF is the one recorded on the license when its file was written
    (`document_key_id`); a PDF written before that was recorded is opened once to read its signer. The re-rendered
    PDF records the active key, so the verify page's notice about a revoked one goes away."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("只有管理员可以重新签发许可证")
    config = config or LicenseConfig.from_settings()
    keyset = cached_keyset(config.keys_dir)
    document_kid = active_document_kid(config)
    in_force = session.exec(
        select(License).where(col(License.status).in_([LicenseStatus.VALID, LicenseStatus.SUSPENDED]))
    ).all()
    done = []
    for license_ in in_force:
        pdf = Path(license_.pdf_path) if license_.pdf_path else None
        signed_by = _signed_by(license_, pdf, document_kid)
        if license_.key_id == keyset.active_kid and signed_by == document_kid:
            continue
        with transaction(session):
            before = {**snapshot(license_, "key_id", "version"), "document_key": signed_by}
            if license_.key_id != keyset.active_kid:
                document = license_document(license_, permits_of(session, license_.id), config)
                token = sign_token(document.signed_content(), keyset)
                update_versioned(
                    session, license_, "该许可证已被他人变更，请刷新后重试", token=token, key_id=keyset.active_kid or ""
                )
            record(session, actor, "license.resign", "license", license_.number, before,
                   {**snapshot(license_, "key_id", "version"), "document_key": document_kid})  # fmt: skip
        if pdf is not None:
            pdf.unlink(missing_ok=True)
        ensure_pdf(session, license_, config)
        done.append(license_.number)
    return done


def _signed_by(license_: License, pdf: Path | None, active: str) -> str | None:
    """The document key that signed the license's current PDF: as recorded, else read from the file (None: not
    signed); a missing file will be rendered with the active key anyway."""
    if pdf is None or not pdf.exists():
        return active
    return license_.document_key_id or document_signer_kid(pdf.read_bytes())
