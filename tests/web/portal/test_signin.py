"""Sign-in, registration, sessions and CSRF of the portal."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from onelicense.store.db import session_scope
from onelicense.store.tables import AuditEvent, User, WebSession
from tests.web.portal.conftest import PASSWORD, Browser
from tests.web.sample import USCC


def test_applicant_registers_and_lands_on_its_portal(browser: Browser):
    browser.register("13800138001")
    page = browser.get("/portal")
    assert page.status_code == 200
    with session_scope() as session:
        user = session.exec(select(User).where(User.login == "13800138001")).one()
    assert user.role.value == "applicant" and user.usccs == [USCC]
    assert user.password_hash and PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2")


def test_registration_names_every_bad_field_in_chinese_and_stores_nothing(browser: Browser):
    browser.get("/register")
    response = browser.post(
        "/register", {"name": "", "phone": "123", "uscc": "91500000MA5U7K2X3X", "password": "password1", "code": "1"}
    )
    assert response.status_code == 422
    for key, words in [("name", "可见字符"), ("phone", "手机号码"), ("uscc", ""), ("password", "12–128")]:
        assert f'id="{key}-error"' in response.text, key
        assert words in response.text
    with session_scope() as session:
        assert session.exec(select(User)).all() == []


def test_a_phone_registers_once_and_registration_does_not_tell_who_has_an_account(browser: Browser, new_browser):
    browser.register("13800138002")
    other = new_browser()
    other.get("/register")
    taken = other.post("/register/code", {"phone": "13800138002"})
    free = new_browser()
    free.get("/register")
    fresh = free.post("/register/code", {"phone": "13800138003"})
    assert taken.status_code == fresh.status_code == 200
    assert "验证码已发送至 138****8002" in taken.text and "验证码已发送至 138****8003" in fresh.text
    # without a code (its owner was texted that it is registered) the number cannot be registered again
    guessed = other.post("/register", {"name": "某人", "phone": "13800138002", "uscc": USCC, "password": PASSWORD,
                                       "code": "000000"})  # fmt: skip
    assert guessed.status_code == 422 and "验证码错误或已过期" in guessed.text
    with session_scope() as session:
        assert len(session.exec(select(User).where(User.login == "13800138002")).all()) == 1


def test_wrong_password_and_unknown_account_get_the_same_answer(browser: Browser, staff):
    browser.get("/login")
    wrong = browser.post("/login", {"login": "reviewer", "password": "nope-12345"})
    unknown = browser.post("/login", {"login": "nobody", "password": "nope-12345"})
    assert wrong.status_code == unknown.status_code == 401
    assert "账号或密码错误" in wrong.text and "账号或密码错误" in unknown.text


def test_five_failures_make_the_next_attempt_wait_and_are_audited_without_the_account(new_browser, staff):
    for attempt in range(5):
        # each attempt from a fresh browser: the count is per account and address, not per cookie jar
        b = new_browser()
        b.get("/login")
        assert b.post("/login", {"login": "reviewer", "password": f"wrong-{attempt}x"}).status_code == 401
    b = new_browser()
    b.get("/login")
    waiting = b.post("/login", {"login": "reviewer", "password": PASSWORD})  # even the right password waits
    assert waiting.status_code == 429 and "秒后再试" in waiting.text and int(waiting.headers["Retry-After"]) >= 1
    with session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "login.throttle")).all()
    assert {e.after["kind"] for e in events} == {"pair"}
    assert all("reviewer" not in str(e.after) and "reviewer" not in e.entity_id for e in events)


def test_sign_in_issues_a_new_session_id_and_ignores_a_planted_one(browser: Browser, staff):
    planted = "planted-by-an-attacker-0123456789"
    browser.client.cookies.set("ol_session", planted)
    browser.get("/login")
    response = browser.post("/login", {"login": "reviewer", "password": PASSWORD})
    issued = response.cookies.get("ol_session")
    assert issued and issued != planted
    with session_scope() as session:
        stored = session.exec(select(WebSession)).one()
    assert stored.id_hash == hashlib.sha256(issued.encode()).hexdigest()  # only the hash is stored
    attacker = Browser(browser.client.app)
    attacker.client.cookies.set("ol_session", planted)
    assert attacker.get("/desk").status_code == 303  # the planted id signs nobody in


def test_logout_revokes_the_session_server_side(browser: Browser, staff):
    browser.sign_in("reviewer")
    stolen = browser.client.cookies.get("ol_session")
    browser.get("/desk")
    assert browser.post("/logout").status_code == 303
    with session_scope() as session:
        assert session.exec(select(WebSession)).one().revoked_at is not None
    replay = Browser(browser.client.app)
    replay.client.cookies.set("ol_session", stolen)
    response = replay.get("/desk")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_post_without_the_csrf_token_is_refused(browser: Browser, staff):
    browser.sign_in("reviewer")
    response = browser.post("/logout", csrf=False)
    assert response.status_code == 403 and "CSRF" in response.text
    forged = browser.post("/logout", {"csrf_token": "guessed"})
    assert forged.status_code == 403
    with session_scope() as session:
        assert session.exec(select(WebSession)).one().revoked_at is None


def test_login_form_itself_needs_its_double_submit_token(new_browser, staff):
    b = new_browser()
    response = b.post("/login", {"login": "reviewer", "password": PASSWORD}, csrf=False)
    assert response.status_code == 403


def test_cookies_are_httponly_and_samesite_lax(browser: Browser, staff):
    browser.get("/login")
    response = browser.post("/login", {"login": "reviewer", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_pages_need_sign_in_and_come_back_after_it(browser: Browser, staff):
    response = browser.get("/desk?status=pending")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdesk%3Fstatus%3Dpending"
    login = browser.get(response.headers["location"])
    assert 'value="/desk?status=pending"' in login.text
    done = browser.post("/login", {"login": "reviewer", "password": PASSWORD, "next": "/desk?status=pending"})
    assert done.headers["location"] == "/desk?status=pending"
    fresh = Browser(browser.client.app)
    fresh.get("/login")
    evil = fresh.post("/login", {"login": "reviewer", "password": PASSWORD, "next": "//evil.example/"})
    assert evil.headers["location"] == "/desk"
