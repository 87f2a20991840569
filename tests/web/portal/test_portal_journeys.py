"""The applicant's whole journey in Debian's Chromium, twice: with the keyboard only (Tab, typing, Space and
Enter; no click, no scripted fill) and with scripts off (plain form posts). Register, confirm the company, open a
draft, fill it, save, upload every material needed now, pre-review, sign and submit, follow the stepper, download
the license. Then, on a 360 px phone: the 好差评, a change of name and a cancellation through the progress page; and
the service hall: twenty failed sign-ins from one address do not lock a reviewer out. The departments' decisions
are taken through the services (their own browser journey is in test_portal_browser.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import select

from onelicense.licenses.qr import verify_url
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role
from onelicense.services import aggregation, applications, licenses
from onelicense.services.adapters import registry
from onelicense.services.users import create_user
from onelicense.store.db import session_scope
from onelicense.store.tables import Application
from onelicense.store.tables.license import License
from tests import builders
from tests.web.live import live_server, run_dispatcher_until
from tests.web.portal.conftest import PASSWORD, PHONE, fits_the_phone, password_hash, signed_in
from tests.web.sample import REGISTERED, SMALL_INDUSTRY, USCC, submission_body

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TABS = 400  # more Tab presses than the longest page has stops: past this, the element is out of a keyboard's reach


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with live_server(tmp_path, monkeypatch) as (base_url, _):
        yield base_url


class Keyboard:
    """A person with a keyboard and no mouse: every element is reached with Tab and used with keys."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def focus(self, selector: str) -> None:
        for _ in range(TABS):
            if self.page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
                return
            self.page.keyboard.press("Tab")
        raise AssertionError(f"{selector} not reached with {TABS} Tab presses on {self.page.url}")

    def fill(self, selector: str, value: str) -> None:
        self.focus(selector)
        if self.page.evaluate("s => document.querySelector(s).type", selector) == "date":
            # a date is typed segment by segment in the order the browser's own language shows them: this
            # Chromium's is en-US (月/日/年); a Chinese Chromium would show 年/月/日
            year, month, day = value.split("-")
            self.page.keyboard.type(month + day + year)
            assert self.page.evaluate("s => document.querySelector(s).value", selector) == value
            return
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.type(value)

    def choose(self, selector: str, value: str) -> None:
        """A <select>: arrow keys until the wanted option is selected."""
        self.focus(selector)
        for _ in range(50):
            if self.page.evaluate("s => document.querySelector(s).value", selector) == value:
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"{value} not among the options of {selector}")

    def tick(self, selector: str) -> None:
        self.focus(selector)
        self.page.keyboard.press("Space")

    def press(self, selector: str) -> None:
        self.focus(selector)
        self.page.keyboard.press("Enter")

    def attach(self, selector: str, name: str, content: bytes) -> None:
        """Space on the focused file input opens the chooser. On a machine under load a script of the page (htmx
        settling the previous upload) may move the focus between the Tab and the Space, as it would under a fast
        typist: then the person looks, goes back to the input and presses again (at most three times)."""
        for _ in range(3):
            self.focus(selector)
            try:
                with self.page.expect_file_chooser(timeout=10_000) as chooser:
                    self.page.keyboard.press("Space")
            except PlaywrightTimeout:
                continue
            chooser.value.set_files(files=[{"name": name, "mimeType": "application/pdf", "buffer": content}])
            return
        raise AssertionError(f"Space on {selector} opened no file chooser, three times")


class NoScripts:
    """A person whose browser runs no scripts: the same steps, with the pointer, as plain form posts."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def fill(self, selector: str, value: str) -> None:
        self.page.fill(selector, value)

    def choose(self, selector: str, value: str) -> None:
        self.page.select_option(selector, value)

    def tick(self, selector: str) -> None:
        self.page.check(selector)

    def press(self, selector: str) -> None:
        self.page.click(selector)

    def attach(self, selector: str, name: str, content: bytes) -> None:
        self.page.set_input_files(selector, files=[{"name": name, "mimeType": "application/pdf", "buffer": content}])


def _dev_code(page: Any) -> str:
    page.locator("#dev-code").wait_for()  # no SMS gateway in tests: the page shows the code
    return str(page.locator("#dev-code").inner_text())


def _rendered(application_id: str) -> bool:
    with session_scope() as session:
        found = session.exec(select(License).where(License.application_id == application_id)).first()
        return bool(found and found.pdf_path and Path(found.pdf_path).is_file())


def _current_step(page: Any) -> str:
    return str(page.locator(".stepper [aria-current='step']").inner_text())


@pytest.mark.parametrize("way", ["keyboard", "no-scripts"])
def test_the_whole_applicant_journey(server: str, chromium: Any, way: str) -> None:
    keyboard = way == "keyboard"
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900},
        base_url=server,
        java_script_enabled=keyboard,
        accept_downloads=True,
    )
    page = context.new_page()
    person: Keyboard | NoScripts = Keyboard(page) if keyboard else NoScripts(page)
    body = submission_body(SMALL_INDUSTRY)

    # register and confirm the company
    page.goto("/register")
    person.fill("#phone", "13700001234")
    person.press("button[formaction='/register/code']")
    code = _dev_code(page)
    person.fill("#code", code)
    person.fill("#name", "王小二")
    person.fill("#uscc", USCC)
    person.fill("#password", PASSWORD)
    person.press("button.primary")
    page.wait_for_url("**/portal/companies")
    person.press(f"form[action='/portal/companies/{USCC}/code'] button")
    person.fill(f"#code-{USCC}", _dev_code(page))
    person.press(f"form[action='/portal/companies/{USCC}/confirm'] button")
    page.locator("text=核验成功").wait_for()

    # a new draft for the industry
    page.goto("/portal")
    person.press("a[href='/portal/new']")
    page.wait_for_url("**/portal/new")
    person.press(f"form:has(input[value='{SMALL_INDUSTRY}']) button")
    page.wait_for_url(re.compile(r".*/portal/drafts/[0-9a-f]{32}$"))
    draft_url = page.url

    # fill what the form asks (the scope's answers are the defaults), save
    for key, value in body["answers"].items():
        target = page.locator(f"[name='{key}'][form='appform']")
        if target.count() != 1 or target.get_attribute("type") == "radio":
            continue
        if target.evaluate("e => e.tagName") == "SELECT":
            person.choose(f"#f-{key}", str(value))
        else:
            person.fill(f"#f-{key}", str(value))
    person.press("button[value='save']")
    page.wait_for_url("**saved=1")
    assert "草稿已保存" in page.locator("main").inner_text()

    # every material needed now; with scripts the block is swapped in place and the focus stays on its button
    needed = page.locator("li.material:has(.tag.red), li.material:has(.tag:text-is('非核心要件'))")
    codes = [str(needed.nth(i).get_attribute("id")).removeprefix("material-") for i in range(needed.count())]
    assert codes, "the form asks for materials"
    for code in codes:
        person.attach(f"#file-{code}", f"{code}.pdf", PDF)
        person.press(f"#upload-{code}")
        page.locator(f"#material-{code} .ok").wait_for()
        if keyboard:  # htmx has settled (it gives the focus back then), and the focus is where the person was
            page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
            assert page.evaluate("document.activeElement.id") == f"upload-{code}"

    # pre-review, sign, submit
    person.press("button[value='check']")
    page.locator("#check").wait_for()
    assert "预审通过" in page.locator("#check").inner_text(), page.locator("#check").inner_text()
    person.fill("#signer", "王小二")
    person.tick("input[name='commitment']")
    person.press("button[value='submit']")
    page.wait_for_url(re.compile(r".*/portal/applications/[0-9a-f]{32}\?submitted=1$"))
    application_id = page.url.split("/")[-1].split("?")[0]
    assert "部门并联审查" in _current_step(page)
    assert page.locator(".stepper .step.done").count() == 1

    # the departments decide (through the services); the license is issued and rendered
    with session_scope() as session:
        builders.decide_all(session, application_id)
        aggregation.aggregate(session, application_id)
        licenses.issue_license(session, SYSTEM_ACTOR, application_id)
    run_dispatcher_until(lambda: _rendered(application_id))
    page.goto(f"/portal/applications/{application_id}")
    assert page.locator(".stepper .step.done").count() == 4 and page.locator(".stepper [aria-current]").count() == 0
    with page.expect_download() as download:
        person.press(f"a[href='/portal/applications/{application_id}/license.pdf']")
    saved = Path(download.value.path())
    assert saved.read_bytes().startswith(b"%PDF")
    with session_scope() as session:
        application = session.get(Application, application_id)
        assert application is not None and application.status.value == "issued"
    page.goto(draft_url)  # the draft became the application: reopening it leads there
    page.wait_for_url(f"**/portal/applications/{application_id}**")
    context.close()


def _applicant_with_license(login: str) -> str:
    with session_scope() as session:
        user, _ = create_user(
            session, f"{login}公司", Role.APPLICANT, usccs=[USCC], login=login, password_hash=password_hash()
        )
    applicant = Actor(user.id, Role.APPLICANT, usccs=frozenset({USCC}))
    body = submission_body(SMALL_INDUSTRY)
    with session_scope() as session:
        submitted = applications.submit(
            session, applicant, industry_code=body["industry_code"], answers=body["answers"], materials=body["materials"]
        )
        application_id = submitted.application.id
        builders.decide_all(session, application_id)
        aggregation.aggregate(session, application_id)
        licenses.issue_license(session, SYSTEM_ACTOR, application_id)
    return application_id


def test_rate_change_and_cancel_through_the_progress_page_on_a_phone(server: str, chromium: Any) -> None:
    application_id = _applicant_with_license("phone-life")
    page = signed_in(chromium, server, "phone-life")
    progress = f"/portal/applications/{application_id}"
    page.goto(progress)
    fits_the_phone(page)

    # 好差评: a 差评 of one department, with a comment
    form = page.locator("form.rating-form").first
    department = form.get_attribute("data-department")
    form.locator("input[name='score'][value='1']").check()
    form.locator("textarea").fill("窗口等候时间太长。")
    form.locator("button").click()
    page.wait_for_url("**rated=1")
    assert "评价已提交" in page.locator("main").inner_text()
    given = page.locator(f".rating-given[data-department='{department}']")
    assert "1 分" in given.inner_text() and "窗口等候时间太长。" in given.inner_text()
    assert page.locator(f"form.rating-form[data-department='{department}']").count() == 0  # once per department
    fits_the_phone(page)

    # a change of name, once the register has it (登记变更 first): issued at once as a new edition
    page.click("summary:has-text('申请变更')")
    page.fill("#c-holder", "测试经营者新名称")
    page.fill("#c-reason", "名称变更登记")
    page.click("button:has-text('提交变更')")
    refusal = page.locator("main [role=alert]").inner_text()
    assert "须与市场主体登记一致" in refusal and "holder_name" not in refusal  # a label for a person, not a key
    with session_scope() as session:
        registry.import_entries(session, Actor("test-setup", Role.ADMIN), [{**REGISTERED, "name": "测试经营者新名称"}])
    page.goto(progress)
    page.click("summary:has-text('申请变更')")
    page.fill("#c-holder", "测试经营者新名称")
    page.fill("#c-reason", "名称变更登记")
    page.click("button:has-text('提交变更')")
    page.wait_for_url("**changed=1")
    assert "许可证已换发新版" in page.locator("main").inner_text()
    with session_scope() as session:
        license_ = session.exec(select(License).where(License.uscc == USCC)).one()
        assert license_.holder_name == "测试经营者新名称"

    # a cancellation asks for the reason and a tick first
    page.click("summary:has-text('注销许可证')")
    page.fill("#x-reason", "停止经营")
    page.click("button:text-is('注销')")
    assert "cancelled=1" not in page.url  # not ticked: the browser holds the form back
    page.check("input[name='confirm']")
    page.click("button:text-is('注销')")
    page.wait_for_url("**cancelled=1")
    assert "许可证已注销" in page.locator("main").inner_text()
    fits_the_phone(page)
    with session_scope() as session:
        assert session.exec(select(License).where(License.uscc == USCC)).one().status.label == "注销"


def test_a_service_hall_of_failed_sign_ins_does_not_lock_out_a_reviewer(server: str, chromium: Any) -> None:
    with session_scope() as session:
        create_user(session, "窗口审查员", Role.REVIEWER, "WSJK", login="hall-reviewer", password_hash=password_hash())
    hall = chromium.new_context(viewport=PHONE, base_url=server).new_page()  # every person here: one address
    for n in range(20):
        hall.goto("/login")
        hall.fill("#login", f"stranger{n:02d}")
        hall.fill("#password", "wrong-password-123")
        hall.click("button:has-text('登录')")
        hall.locator("[role=alert]").first.wait_for()
        assert "/login" in hall.url
    refusal = hall.locator("[role=alert]").first.inner_text()
    assert "账号或密码错误" in refusal or "登录名或密码" in refusal, refusal
    reviewer = chromium.new_context(viewport=PHONE, base_url=server).new_page()
    reviewer.goto("/login")
    reviewer.fill("#login", "hall-reviewer")
    reviewer.fill("#password", PASSWORD)
    reviewer.click("button:has-text('登录')")
    reviewer.wait_for_url("**/desk")
    assert "窗口审查员" in reviewer.locator("header").inner_text()


def test_every_page_an_applicant_or_the_public_opens_fits_a_phone(server: str, chromium: Any) -> None:
    """Each page at 360 px: no sideways scrolling, axe-core finds nothing serious — the signed-in applicant's pages
    (with an issued license and a draft), the public's, and a refusal page."""
    from axe_playwright_python.sync_playwright import Axe

    application_id = _applicant_with_license("phone-pages")
    page = signed_in(chromium, server, "phone-pages")
    page.goto("/portal/new")
    page.click("button[aria-label^='开始申请']")
    page.wait_for_url(re.compile(r".*/portal/drafts/[0-9a-f]{32}$"))
    draft = page.url.rsplit("/", 1)[1]
    with session_scope() as session:
        token = session.exec(select(License).where(License.application_id == application_id)).one().token
    pages = [
        "/portal",
        "/portal/new",
        f"/portal/drafts/{draft}",
        f"/portal/drafts/{draft}/delete",
        f"/portal/applications/{application_id}",
        "/portal/companies",
        "/portal/inbox",
        "/portal/obligations",
        "/account/phone",
        "/account/password",
        verify_url(server, token).removeprefix(server),
        "/publicity",
        "/credit",
        "/publicity?page=abc",  # a hand-made bad query: a refusal page
    ]
    axe = Axe()
    problems = []
    for path in pages:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"{path}: {width} px wide")
        for violation in axe.run(page).response["violations"]:
            if violation.get("impact") in ("serious", "critical"):
                problems.append(f"{path}: {violation['id']} {[n.get('target') for n in violation['nodes']][:3]}")
    assert problems == []
