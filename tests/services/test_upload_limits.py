"""Bounded costs of uploads (issue 17, M3): an account keeps at most UPLOAD_QUOTA_BYTES of files; files nothing
refers to are deleted by the sweep after UPLOAD_ORPHAN_DAYS (their bytes too, unless another upload has them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from onelicense.clock import utcnow
from onelicense.errors import Conflict
from onelicense.services import drafts, uploads
from onelicense.settings import Settings, get_settings
from onelicense.store.tables.portal import Upload
from tests.builders import APPLICANT

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"%" * 2000


def test_an_account_cannot_store_more_than_its_quota(
    session: Session, isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONELICENSE_UPLOAD_QUOTA_BYTES", str(5000))
    get_settings.cache_clear()
    uploads.store_upload(session, APPLICANT, PDF, "一.pdf")
    uploads.store_upload(session, APPLICANT, PDF + b"2", "二.pdf")
    with pytest.raises(Conflict, match="总量已达上限"):
        uploads.store_upload(session, APPLICANT, PDF + b"3", "三.pdf")


def test_unreferenced_uploads_are_removed_after_a_week_and_referenced_ones_kept(
    session: Session, isolated_settings: Settings
) -> None:
    kept = uploads.store_upload(session, APPLICANT, PDF, "营业执照.pdf")
    orphan = uploads.store_upload(session, APPLICANT, PDF + b"orphan", "无用.pdf")
    fresh = uploads.store_upload(session, APPLICANT, PDF + b"fresh", "刚传.pdf")
    draft = drafts.new_draft(session, APPLICANT, "CONVENIENCE_STORE")
    draft.materials = {"business_license": uploads.reference(kept)}
    session.add(draft)
    for upload in (kept, orphan):
        upload.created_at = utcnow() - timedelta(days=8)
        session.add(upload)
    session.commit()
    orphan_blob = uploads.blob_path(orphan.sha256)
    assert orphan_blob.is_file()

    assert uploads.remove_orphans(session) == 1
    assert session.get(Upload, orphan.id) is None and not orphan_blob.exists()
    assert session.get(Upload, kept.id) is not None and uploads.blob_path(kept.sha256).is_file()
    assert session.get(Upload, fresh.id) is not None  # younger than a week: maybe still being filled in
    assert uploads.remove_orphans(session) == 0
