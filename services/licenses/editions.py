"""Editions (换发): a new edition of the certificate after a change, the token signed again."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlmodel import Session

from onelicense.clock import utcnow
from onelicense.licenses.keys import cached_keyset
from onelicense.licenses.token import sign_token
from onelicense.review.roles import Actor
from onelicense.services.licenses.common import LicenseConfig, _notify_holder
from onelicense.services.licenses.documents import license_document, permits_of
from onelicense.store import outbox
from onelicense.store.audit import record, snapshot
from onelicense.store.locking import update_versioned
from onelicense.store.tables.license import License


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
    document = replace(license_document(license_, permits_of(session, license_.id), config), issued_at=at)
    update_versioned(
        session,
        license_,
        "该许可证已被他人变更，请刷新后重试",
        edition=edition,
        edition_at=at,
        token=sign_token(document.signed_content(), keyset),
        key_id=keyset.active_kid or "",
        pdf_path=str(config.pdf_dir / f"{license_.number}-{edition}.pdf"),
        document_key_id=None,  # known once the new edition's PDF is written
    )
    record(session, actor, "license.reissue", "license", license_.number, before,
           {**snapshot(license_, "edition", "key_id", "version"), "reason": reason})  # fmt: skip
    if license_.application_id is not None:
        outbox.enqueue(session, outbox.RENDER_PDF, license_.application_id, payload={"number": license_.number})
        _notify_holder(session, license_, "reissued", f"{license_.id}:{edition}", detail=reason)
    return license_
