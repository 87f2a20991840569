"""The applicant's portal on a 360 px phone in Debian's Chromium, with scripts on and off: a refused request shows its
message where the person acted, the pages fit the screen (no sideways scrolling), and axe-core finds nothing
serious. The data is built through the services; the person signs in and acts through the pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onelicense.licenses.status import Operation
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role
from onelicense.services import aggregation, applications, drafts, licenses
from onelicense.services.users import create_user
from onelicense.store.db import session_scope
from tests import builders
from tests.web.live import live_server
from tests.web.portal.conftest import PHONE, fits_the_phone, password_hash, signed_in
from tests.web.sample import USCC, submission_body

pytestmark = pytest.mark.browser

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
UPLOAD_CAP = 64 * 1024


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ONELICENSE_UPLOAD_MAX_BYTES", str(UPLOAD_CAP))  # an oversized file need not be 10 MB
    with live_server(tmp_path, monkeypatch) as (base_url, _):
        yield base_url


def make_applicant(login: str) -> Actor:
    with session_scope() as session:
        user, _ = create_user(
            session, f"{login}公司", Role.APPLICANT, usccs=[USCC], login=login, password_hash=password_hash()
        )
    return Actor(user.id, Role.APPLICANT, usccs=frozenset({USCC}))


def fits_the_phone_without_scripts(page: Any) -> None:
    """The same measure on a self-contained page (its styles inline) whose scripts are off: its HTML is measured
    in a context of its own with scripts on."""
    html = page.content()
    twin = page.context.browser.new_context(viewport=PHONE, java_script_enabled=True).new_page()
    twin.set_content(html)
    fits_the_phone(twin)
    twin.context.close()


def no_serious_violations(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    serious = [f"{v['id']} {[n.get('target') for n in v['nodes']][:3]}" for v in found if v.get("impact") in ("serious", "critical")]  # fmt: skip
    assert serious == [], f"{page.url}: {serious}"


def a_draft(applicant: Actor, industry: str = "HOTEL") -> str:
    with session_scope() as session:
        return drafts.new_draft(session, applicant, industry).id


@pytest.mark.parametrize("scripts", [True, False], ids=["scripts", "no-scripts"])
def test_a_refused_upload_shows_its_reason_in_the_material_block(server: str, chromium: Any, scripts: bool) -> None:
    applicant = make_applicant("phone-uploader")
    draft = a_draft(applicant)
    page = signed_in(chromium, server, "phone-uploader", scripts=scripts)
    page.goto(f"/portal/drafts/{draft}")
    block = page.locator("li.material").nth(2)
    block_id = block.get_attribute("id")
    block.locator("input[type=file]").set_input_files(
        files=[{"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": EXE}]
    )
    block.locator("button[type=submit]").click()
    reason = page.locator(f"#{block_id} .field-error")
    reason.wait_for()
    assert "只接受 PDF、JPG、PNG" in reason.inner_text()
    assert reason.is_visible() and reason.get_attribute("role") == "alert"
    box = page.locator(f"#{block_id}").bounding_box()  # where the person acted: on screen, not the form's top
    assert box is not None and box["y"] < PHONE["height"] and box["y"] + box["height"] > 0, box
    if scripts:  # (Playwright's evaluate and axe need the page's scripts)
        fits_the_phone(page)
        no_serious_violations(page)
    # then a good file replaces the reason with the file's name
    block = page.locator(f"#{block_id}")
    block.locator("input[type=file]").set_input_files(
        files=[{"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    block.locator("button[type=submit]").click()
    page.locator(f"#{block_id} .ok").wait_for()
    assert page.locator(f"#{block_id} .field-error").count() == 0


@pytest.mark.parametrize("scripts", [True, False], ids=["scripts", "no-scripts"])
def test_an_oversized_file_refused_before_any_route_shows_its_reason(server: str, chromium: Any, scripts: bool) -> None:
    applicant = make_applicant("phone-big-file")
    draft = a_draft(applicant)
    page = signed_in(chromium, server, "phone-big-file", scripts=scripts)
    page.goto(f"/portal/drafts/{draft}")
    block = page.locator("li.material").first
    block_id = block.get_attribute("id")
    block.locator("input[type=file]").set_input_files(
        files=[{"name": "大文件.pdf", "mimeType": "application/pdf", "buffer": PDF + b"0" * (UPLOAD_CAP * 3)}]
    )
    with page.expect_response(lambda r: "/materials/" in r.url) as answered:
        block.locator("button[type=submit]").click()
    assert answered.value.status == 413
    if scripts:
        reason = block.locator("[data-request-problem]")
        reason.wait_for()
        assert "请求内容过大" in reason.inner_text()
        assert block.locator("input[type=file]").count() == 1  # the chooser stays: the person can pick another file
        return
    # without scripts the browser shows the refusal as a page of its own, in Chinese, with the way back
    page.wait_for_load_state()
    assert "请求内容过大" in page.locator("main [role=alert]").inner_text()
    fits_the_phone_without_scripts(page)
    page.click("text=返回上一页")
    page.wait_for_url(f"**/portal/drafts/{draft}#{block_id}")


def test_a_server_error_or_lost_connection_shows_a_generic_message(server: str, chromium: Any) -> None:
    applicant = make_applicant("phone-offline")
    draft = a_draft(applicant)
    page = signed_in(chromium, server, "phone-offline")
    page.goto(f"/portal/drafts/{draft}")
    block = page.locator("li.material").first
    block.locator("input[type=file]").set_input_files(
        files=[{"name": "x.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.route("**/materials/**", lambda route: route.fulfill(status=500, body="boom", content_type="text/plain"))
    block.locator("button[type=submit]").click()
    block.locator("[data-request-problem]").wait_for()
    assert "服务器暂时无法处理" in block.locator("[data-request-problem]").inner_text()
    page.unroute("**/materials/**")
    page.route("**/materials/**", lambda route: route.abort("internetdisconnected"))
    block.locator("button[type=submit]").click()
    page.wait_for_function("document.querySelector('[data-request-problem]')?.innerText.includes('网络连接失败')")


def an_issued_license(applicant: Actor) -> str:
    """A convenience store with several permits, approved by every department and issued; its application id."""
    body = submission_body("CONVENIENCE_STORE", sells_ready_to_eat_food=True, has_outdoor_sign=True)
    with session_scope() as session:
        submitted = applications.submit(
            session,
            applicant,
            industry_code=body["industry_code"],
            answers=body["answers"],
            materials=body["materials"],
        )
        builders.decide_all(session, submitted.application.id)
        aggregation.aggregate(session, submitted.application.id)
        licenses.issue_license(session, SYSTEM_ACTOR, submitted.application.id)
        return submitted.application.id


def test_the_issued_progress_page_fits_a_phone(server: str, chromium: Any) -> None:
    applicant = make_applicant("phone-holder")
    application_id = an_issued_license(applicant)
    page = signed_in(chromium, server, "phone-holder")
    page.goto(f"/portal/applications/{application_id}")
    fits_the_phone(page)
    link = page.locator("#verify-link")
    assert link.inner_text() == "扫码核验页" and "/v/" in (link.get_attribute("href") or "")
    page.locator("a:has-text('下载许可证 PDF')").click(trial=True)  # visible, on screen, nothing covering it
    first_row = page.locator("h2#h-depts + table tbody tr").first
    assert first_row.evaluate("e => getComputedStyle(e).display") == "block"  # a card per department, not columns
    time_limit = first_row.locator("td[data-label='时限']")
    assert time_limit.bounding_box()["width"] > 200  # readable, not one character wide
    no_serious_violations(page)


def test_the_public_verify_page_fits_a_phone_with_every_column(server: str, chromium: Any) -> None:
    applicant = make_applicant("phone-public")
    application_id = an_issued_license(applicant)
    holder = signed_in(chromium, server, "phone-public")
    holder.goto(f"/portal/applications/{application_id}")
    verify_url = holder.locator("#verify-link").get_attribute("href")
    with session_scope() as session:
        number = licenses.license_of_application(session, applicant, application_id).number
        licenses.change_license(session, builders.ADMIN, number, Operation.SUSPEND, reason="停业整顿")
    scanner = chromium.new_context(viewport=PHONE).new_page()
    scanner.goto(verify_url)
    assert scanner.locator("#composite-status").inner_text().strip() == "暂扣"
    fits_the_phone(scanner)
    rows = scanner.locator("#permits tbody tr")
    assert rows.count() >= 2
    for i in range(rows.count()):
        status = rows.nth(i).locator("td[data-label='状态']")
        box = status.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert status.is_visible() and "暂扣" in status.inner_text()
        assert "随许可证暂扣" in status.inner_text()  # the note under the status stays
    no_serious_violations(scanner)


def test_deleting_a_draft_asks_first_on_a_phone(server: str, chromium: Any) -> None:
    applicant = make_applicant("phone-deleter")
    draft = a_draft(applicant)
    page = signed_in(chromium, server, "phone-deleter")
    page.goto(f"/portal/drafts/{draft}")
    page.click("button[value='delete']")
    page.wait_for_url(f"**/portal/drafts/{draft}/delete")
    assert "删除后不能恢复" in page.locator("main").inner_text()
    fits_the_phone(page)
    no_serious_violations(page)
    page.click("button:has-text('确认删除')")  # not ticked: the browser holds the form back
    assert page.url.endswith(f"/portal/drafts/{draft}/delete")
    page.check("input[name='confirm']")
    page.click("button:has-text('确认删除')")
    page.wait_for_url("**/portal?deleted=1")
    assert "草稿已删除" in page.locator("main").inner_text()
    with session_scope() as session:
        assert drafts.list_drafts(session, applicant) == []
