"""示范文本: materials the catalog gives a sample offer it as a PDF beside the upload (看得懂、填得准), rendered with
embedded CJK fonts; the link is on the form; others have none."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from onelicense.forms.catalog import get_catalog
from tests.web.portal.conftest import Browser
from tests.web.portal.test_applicant import _new_draft

TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "samples"
HEADINGS = {
    "authorization_letter": "授权委托书",
    "emergency_plan": "突发事件应急预案",
    "safety_rules": "安全管理制度",
    "food_safety_rules": "食品安全管理制度",
    "hygiene_rules": "卫生管理制度",
}


def test_every_sample_the_catalog_names_is_shipped() -> None:
    offered = {m.code: m.sample for m in get_catalog().materials.values() if m.sample}
    assert set(offered) == set(HEADINGS)
    assert all((TEMPLATES / name).is_file() for name in offered.values())


@pytest.mark.parametrize("code", sorted(HEADINGS))
def test_a_sample_downloads_as_a_pdf_with_its_chinese_text(browser: Browser, code: str) -> None:
    response = browser.get(f"/samples/{code}.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert HEADINGS[code] in text.replace(" ", "") and "示范文本" in text.replace(" ", "")
    fonts = {
        str(font.get_object().get("/BaseFont"))
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
    }
    assert any("CJK" in name for name in fonts), fonts  # embedded, not left to the reader's machine


def test_materials_without_a_sample_and_unknown_codes_are_not_found(browser: Browser) -> None:
    assert browser.get("/samples/business_license.pdf").status_code == 404
    assert browser.get("/samples/no_such_material.pdf").status_code == 404


def test_the_form_offers_the_sample_beside_the_upload(browser: Browser) -> None:
    browser.register("13700000021")
    draft = _new_draft(browser, "HOTEL")
    page = browser.get(f"/portal/drafts/{draft}").text
    assert 'href="/samples/hygiene_rules.pdf"' in page and "下载示范文本" in page
    assert 'href="/samples/business_license.pdf"' not in page
