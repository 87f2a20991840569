"""Sign-in through the identity provider (统一身份认证 / 电子营业执照, OpenID Connect), against a real provider
started locally: panva/node-oidc-provider (OpenID Certified), driven through its own login and consent forms. The
person it asserts gets an applicant account, and the company its token names is a verified binding — no code, no
typed claim. A callback that does not carry the state this browser left with signs nobody in."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from sqlmodel import select

from onelicense.settings import get_settings
from onelicense.store.db import session_scope
from onelicense.store.tables import AuditEvent, User
from tests.web.live import live_server
from tests.web.sample import USCC

pytestmark = pytest.mark.slow
PROVIDER = Path(__file__).resolve().parents[2] / "oidc"
SUBJECT = "zhao-liu"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """Our server, and the identity provider configured with its callback."""
    with live_server(tmp_path, monkeypatch) as (base_url, _db_url):
        port = _free_port()
        env = {
            **os.environ,
            "PORT": str(port),
            "CLIENT_ID": "onelicense",
            "CLIENT_SECRET": "test-secret-of-the-client",
            "REDIRECT_URI": f"{base_url}/login/oidc/callback",
            "ACCOUNTS": json.dumps({SUBJECT: {"name": "赵六", "uscc": USCC, "phone_number": "13900000007",
                                               "phone_number_verified": True}}),
        }
        provider = subprocess.Popen(["node", str(PROVIDER / "provider.mjs")], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)  # fmt: skip
        issuer = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert provider.poll() is None and time.monotonic() < deadline, "the OIDC provider did not start"
                time.sleep(0.2)
            monkeypatch.setenv("ONELICENSE_OIDC_ISSUER", issuer)
            monkeypatch.setenv("ONELICENSE_OIDC_CLIENT_ID", "onelicense")
            monkeypatch.setenv("ONELICENSE_OIDC_CLIENT_SECRET", "test-secret-of-the-client")
            get_settings.cache_clear()
            yield base_url, issuer
        finally:
            provider.terminate()
            provider.wait(timeout=10)


def _through_the_provider(browser: httpx.Client, start: str, base_url: str) -> str:
    """Follow the browser's way from `start` through the provider's login and consent forms; returns the URL it
    is sent back to (our callback, with the code)."""
    url = start
    for _ in range(20):
        if url.startswith(f"{base_url}/login/oidc/callback"):
            return url
        response = browser.get(url)
        if response.status_code in (302, 303):
            url = urljoin(url, response.headers["location"])
            continue
        assert response.status_code == 200, response.text
        form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', response.text, re.S)
        assert form, response.text
        fields = {}
        for tag in re.findall(r"<input[^>]*>", form.group(2)):
            attributes = dict(re.findall(r'(\w+)="([^"]*)"', tag))
            if "name" in attributes:
                fields[attributes["name"]] = unescape(attributes.get("value", ""))
        if "login" in fields:
            fields.update(login=SUBJECT, password="any")
        posted = browser.post(urljoin(url, unescape(form.group(1))), data=fields)
        assert posted.status_code in (302, 303), posted.text
        url = urljoin(url, posted.headers["location"])
    raise AssertionError("the provider never sent the browser back")


def test_the_provider_signs_the_person_in_and_verifies_the_company_it_asserts(server: tuple[str, str]) -> None:
    base_url, issuer = server
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        assert "使用统一身份认证登录" in browser.get(f"{base_url}/login").text
        leave = browser.get(f"{base_url}/login/oidc")
        assert leave.status_code == 303 and leave.headers["location"].startswith(f"{issuer}/auth?")
        assert "code_challenge_method=S256" in leave.headers["location"]
        back = _through_the_provider(browser, leave.headers["location"], base_url)
        signed = browser.get(back)
        assert signed.status_code == 303 and signed.headers["location"] == "/portal/companies"
        page = browser.get(f"{base_url}/portal/companies")
        assert page.status_code == 200 and "已核验" in page.text and USCC in page.text

        # the same person again: the same account
        again = _through_the_provider(browser, browser.get(f"{base_url}/login/oidc").headers["location"], base_url)
        assert browser.get(again).status_code == 303
    with session_scope() as session:
        [user] = session.exec(select(User).where(User.oidc_subject == f"{issuer}|{SUBJECT}")).all()
        assert user.name == "赵六" and user.verified_usccs == [USCC] and user.phone_verified_at is not None
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "binding.verify")).all()
        assert event.after == {"uscc": USCC, "method": f"oidc: {issuer}"}


def test_a_callback_without_this_browsers_state_signs_nobody_in(server: tuple[str, str]) -> None:
    base_url, _ = server
    with httpx.Client(follow_redirects=False, timeout=30) as victim, httpx.Client(follow_redirects=False) as attacker:
        back = _through_the_provider(attacker, attacker.get(f"{base_url}/login/oidc").headers["location"], base_url)
        victim.get(f"{base_url}/login/oidc")  # the victim's own state, in its own cookie
        planted = victim.get(back)  # the attacker's code and state, opened in the victim's browser (login CSRF)
        assert planted.status_code == 401 and "统一身份认证登录失败" in planted.text
        assert "ol_session" not in victim.cookies
        tampered = attacker.get(back.replace("state=", "state=x"))
        assert tampered.status_code == 401
    with session_scope() as session:
        assert session.exec(select(User).where(User.oidc_subject.is_not(None))).all() == []  # type: ignore[union-attr]
