"""Who may act for a company (issue 17, C1, M2, M1): a stranger who claims another company's 统一社会信用代码 gets no
instant license in its name, takes no premises slot from it and cannot put its own text on the license; the
binding is proved only by the code texted to the legal representative's mobile on record in the registry; codes
and notices go only to numbers proved by a code, lead with the sender's signature, and are rate-limited per number.

The SMS gateway is a real local HTTP server (the edge we do not own); the registry is the local stand-in table and,
in one test, a real local HTTP service behind ONELICENSE_REGISTRY_URL."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from sqlmodel import select

from onelicense.forms.identifiers import uscc_check_char
from onelicense.review.roles import Actor, Role
from onelicense.review.transitions import ReviewStatus
from onelicense.services import applications, reviews, users
from onelicense.services.adapters import registry
from onelicense.settings import get_settings
from onelicense.store.db import session_scope
from onelicense.store.tables import AuditEvent, User
from tests import builders
from tests.web.portal.conftest import PASSWORD, Browser

VICTIM = "91500107MA60R8XQ4" + uscc_check_char("91500107MA60R8XQ4")
VICTIM_REP_PHONE = "13911112222"
COMPANY = {
    "uscc": VICTIM,
    "name": "重庆真实美容有限公司",
    "legal_representative": "赵六",
    "legal_rep_phone": VICTIM_REP_PHONE,
}
ADDRESS = "重庆市渝中区解放碑步行街88号"


class Gateway(BaseHTTPRequestHandler):
    """The SMS gateway: records what it is asked to send."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.received.append(json.loads(body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sms(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    Gateway.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ONELICENSE_NOTIFY_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/sms")
    get_settings.cache_clear()
    with session_scope() as session:
        registry.import_entries(session, Actor("test-setup", Role.ADMIN), [COMPANY])
    yield Gateway.received
    server.shutdown()


def _code(texts: list[dict[str, Any]], to: str) -> str:
    [last] = [t for t in texts if t["to"] == to][-1:]
    found = re.search(r"\b(\d{6})\b", last["text"])
    assert found, last
    return found.group(1)


def _register(browser: Browser, phone: str, texts: list[dict[str, Any]], name: str = "某人") -> None:
    browser.get("/register")
    page = browser.post("/register/code", {"phone": phone})
    assert page.status_code == 200 and 'id="dev-code"' not in page.text  # a gateway: the code is only texted
    done = browser.post("/register", {"name": name, "phone": phone, "uscc": VICTIM, "password": PASSWORD,
                                      "code": _code(texts, phone)})  # fmt: skip
    assert done.status_code == 303, done.text
    browser.get(done.headers["location"])  # the signed-in page: its forms carry the session's CSRF token


def _submit_shop(phone: str, holder_name: str) -> Any:
    answers, materials = builders.valid_application(
        "BEAUTY_SALON", conditions={}, uscc=VICTIM, holder_name=holder_name, legal_representative="冒名者",
        business_address=ADDRESS, **builders.SMALL_SHOP,
    )  # fmt: skip
    with session_scope() as session:
        user = session.exec(select(User).where(User.login == phone)).one()
        submitted = applications.submit(
            session, users.actor_of(user), industry_code="BEAUTY_SALON", answers=answers, materials=materials
        )
        [review] = submitted.reviews
        verdict = reviews.auto_decide(session, review.id)  # what the fan-out does for 秒批
        session.refresh(review)
        return submitted.application, review, verdict


def test_a_stranger_gets_neither_an_instant_license_nor_the_premises_in_another_companys_name(
    sms: list[dict[str, Any]], new_browser
) -> None:
    stranger: Browser = new_browser()
    _register(stranger, "13700000001", sms)
    # the stranger's claim stays unverified: its application carries the registry's name, not its own text
    application, review, verdict = _submit_shop("13700000001", holder_name="重庆市公安局")
    assert application.holder_name == "重庆真实美容有限公司" and application.answers["legal_representative"] == "赵六"
    assert not application.holder_verified and application.open_key is None
    assert verdict is not None and not verdict.eligible and review.status is ReviewStatus.PENDING  # no 秒批

    # the real company: its representative registers, gets the code on the mobile on record, verifies
    owner: Browser = new_browser()
    _register(owner, "13800000002", sms)
    owner.post(f"/portal/companies/{VICTIM}/code")
    texted = sms[-1]
    assert texted["to"] == VICTIM_REP_PHONE  # the registry's number, not one the account typed
    assert texted["text"].startswith("【一业一证】重庆真实美容有限公司") and "138****0002" in texted["text"]
    confirmed = owner.post(f"/portal/companies/{VICTIM}/confirm", {"code": _code(sms, VICTIM_REP_PHONE)})
    assert confirmed.status_code == 200 and "核验成功" in confirmed.text
    mine, my_review, my_verdict = _submit_shop("13800000002", holder_name="重庆真实美容有限公司")
    assert mine.holder_verified and mine.open_key is not None  # the premises are the real holder's
    assert my_verdict is not None and my_verdict.eligible and my_review.status is ReviewStatus.APPROVED  # 秒批
    with session_scope() as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "binding.verify")).all()
        assert event.after == {"uscc": VICTIM, "method": "legal_rep_sms"}


def test_without_the_representatives_code_a_claim_is_never_verified(sms: list[dict[str, Any]], new_browser) -> None:
    stranger: Browser = new_browser()
    _register(stranger, "13700000003", sms)
    stranger.post(f"/portal/companies/{VICTIM}/code")
    right = _code(sms, VICTIM_REP_PHONE)
    for guess in ("000000", "111111", "222222", "333333", "444444"):
        refused = stranger.post(f"/portal/companies/{VICTIM}/confirm", {"code": guess})
        assert refused.status_code == 422 and "验证码错误或已过期" in refused.text
    spent = stranger.post(f"/portal/companies/{VICTIM}/confirm", {"code": right})  # five wrong: the code is spent
    assert spent.status_code == 422
    with session_scope() as session:
        assert session.exec(select(User).where(User.login == "13700000003")).one().verified_usccs == []


def test_codes_are_limited_per_number(sms: list[dict[str, Any]], new_browser, monkeypatch) -> None:
    monkeypatch.setenv("ONELICENSE_SMS_INTERVAL_SECONDS", "60")
    get_settings.cache_clear()
    first: Browser = new_browser()
    first.get("/register")
    assert first.post("/register/code", {"phone": "13600000009"}).status_code == 200
    again = first.post("/register/code", {"phone": "13600000009"})
    assert again.status_code == 429 and "发送过于频繁" in again.text
    assert [t["to"] for t in sms] == ["13600000009"]
    assert all(t["text"].startswith("【一业一证】") for t in sms)


def test_the_registry_behind_its_url_is_asked(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONELICENSE_REGISTRY_URL: a real local HTTP service answers for the registry (404 for an unknown code)."""

    class Registry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            uscc = self.path.rstrip("/").rsplit("/", 1)[-1]
            body = json.dumps({**COMPANY, "status": "吊销"} if uscc == VICTIM else {"detail": "无"}).encode()
            self.send_response(200 if uscc == VICTIM else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ONELICENSE_REGISTRY_URL", f"http://127.0.0.1:{server.server_address[1]}/registry")
    get_settings.cache_clear()
    try:
        with session_scope() as session:
            company = registry.lookup(session, VICTIM)
            assert company is not None and company.name == "重庆真实美容有限公司" and not company.active
            assert registry.lookup(session, builders.valid_application()[0]["uscc"]) is None
    finally:
        server.shutdown()


def test_the_account_sets_the_mobile_its_notices_go_to_with_a_code_sent_there(new_browser) -> None:
    """Issue 19: the phone notices are texted to is settable in the portal, confirmed by a code sent to it; a bad
    number or a wrong code is refused where it was typed and changes nothing."""
    from tests.web.portal.conftest import DEV_CODE

    person: Browser = new_browser()
    person.register("13700000031")
    page = person.get("/account/phone")
    assert page.status_code == 200 and "当前" in page.text
    bad = person.post("/account/phone/code", {"phone": "12345"})
    assert bad.status_code == 422 and 'id="phone-error"' in bad.text
    sent = person.post("/account/phone/code", {"phone": "13911112222"})
    assert sent.status_code == 200 and "139****2222" in sent.text
    code = DEV_CODE.search(sent.text)
    assert code is not None
    wrong = person.post(
        "/account/phone", {"phone": "13911112222", "code": "000000" if code.group(1) != "000000" else "111111"}
    )
    assert wrong.status_code in (400, 422) and 'id="code-error"' in wrong.text
    with session_scope() as session:
        user = session.exec(select(User).where(User.login == "13700000031")).one()
        assert user.phone == "13700000031"  # unchanged
    done = person.post("/account/phone", {"phone": "13911112222", "code": code.group(1)})
    assert done.status_code == 200 and "手机号码已确认" in done.text and "139****2222" in done.text
    with session_scope() as session:
        user = session.exec(select(User).where(User.login == "13700000031")).one()
        assert user.phone == "13911112222" and user.phone_verified_at is not None
        events = [e for e in session.exec(select(AuditEvent)) if e.action == "user.confirm_phone"]
        assert len(events) == 1 and "13911112222" not in json.dumps(events[0].after)
