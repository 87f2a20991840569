"""The whole path a citizen takes: the issued PDF's QR code, decoded from the rendered page by a real decoder,
opens a page that says 有效; after a suspension the same URL says 暂扣 and names the permit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from onelicense.licenses.status import Operation
from onelicense.licenses.verify import qr_texts_in_file
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import licenses
from tests.licenses.conftest import PUBLIC_BASE_URL, approved_application, public_app_client, reviewer  # noqa: F401


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    yield from public_app_client(db_url, tmp_path, monkeypatch)


def test_scanning_the_printed_certificate_shows_the_live_status(
    client: TestClient,
    session: Session,
    approved_application,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    license_ = licenses.issue_license(session, SYSTEM_ACTOR, approved_application().id)
    [scanned] = qr_texts_in_file(licenses.ensure_pdf(session, license_))
    assert scanned == f"{PUBLIC_BASE_URL}/v/{license_.token}"
    path = urlsplit(scanned).path

    page = client.get(path)
    assert page.status_code == 200
    assert '"composite-status" class="status s01"' in page.text and ">有效<" in page.text

    licenses.change_permit(session, reviewer("SCJG"), f"{license_.number}-01", Operation.SUSPEND, reason="停业整顿")
    page = client.get(path)
    assert ">暂扣<" in page.text
    blocking = page.text.split('id="blocking"', 1)[1].split("</div>\n  </div>", 1)[0]
    assert "食品经营许可" in blocking


def test_a_renewal_reissues_the_certificate_and_the_old_code_points_to_the_new_one(
    client: TestClient,
    session: Session,
    approved_application,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    license_ = licenses.issue_license(session, SYSTEM_ACTOR, approved_application().id)
    [old] = qr_texts_in_file(licenses.ensure_pdf(session, license_))
    assert "已更新" not in client.get(urlsplit(old).path).text
    licenses.change_permit(
        session, reviewer("SCJG"), f"{license_.number}-01", Operation.RENEW, reason="延续申请已准予",
        valid_until=date(2040, 3, 13),
    )  # fmt: skip
    session.refresh(license_)
    [new] = qr_texts_in_file(licenses.ensure_pdf(session, license_))  # the reprinted certificate
    assert new != old and license_.edition == 2
    stale = client.get(urlsplit(old).path)
    assert stale.status_code == 200 and 'id="superseded"' in stale.text and "已更新" in stale.text
    assert f'href="{new}"' in stale.text and "第 2 版" in stale.text
    current = client.get(urlsplit(new).path)
    assert 'id="superseded"' not in current.text and "2040-03-13" in current.text
    as_json = client.get(urlsplit(old).path, headers={"Accept": "application/json"}).json()
    assert as_json["current"] is False and as_json["current_url"] == new and as_json["edition"] == 2
