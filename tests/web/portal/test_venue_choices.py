"""The portal's one form offers an enum with the choices the industry narrows it to: a 游泳馆's form lists no 美容店
(issue 17, finding H2), while a 美容美发 form lists both of its categories."""

from __future__ import annotations

import re

import pytest

from tests.web.portal.conftest import Browser


def _venue_options(browser: Browser, industry: str) -> list[str]:
    browser.get("/portal/new")
    created = browser.post("/portal/new", {"industry_code": industry})
    assert created.status_code == 303, created.text
    page = browser.get(created.headers["location"])
    select = re.search(r'<select id="f-public_venue_category".*?</select>', page.text, re.S)
    assert select is not None, page.text
    return [v for v in re.findall(r'<option value="([^"]*)"', select.group(0)) if v]


@pytest.mark.parametrize(
    ("industry", "phone", "expected"),
    [
        ("SWIMMING_POOL", "13800138301", ["游泳场所"]),
        ("HOTEL", "13800138302", ["宾馆旅店"]),
        ("BEAUTY_SALON", "13800138303", ["美容店", "理发店"]),
    ],
)
def test_the_venue_category_dropdown_offers_only_the_industrys_choices(browser: Browser, industry, phone, expected):
    browser.register(phone)
    assert _venue_options(browser, industry) == expected
