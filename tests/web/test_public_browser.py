"""One real browser: Debian's Chromium opens a verify URL served by uvicorn and reads the composite status."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from licenses.status import Operation
from onelicense.settings import get_settings
from review.roles import SYSTEM_ACTOR
from services import licenses
from store.db import dispose_engine, get_session, migrate
from tests.licenses.conftest import make_approved_application, reviewer
from web.app import create_app

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    port = _free_port()
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", url)
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONELICENSE_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    migrate(url)
    uv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", url
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        dispose_engine(url)
        get_settings.cache_clear()


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
