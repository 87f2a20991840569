"""One real browser: Debian's Chromium opens a verify URL served by uvicorn and reads the composite status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from onelicense.licenses.status import Operation
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import licenses
from onelicense.store.db import get_session
from tests.licenses.conftest import make_approved_application, reviewer
from tests.web.live import CHROMIUM_ARGS, live_server

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    with live_server(tmp_path, monkeypatch) as started:
        yield started


def test_chromium_shows_the_live_composite_status(server: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    base_url, db_url = server
    session = get_session(db_url)
    try:
        license_ = licenses.issue_license(session, SYSTEM_ACTOR, make_approved_application(session).id)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"{base_url}/v/{license_.token}")
                assert page.locator("#composite-status").inner_text().strip() == "有效"
                assert license_.holder_name in page.locator("#holder-name").inner_text()
                licenses.change_permit(
                    session, reviewer("SCJG"), f"{license_.number}-01", Operation.SUSPEND, reason="停业整顿"
                )
                page.reload()
                assert page.locator("#composite-status").inner_text().strip() == "暂扣"
                assert "食品经营许可" in page.locator("#blocking").inner_text()
            finally:
                browser.close()
    finally:
        session.close()
