"""What the license modules share: where keys and PDFs live and what the certificate and QR code say
(`LicenseConfig`), the constants, and the helpers more than one of them uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from sqlmodel import Session

from onelicense.errors import Conflict
from onelicense.licenses.document import IssuingAuthority
from onelicense.licenses.document_keys import (
    ROOT_CERTIFICATE,
    SigningFiles,
    document_key_id,
    load_certificate,
    load_certificates,
    local_signing_files,
    revoked_document_keys,
)
from onelicense.licenses.errors import KeyStoreError
from onelicense.licenses.identifier import IdentifierScheme
from onelicense.review.transitions import Decision
from onelicense.services import notifications
from onelicense.settings import Settings, get_settings
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License

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
    identifiers: IdentifierScheme  # the 证照标识's type code and issuer code
    # the PDF's document-signing certificate a CA issued (settings document_signing_*); None: the local one
    document_signing: SigningFiles | None = None
    trust_roots_file: Path | None = None  # more roots `onelicense verify` trusts for the PDF signature

    @property
    def document_keys_dir(self) -> Path:
        """The local document-signing keys and their root, and the revocations of any document key."""
        return self.keys_dir / "document"

    def signing_files(self) -> SigningFiles:
        """What signs the next PDF: the configured certificate, else the local one (made on first need)."""
        if self.document_signing is not None:
            kid = document_key_id(load_certificate(self.document_signing.certificate))
            if kid in revoked_document_keys(self.document_keys_dir):
                raise KeyStoreError(f"配置的文档签名证书（密钥 {kid}）已停用：请配置 CA 新签发的证书")
            return self.document_signing
        return local_signing_files(self.document_keys_dir, self.authority.name)

    def configured_certificate(self) -> x509.Certificate | None:
        return load_certificate(self.document_signing.certificate) if self.document_signing else None

    def trust_roots(self) -> list[x509.Certificate]:
        """The roots a PDF signature is validated against: the local root (when one was made), the last
        certificate of the configured chain, and the configured trust roots."""
        roots = []
        local = self.document_keys_dir / ROOT_CERTIFICATE
        if local.exists():
            roots.append(load_certificate(local))
        if self.document_signing is not None and self.document_signing.chain:
            roots.extend(load_certificates(self.document_signing.chain[-1])[-1:])
        if self.trust_roots_file is not None:
            roots.extend(load_certificates(self.trust_roots_file))
        return roots

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
            identifiers=IdentifierScheme(settings.license_type_code, settings.license_issuer_uscc),
            document_signing=_configured_signing(settings),
            trust_roots_file=settings.document_trust_roots,
        )


_current_config: tuple[Settings, LicenseConfig] | None = None


def _configured_signing(settings: Settings) -> SigningFiles | None:
    if settings.document_signing_certificate is None or settings.document_signing_key is None:
        return None
    chain = (settings.document_signing_chain,) if settings.document_signing_chain else ()
    return SigningFiles(settings.document_signing_key, settings.document_signing_certificate, chain)


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
