"""/v/ says so when the certificate PDF in circulation was signed with a revoked document key, while the license's
status stays what it is; `license resign` renders the PDF anew and the notice is gone. The notice fits a 360 px
phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from onelicense.licenses.pdf_signature import document_signer_kid
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import licenses
from onelicense.store.db import get_session
from onelicense.store.tables.license import License
from onelicense.web.public_schemas import VerifiedLicense
from tests.licenses.conftest import ADMIN, approved_application, make_approved_application, public_app_client  # noqa: F401
from tests.web.live import CHROMIUM_ARGS, live_server

JSON = {"Accept": "application/json"}
NOTICE = "该许可证电子文件的签名密钥已停用，请向发证机关重新获取"


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    yield from public_app_client(db_url, tmp_path, monkeypatch)


def _reloaded(session: Session, number: str) -> License:
    license_ = session.exec(select(License).where(License.number == number)).one()
    session.refresh(license_)
    return license_


def _answers(client: TestClient, license_: License) -> tuple[VerifiedLicense, str]:
    json_answer = client.get(f"/v/{license_.token}", headers=JSON)
    page = client.get(f"/v/{license_.token}")
    assert json_answer.status_code == page.status_code == 200
    return VerifiedLicense.model_validate(json_answer.json()), page.text


def test_verify_page_names_a_revoked_document_key_until_the_license_is_resigned(
    client: TestClient,
    session: Session,
    approved_application,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    issued = licenses.issue_license(session, SYSTEM_ACTOR, approved_application().id)
    pdf = licenses.ensure_pdf(session, issued)
    kid = document_signer_kid(pdf.read_bytes())
    assert kid is not None and _reloaded(session, issued.number).document_key_id == kid

    answer, html = _answers(client, issued)
    assert answer.document_key_revoked is False and answer.document_notice is None
    assert NOTICE not in html and 'id="document-key-revoked"' not in html

    replacement = licenses.revoke_signing_key(session, ADMIN, kid, reason="私钥外泄")
    answer, html = _answers(client, issued)
    assert answer.document_key_revoked is True and answer.document_notice == NOTICE
    assert NOTICE in html and 'id="document-key-revoked"' in html
    # the license itself is what it was: genuine, in force
    assert answer.status.label == answer.license_status.label == "有效"
    assert 'id="composite-status" class="status s01"' in html

    assert licenses.resign_licenses(session, ADMIN) == [issued.number]
    resigned = _reloaded(session, issued.number)
    assert resigned.document_key_id == replacement == document_signer_kid(pdf.read_bytes())
    answer, html = _answers(client, resigned)
    assert answer.document_key_revoked is False and answer.document_notice is None
    assert NOTICE not in html


def test_a_license_whose_pdf_is_not_written_yet_shows_no_notice(
    client: TestClient,
    session: Session,
    approved_application,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    issued = licenses.issue_license(session, SYSTEM_ACTOR, approved_application().id)
    assert issued.document_key_id is None  # the render is queued: which key will sign it is not known yet
    answer, _ = _answers(client, issued)
    assert answer.document_key_revoked is False and answer.document_notice is None


@pytest.mark.browser
def test_the_notice_fits_a_360_px_phone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import sync_playwright

    with live_server(tmp_path, monkeypatch) as (base_url, db_url):
        session = get_session(db_url)
        try:
            issued = licenses.issue_license(session, SYSTEM_ACTOR, make_approved_application(session).id)
            kid = document_signer_kid(licenses.ensure_pdf(session, issued).read_bytes())
            assert kid is not None
            licenses.revoke_signing_key(session, ADMIN, kid, reason="私钥外泄")
        finally:
            session.close()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 360, "height": 740})
                page.goto(f"{base_url}/v/{issued.token}")
                assert NOTICE in page.locator("#document-key-revoked").inner_text()
                assert page.locator("#composite-status").inner_text().strip() == "有效"
                assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
                box = page.locator("#document-key-revoked").bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
            finally:
                browser.close()
