"""A request a person makes from a page and the server refuses — a hand-made bad query on a public page, a file
over the size limit posted without scripts, an over-long URL — is answered as a Chinese page with its reason and
the way back; a client that asks for JSON, and the API, still get the JSON error body."""

from __future__ import annotations

from fastapi.testclient import TestClient

from onelicense.web.public import way_back

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
DRAFT = "ab" * 16
MATERIAL_PATH = f"/portal/drafts/{DRAFT}/materials/business_license"


def test_a_bad_query_on_the_publicity_page_is_a_page_naming_the_parameter(client: TestClient) -> None:
    page = client.get("/publicity?page=abc", headers=HTML)
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "查询参数 page：应为整数" in page.text and 'role="alert"' in page.text
    assert 'href="/publicity"' in page.text  # the way back
    answer = client.get("/publicity?page=abc", headers=JSON)
    assert answer.status_code == 422 and answer.json()["errors"][0]["key"] == "page"


def test_a_bad_code_on_the_credit_page_is_a_page(client: TestClient) -> None:
    page = client.get("/credit?uscc=" + "%21" * 5, headers=HTML)
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "查询参数 uscc" in page.text and 'href="/credit"' in page.text
    assert client.get("/credit?uscc=!!!!!", headers=JSON).json()["errors"][0]["key"] == "uscc"


def test_an_oversized_body_posted_by_a_browser_is_a_page_and_by_the_api_json(client: TestClient) -> None:
    big = "x" * (2 * 1024 * 1024)  # over the body limit of a form that takes no file
    page = client.post("/portal/drafts/" + DRAFT, content=big, headers={**HTML, "Content-Type": "text/plain"})
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert "请求内容过大" in page.text and 'href="/portal"' in page.text
    api = client.post("/api/applications", content=big, headers={**HTML, "Content-Type": "application/json"})
    assert api.status_code == 413 and api.json()["detail"].startswith("请求内容过大")
    plain = client.post("/portal/drafts/" + DRAFT, content=big, headers={"Content-Type": "text/plain"})
    assert plain.status_code == 413 and plain.json()["detail"].startswith("请求内容过大")  # no browser: JSON


def test_an_over_long_url_is_a_page_for_a_browser(client: TestClient) -> None:
    page = client.get("/publicity?q=" + "x" * 9000, headers=HTML)
    assert page.status_code == 414 and "请求网址过长" in page.text


def test_the_way_back_leads_to_the_page_the_form_was_on() -> None:
    assert way_back(MATERIAL_PATH) == f"/portal/drafts/{DRAFT}#material-business_license"
    assert way_back(f"/portal/obligations/{DRAFT}/fulfil") == f"/portal/obligations#o-{DRAFT}"
    assert way_back("/desk/reviews/x/decide") == "/desk"
    assert way_back("/credit.csv") == "/credit"
    assert way_back("/elsewhere") == "/"
