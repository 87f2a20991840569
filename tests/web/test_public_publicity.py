"""GET /publicity (证照公示): search by name, USCC or industry, paginated, public fields only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import licenses
from onelicense.store import license_queries
from onelicense.store.tables.license import License
from tests.licenses.conftest import approved_application, public_app_client  # noqa: F401

JSON = {"Accept": "application/json"}


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    yield from public_app_client(db_url, tmp_path, monkeypatch)


@pytest.fixture
def issued(client: TestClient, session: Session, approved_application) -> list[License]:  # type: ignore[no-untyped-def]  # noqa: F811
    made = []
    for name, industry, permits in [
        ("老街坊便利店", "CONVENIENCE_STORE", ("FOOD_BUSINESS",)),
        ("新街坊便利店", "CONVENIENCE_STORE", ("FOOD_BUSINESS",)),
        # a hotel always needs these three (no scope question answered yes)
        ("悦来酒店", "HOTEL", ("HOTEL_SPECIAL_TRADE", "PUBLIC_HEALTH", "FIRE_SAFETY_CHECK")),
    ]:
        application = approved_application(industry_code=industry, permit_codes=permits, holder_name=name)
        made.append(licenses.issue_license(session, SYSTEM_ACTOR, application.id))
    return made


def test_search_by_name(client: TestClient, issued: list[License]) -> None:
    data = client.get("/publicity", params={"q": "街坊"}, headers=JSON).json()
    assert data["total"] == 2
    assert {row["holder_name"] for row in data["items"]} == {"老街坊便利店", "新街坊便利店"}


def test_search_by_uscc_and_by_industry(client: TestClient, issued: list[License]) -> None:
    by_uscc = client.get("/publicity", params={"q": issued[2].uscc}, headers=JSON).json()
    assert [row["number"] for row in by_uscc["items"]] == [issued[2].number]
    by_industry = client.get("/publicity", params={"industry": "HOTEL"}, headers=JSON).json()
    assert [row["holder_name"] for row in by_industry["items"]] == ["悦来酒店"]


def test_pages_and_links(client: TestClient, issued: list[License], monkeypatch: pytest.MonkeyPatch) -> None:
    original = license_queries.search_publicity
    monkeypatch.setattr(license_queries, "search_publicity", lambda s, **kw: original(s, **kw, page_size=2))
    first = client.get("/publicity", params={"q": "", "page": 1}).text
    assert "共 3 条，第 1 / 2 页" in first and "下一页" in first
    second = client.get("/publicity", params={"page": 2}, headers=JSON).json()
    assert (second["page"], second["pages"], len(second["items"])) == (2, 2, 1)


def test_only_public_fields_are_shown(client: TestClient, issued: list[License]) -> None:
    data = client.get("/publicity", headers=JSON).json()
    assert set(data["items"][0]) == {
        "number",
        "holder_name",
        "uscc",
        "industry_code",
        "industry_name",
        "issued_on",
        "authority_name",
        "status",
        "permits",
    }
    # of each permit what the certificate prints and the verify page shows, nothing of who or why
    assert set(data["items"][0]["permits"][0]) == {
        "name",
        "number",
        "department",
        "valid_until",
        "status",
        "status_note",
    }
    html = client.get("/publicity").text
    assert "张三明" not in html and "张*明" not in html
    for license_ in issued:
        assert license_.holder_name in html


def test_hostile_query_is_escaped(client: TestClient, issued: list[License]) -> None:
    html = client.get("/publicity", params={"q": '"><script>alert(1)</script>'}).text
    assert "<script>alert(1)" not in html
    assert "没有符合条件的许可证" in html
