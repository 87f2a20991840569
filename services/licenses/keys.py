"""The signing keys: provisioned on first use, revoked, every current license signed again with the new key."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from onelicense.clock import utcnow
from onelicense.errors import Forbidden
from onelicense.licenses.keys import cached_keyset, revoke_key
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
            document = license_document(license_, permits_of(session, license_.id), config)
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
