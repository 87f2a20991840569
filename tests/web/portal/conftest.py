"""Fixtures of the portal tests: the app on a fresh database (from tests/web/conftest.py), staff accounts with
passwords, and `Browser`, a TestClient that signs in through the login page and sends the CSRF token its pages
carry, as a browser would."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from onelicense.review.roles import Role
from onelicense.services.accounts import hash_password
from onelicense.services.users import create_user
from onelicense.store.db import session_scope
from onelicense.web.app import create_app
from tests.web.conftest import OTHER, OWN, UNINVOLVED  # noqa: F401  (re-exported for the portal tests)
from tests.web.live import CHROMIUM_ARGS
from tests.web.sample import USCC

PASSWORD = "Passw0rd-for-tests"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DEV_CODE = re.compile(r'<strong id="dev-code">(\d{6})</strong>')
STAFF: dict[str, tuple[Role, str | None]] = {
    "reviewer": (Role.REVIEWER, OWN),
    "reviewer2": (Role.REVIEWER, OWN),
    "other_reviewer": (Role.REVIEWER, OTHER),
    "supervisor": (Role.SUPERVISOR, None),
    "admin": (Role.ADMIN, None),
}


class Browser:
    """One browser: its own cookie jar; `get` remembers the last page's CSRF token, `post` sends it."""

    def __init__(self, app: Any) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.csrf: str | None = None

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.get(url, **kwargs)
        if (found := CSRF.search(response.text)) is not None:
            self.csrf = found.group(1)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> httpx.Response:
        body = dict(data or {})
        if csrf and self.csrf and "csrf_token" not in body:
            body["csrf_token"] = self.csrf
        return self.client.post(url, data=body, **kwargs)

    def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/login")
        response = self.post("/login", {"login": login, "password": password})
        assert response.status_code == 303, response.text
        self.get(response.headers["location"])
        return response

    def register(
        self, phone: str, uscc: str = USCC, name: str = "王小二", *, verify: bool = True
    ) -> httpx.Response:
        """Register as a person would: the code texted to the phone (shown on the page: no SMS gateway in tests),
        then, unless `verify` is False, the binding to `uscc` confirmed with the code the legal representative
        receives."""
        self.get("/register")
        sent = self.post("/register/code", {"phone": phone})
        assert sent.status_code == 200, sent.text
        code = DEV_CODE.search(sent.text)
        assert code, sent.text
        response = self.post(
            "/register", {"name": name, "phone": phone, "uscc": uscc, "password": PASSWORD, "code": code.group(1)}
        )
        assert response.status_code == 303, response.text
        self.get(response.headers["location"])
        if verify:
            self.verify_company(uscc)
        return response

    def verify_company(self, uscc: str = USCC) -> None:
        page = self.post(f"/portal/companies/{uscc}/code")
        assert page.status_code == 200, page.text
        code = DEV_CODE.search(page.text)
        assert code, page.text
        confirmed = self.post(f"/portal/companies/{uscc}/confirm", {"code": code.group(1)})
        assert confirmed.status_code == 200 and "核验成功" in confirmed.text, confirmed.text


@pytest.fixture
def app(database: str) -> Iterator[Any]:
    application = create_app()
    with TestClient(application):  # runs the lifespan once
        yield application


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash the tests' one password once


@pytest.fixture
def staff(database: str) -> dict[str, str]:
    """Staff accounts with portal passwords: login name → user id."""
    ids = {}
    with session_scope() as session:
        for login, (role, department) in STAFF.items():
            user, _ = create_user(
                session, f"{login}-name", role, department, login=login, password_hash=password_hash()
            )
            ids[login] = user.id
    return ids


@pytest.fixture
def browser(app: Any) -> Browser:
    return Browser(app)


@pytest.fixture
def new_browser(app: Any):
    return lambda: Browser(app)


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, for the browser tests (each opens contexts of its own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


PHONE = {"width": 360, "height": 740}


def signed_in(chromium: Any, base_url: str, login: str, *, scripts: bool = True) -> Any:
    """A page of a new 360 px phone context signed in through the login page as `login`."""
    page = chromium.new_context(viewport=PHONE, base_url=base_url, java_script_enabled=scripts).new_page()
    page.goto("/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url("**/portal**")
    return page


def fits_the_phone(page: Any) -> None:
    """No sideways scrolling on the phone (the page's scripts must be on to measure)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a {PHONE['width']} px phone"
