"""The applicant's pages: choose an industry, fill the one form (typed values kept as drafts), inline checks with
the API's Chinese messages, material uploads checked by content, the signed commitment notice, submission,
progress and supplements, and nobody else's application or file."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import select

from onelicense.flows.dispatcher import dispatch_once
from onelicense.forms.catalog import get_catalog
from onelicense.forms.stats import industry_figures
from onelicense.services.catalog import department_name
from onelicense.store.db import session_scope
from onelicense.store.tables import Application, Draft, Upload
from tests.web.portal.conftest import Browser
from tests.web.sample import SMALL_INDUSTRY, submission_body

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def _new_draft(browser: Browser, industry: str = SMALL_INDUSTRY) -> str:
    browser.get("/portal/new")
    response = browser.post("/portal/new", {"industry_code": industry})
    assert response.status_code == 303, response.text
    return re.search(r"/portal/drafts/([0-9a-f]{32})", response.headers["location"]).group(1)


def _typed_answers(industry: str = SMALL_INDUSTRY) -> tuple[dict[str, str], dict[str, Any]]:
    body = submission_body(industry)
    typed = {}
    for key, value in body["answers"].items():
        typed[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return typed, body


def _fill(browser: Browser, draft: str, industry: str = SMALL_INDUSTRY) -> dict[str, Any]:
    typed, body = _typed_answers(industry)
    browser.get(f"/portal/drafts/{draft}")
    assert browser.post(f"/portal/drafts/{draft}", {**typed, "action": "save"}).status_code == 303
    for code in body["materials"]:
        response = browser.client.post(
            f"/portal/drafts/{draft}/materials/{code}",
            data={"csrf_token": browser.csrf},
            files={"file": (f"{code}.pdf", PDF, "application/pdf")},
        )
        assert response.status_code == 303, response.text
    return body


def test_industry_cards_show_the_catalog_figures(browser: Browser):
    browser.register("13800138010")
    page = browser.get("/portal/new")
    assert page.status_code == 200
    assert "宾馆" in page.text and "个部门" in page.text and "承诺" in page.text


def test_a_draft_keeps_what_was_typed_even_when_wrong_and_check_names_every_problem(browser: Browser):
    browser.register("13800138011")
    draft = _new_draft(browser)
    browser.get(f"/portal/drafts/{draft}")
    saved = browser.post(f"/portal/drafts/{draft}", {"contact_phone": "12345", "action": "save"})
    assert saved.status_code == 303
    page = browser.get(f"/portal/drafts/{draft}")
    assert 'value="12345"' in page.text  # kept as typed
    checked = browser.post(f"/portal/drafts/{draft}", {"action": "check"})
    assert checked.status_code == 200
    assert "不是有效的电话号码" in checked.text
    assert "必填项未填写" in checked.text


def test_the_pre_review_result_comes_first_with_working_links_and_no_field_keys(browser: Browser):
    browser.register("13800138032")
    draft = _new_draft(browser)
    browser.get(f"/portal/drafts/{draft}")
    browser.post(f"/portal/drafts/{draft}", {"contact_phone": "12345", "action": "save"})
    checked = browser.post(f"/portal/drafts/{draft}", {"action": "check"})
    page = checked.text
    assert page.index('id="check"') < page.index('id="h-scope"')  # on top, not twenty screens down
    result = page[page.index('id="check"') : page.index("</section>", page.index('id="check"'))]
    links = re.findall(r'href="#([^"]+)"', result)
    assert len(links) >= 2 and any(t.startswith("material-") for t in links), result
    for target in links:
        assert f'id="{target}"' in page, f"#{target} points nowhere"
    keys = {key for key, _ in _typed_answers()[0].items()} | {"contact_phone"}
    assert not any(f"（{key}）" in page for key in keys), "field keys are for the API, not for people"
    assert "不是有效的电话号码" in result and 'formaction="/portal/drafts/' in page  # the check returns to #check


def test_whole_numbers_are_shown_without_a_decimal_point():
    from onelicense.templating import plain_answer

    assert [plain_answer(v) for v in (3200.0, 12.5, 30, True, None, "3200.0")] == [
        "3200",
        "12.5",
        "30",
        "是",
        "",
        "3200.0",
    ]


def test_inline_check_gives_the_same_chinese_reason_as_the_api(browser: Browser, client, users):
    browser.register("13800138012")
    _new_draft(browser)
    inline = browser.client.post(
        f"/portal/validate/{SMALL_INDUSTRY}/contact_phone",
        data={"contact_phone": "12345"},
        headers={"HX-Request": "true", "X-CSRF-Token": browser.csrf},
    )
    body = submission_body()
    body["answers"]["contact_phone"] = "12345"
    api = client.post("/api/applications", json=body, headers=users.headers("applicant"))
    reason = next(e["reason"] for e in api.json()["errors"] if e["key"] == "contact_phone")
    assert reason in inline.text and "contact_phone" in inline.text


def test_the_scope_questions_update_the_permit_list(browser: Browser):
    browser.register("13800138013")
    draft = _new_draft(browser, "HOTEL")
    page = browser.get(f"/portal/drafts/{draft}")
    first = re.search(r"将办理 (\d+) 项许可", page.text)
    keys = re.findall(r'class="scope-q"[^>]*name="([a-z_]+)"|name="([a-z_]+)"[^>]*class="scope-q"', page.text)
    names = {a or b for a, b in keys}
    assert names, "the hotel industry asks scope questions"
    everything = browser.get(f"/portal/drafts/{draft}/scope", params=dict.fromkeys(names, "true"))
    more = re.search(r"将办理 (\d+) 项许可", everything.text)
    assert first and more and int(more.group(1)) > int(first.group(1))


def test_uploads_are_checked_by_content_not_by_name(browser: Browser):
    browser.register("13800138014")
    draft = _new_draft(browser)
    browser.get(f"/portal/drafts/{draft}")
    code = submission_body()["materials"].popitem()[0]
    refused = browser.client.post(
        f"/portal/drafts/{draft}/materials/{code}",
        data={"csrf_token": browser.csrf},
        files={"file": ("营业执照.pdf", EXE, "application/pdf")},
    )
    assert refused.status_code == 422 and "只接受 PDF、JPG、PNG" in refused.text
    traversal = browser.client.post(
        f"/portal/drafts/{draft}/materials/{code}",
        data={"csrf_token": browser.csrf},
        files={"file": ("../../etc/passwd.png", PNG, "image/png")},
    )
    assert traversal.status_code == 303
    with session_scope() as session:
        stored = session.exec(select(Upload)).all()
    assert [u.original_name for u in stored] == ["passwd.png"]  # the path is dropped, only a name kept
    assert stored[0].content_type == "image/png"


def test_an_upload_over_the_cap_is_refused_before_it_is_read(browser: Browser, monkeypatch):
    browser.register("13800138015")
    draft = _new_draft(browser)
    browser.get(f"/portal/drafts/{draft}")
    code = submission_body()["materials"].popitem()[0]
    big = PDF + b"0" * (10 * 1024 * 1024 + 100 * 1024)
    response = browser.client.post(
        f"/portal/drafts/{draft}/materials/{code}",
        data={"csrf_token": browser.csrf},
        files={"file": ("big.pdf", big, "application/pdf")},
    )
    assert response.status_code == 413
    with session_scope() as session:
        assert session.exec(select(Upload)).all() == []


def test_material_tags_never_show_none_nor_contradict_each_other(browser: Browser):
    """Every industry with every scope question answered yes: a deferred material states its working days, one the
    commitment stands for says so, and none is tagged both 核心要件 and 可容缺后补."""
    browser.register("13800138030")
    catalog = get_catalog()
    seen = {"deferred": 0, "waived": 0}
    for code, industry in catalog.industries.items():
        draft = _new_draft(browser, code)
        scope = industry_figures(industry, catalog).answers
        typed = {k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in scope.items()}
        browser.get(f"/portal/drafts/{draft}")
        assert browser.post(f"/portal/drafts/{draft}", {**typed, "action": "scope"}).status_code == 303
        page = browser.get(f"/portal/drafts/{draft}")
        assert "None" not in page.text, code
        for block in re.findall(r'<li id="material-.*?</li>', page.text, re.S):
            assert not ('tag red">核心要件' in block and "可容缺后补" in block), block
            seen["deferred"] += "可容缺后补：自发证之日起" in block
            seen["waived"] += "以承诺代替" in block
    assert seen["deferred"] and seen["waived"], seen


def test_deleting_a_draft_asks_first_and_keeps_what_was_typed(browser: Browser):
    browser.register("13800138031")
    draft = _new_draft(browser)
    browser.get(f"/portal/drafts/{draft}")
    asked = browser.post(f"/portal/drafts/{draft}", {"contact_phone": "13900000000", "action": "delete"})
    assert asked.status_code == 303 and asked.headers["location"] == f"/portal/drafts/{draft}/delete"
    page = browser.get(asked.headers["location"])
    assert "删除后不能恢复" in page.text and "返回继续填写" in page.text
    with session_scope() as session:  # nothing deleted yet, and what was typed is kept for going back
        kept = session.get(Draft, draft)
        assert kept is not None and kept.answers["contact_phone"] == "13900000000"
    unticked = browser.post(f"/portal/drafts/{draft}/delete")
    assert unticked.status_code == 303
    with session_scope() as session:
        assert session.get(Draft, draft) is not None
    deleted = browser.post(f"/portal/drafts/{draft}/delete", {"confirm": "yes"})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/portal?deleted=1"
    with session_scope() as session:
        assert session.get(Draft, draft) is None
    assert "草稿已删除" in browser.get("/portal?deleted=1").text


def test_submit_stores_the_signed_notice_verbatim_and_deletes_the_draft(browser: Browser):
    browser.register("13800138016")
    draft = _new_draft(browser)
    _fill(browser, draft)
    browser.get(f"/portal/drafts/{draft}")
    unsigned = browser.post(f"/portal/drafts/{draft}", {"action": "submit"})
    assert unsigned.status_code == 422 and "告知承诺书" in unsigned.text
    done = browser.post(f"/portal/drafts/{draft}", {"action": "submit", "signer": "张三", "commitment": "signed"})
    assert done.status_code == 303, done.text
    with session_scope() as session:
        application = session.exec(select(Application)).one()
        assert session.get(Draft, draft) is None
    signature = application.commitment_signature
    assert signature["signer"] == "张三" and "告知承诺书" in signature["text"] and signature["signed_at"]
    assert all(v.startswith("upload:") for v in application.materials.values())
    progress = browser.get(done.headers["location"])
    assert application.reference in progress.text and "各部门办理情况" in progress.text
    # the draft's old address (a bookmark, the back button) leads to the application, not to a refusal (issue 20)
    reopened = browser.get(f"/portal/drafts/{draft}")
    assert reopened.status_code == 303 and reopened.headers["location"] == f"/portal/applications/{application.id}"


def test_another_applicant_cannot_open_my_application_draft_or_files(browser: Browser, new_browser):
    browser.register("13800138017")
    draft = _new_draft(browser)
    _fill(browser, draft)
    browser.get(f"/portal/drafts/{draft}")
    done = browser.post(f"/portal/drafts/{draft}", {"action": "submit", "signer": "张三", "commitment": "signed"})
    application_path = done.headers["location"].split("?")[0]
    with session_scope() as session:
        upload_id = session.exec(select(Upload)).first().id
    assert browser.get(f"/files/{upload_id}").status_code == 200
    other = new_browser()
    other.register("13800138018")
    for path in (
        application_path,
        f"{application_path}/amend",
        f"{application_path}/license.pdf",
        f"/files/{upload_id}",
        f"/files/{'0' * 32}",
        f"/portal/drafts/{draft}",  # the submitted draft's address does not lead another to the application
    ):
        response = other.get(path)
        assert response.status_code == 403, path
        assert "张三" not in response.text and "%PDF" not in response.text


def test_a_department_reviewer_sees_its_own_materials_only(browser: Browser, new_browser, staff):
    browser.register("13800138019")
    draft = _new_draft(browser)
    _fill(browser, draft)
    browser.get(f"/portal/drafts/{draft}")
    browser.post(f"/portal/drafts/{draft}", {"action": "submit", "signer": "张三", "commitment": "signed"})
    dispatch_once()
    from onelicense.forms.catalog import get_catalog

    catalog = get_catalog()
    with session_scope() as session:
        application = session.exec(select(Application)).one()
    wsjk = {
        m.code
        for code in application.permit_codes
        for m in catalog.permits[code].materials
        if catalog.permits[code].department == "WSJK"
    }
    reviewer = new_browser()
    reviewer.sign_in("reviewer")  # WSJK
    seen = {
        code: reviewer.get(f"/files/{ref.split(':')[1]}").status_code for code, ref in application.materials.items()
    }
    assert {c for c, s in seen.items() if s == 200} == wsjk & set(seen)
    assert all(s == 403 for c, s in seen.items() if c not in wsjk)


def test_supplement_asks_and_the_applicant_amends_only_those_items(browser: Browser, new_browser, staff):
    browser.register("13800138020")
    draft = _new_draft(browser)
    _fill(browser, draft)
    browser.get(f"/portal/drafts/{draft}")
    done = browser.post(f"/portal/drafts/{draft}", {"action": "submit", "signer": "张三", "commitment": "signed"})
    application_path = done.headers["location"].split("?")[0]
    dispatch_once()
    from onelicense.flows.aggregation import aggregate
    from onelicense.review.roles import Actor, Role
    from onelicense.services import reviews
    from onelicense.store.tables import DepartmentReview

    with session_scope() as session:
        wsjk_permits = session.exec(select(DepartmentReview).where(DepartmentReview.department_code == "WSJK")).one()
        material = next(k for k, _, kind in reviews.requestable_items(wsjk_permits.permit_codes) if kind == "material")
    with session_scope() as session:
        application = session.exec(select(Application)).one()
        for review in session.exec(select(DepartmentReview)).all():
            actor = Actor(
                user_id=staff["reviewer"] if review.department_code == "WSJK" else staff["other_reviewer"],
                role=Role.REVIEWER,
                department_code=review.department_code,
            )
            reviews.claim(session, actor, review.id)
            if review.department_code == "WSJK":
                reviews.decide(
                    session,
                    actor,
                    review.id,
                    "supplement",
                    "请补正床位数和该材料。",
                    requested_items=["bed_count", material],
                )
            else:
                reviews.decide(session, actor, review.id, "approve", "同意。")
    aggregate([application.id])
    progress = browser.get(application_path)
    assert "待补正" in progress.text and "去补正" in progress.text
    wsjk_row = re.search(rf"{department_name('WSJK')}</th>(.*?)</tr>", progress.text, re.S)
    assert wsjk_row, progress.text
    assert "已办结" not in wsjk_row.group(1) and "等待申请人补正" in wsjk_row.group(1)  # not finished: it waits
    amend = browser.get(f"{application_path}/amend")
    assert 'name="bed_count"' in amend.text and f'name="material_{material}"' in amend.text
    assert 'name="contact_phone"' not in amend.text  # only what was asked
    garbled = browser.client.post(
        f"{application_path}/materials/amend",
        data={"csrf_token": browser.csrf, "bed_count": "30", "expected_version": "²"},
    )
    assert garbled.status_code == 422 and "版本号必须是整数" in garbled.text
    response = browser.client.post(
        f"{application_path}/materials/amend",
        data={
            "csrf_token": browser.csrf,
            "bed_count": "30",
            "expected_version": re.search(r'name="expected_version" value="(\d+)"', amend.text).group(1),
        },
        files={f"material_{material}": ("new.png", PNG, "image/png")},
    )
    assert response.status_code == 303, response.text
    with session_scope() as session:
        application = session.exec(select(Application)).one()
    assert application.answers["bed_count"] == 30 and application.status.value == "resubmitted"


def test_every_user_string_is_escaped(browser: Browser):
    nasty = "<script>alert(1)</script>\u202e\u200b"
    browser.get("/register")
    page = browser.post("/register", {"name": nasty, "phone": "13800138021", "uscc": "x", "password": "Passw0rd!!"})
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    browser.register("13800138022")
    draft = _new_draft(browser)
    browser.get(f"/portal/drafts/{draft}")
    browser.post(f"/portal/drafts/{draft}", {"holder_name": nasty, "action": "save"})
    page = browser.get(f"/portal/drafts/{draft}")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    checked = browser.post(f"/portal/drafts/{draft}", {"action": "check"})
    assert "不可见的控制字符" in checked.text  # RTL override and zero-width space are named, not stored silently


def test_web_addresses_in_a_notice_become_links_and_nothing_else_does():
    from onelicense.templating import linked_text

    shown = linked_text('办理进度：https://zwfw.example.cn/portal。<b>"x"</b> http://a.cn/"onmouseover=')
    assert str(shown) == (
        '办理进度：<a href="https://zwfw.example.cn/portal">https://zwfw.example.cn/portal</a>。'
        '&lt;b&gt;&#34;x&#34;&lt;/b&gt; <a href="http://a.cn/&#34;onmouseover=">http://a.cn/&#34;onmouseover=</a>'
    )
