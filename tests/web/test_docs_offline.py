"""The API documentation works on an intranet with no internet: /docs and /redoc render every operation in
Chromium while every request that leaves 127.0.0.1 is blocked (and recorded: there must be none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.web.live import CHROMIUM_ARGS, live_server

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    with live_server(tmp_path, monkeypatch) as started:
        yield started


def _operations(base_url: str) -> int:
    paths = httpx.get(f"{base_url}/openapi.json", timeout=30).json()["paths"]
    return sum(1 for item in paths.values() for method in item if method in {"get", "post", "put", "patch", "delete"})


def test_docs_and_redoc_render_their_operations_with_the_internet_blocked(server: tuple[str, str]) -> None:
    from playwright.sync_api import Route, sync_playwright

    base_url, _ = server
    operations = _operations(base_url)
    assert operations > 20
    outside: list[str] = []
    console_errors: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"} or route.request.url.startswith(
            ("data:", "blob:")
        ):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.route("**/*", only_local)
            page = context.new_page()
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

            page.goto(f"{base_url}/docs")
            page.locator(".opblock").first.wait_for(timeout=30_000)
            assert page.locator(".opblock").count() == operations
            assert "onelicense" in page.locator(".info .title").inner_text()

            page.goto(f"{base_url}/redoc")
            page.locator("[data-section-id^='operation/']").first.wait_for(timeout=30_000)
            assert page.locator("[data-section-id^='operation/']").count() == operations
        finally:
            browser.close()
    assert outside == []
    assert [e for e in console_errors if "Content Security Policy" in e] == []
