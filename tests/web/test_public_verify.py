"""GET /v/<token>: genuine licenses show their live status; anything else is 'not a genuine license'."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from onelicense.clock import CHINA_TIME
from onelicense.licenses.keys import KeySet, load_keyset
from onelicense.licenses.status import Operation
from onelicense.licenses.token import sign_token, verify_token
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import licenses
from onelicense.services.licenses import LicenseConfig
from onelicense.store.tables.license import License, LicensePermit
from tests.licenses.conftest import ADMIN, approved_application, public_app_client, reviewer, sample_document  # noqa: F401

JSON = {"Accept": "application/json"}


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    yield from public_app_client(db_url, tmp_path, monkeypatch)


@pytest.fixture
def issued(client: TestClient, session: Session, approved_application) -> License:  # type: ignore[no-untyped-def]  # noqa: F811
    application = approved_application(permit_codes=("FOOD_BUSINESS", "TOBACCO_RETAIL"))
    return licenses.issue_license(session, SYSTEM_ACTOR, application.id)


def _path(license_: License) -> str:
    return f"/v/{license_.token}"


def _server_keys() -> KeySet:
    return load_keyset(LicenseConfig.from_settings().keys_dir)


def test_a_genuine_license_shows_its_live_status(client: TestClient, issued: License) -> None:
    page = client.get(_path(issued))
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    for text in ("有效", issued.holder_name, issued.uscc, issued.number, "食品经营许可", "核验时间", "张*明"):
        assert text in html
    assert "张三明" not in html  # the legal representative is masked

    data = client.get(_path(issued), headers=JSON).json()
    assert data["status"] == {"code": "01", "label": "有效"}
    assert data["legal_representative"] == "张*明"
    assert [p["status"]["label"] for p in data["permits"]] == ["有效", "有效"]
    assert data["blocking"] == []


def test_suspending_a_permit_shows_on_the_next_request(client: TestClient, session: Session, issued: License) -> None:
    assert client.get(_path(issued), headers=JSON).json()["status"]["label"] == "有效"
    licenses.change_permit(session, reviewer("SCJG"), f"{issued.number}-01", Operation.SUSPEND, reason="停业整顿")
    data = client.get(_path(issued), headers=JSON).json()
    assert data["status"]["label"] == "暂扣"
    assert [p["name"] for p in data["blocking"]] == ["食品经营许可"]
    html = client.get(_path(issued)).text
    assert "暂扣" in html and "食品经营许可" in html
    licenses.change_permit(session, ADMIN, f"{issued.number}-01", Operation.RESTORE, reason="整改完成")
    assert client.get(_path(issued), headers=JSON).json()["status"]["label"] == "有效"


def test_a_revoked_license_says_so(client: TestClient, session: Session, issued: License) -> None:
    licenses.change_license(session, ADMIN, issued.number, Operation.REVOKE, reason="严重违法")
    data = client.get(_path(issued), headers=JSON).json()
    assert data["status"]["label"] == "吊销"
    assert "吊销" in client.get(_path(issued)).text


def _assert_not_genuine(client: TestClient, path: str, reason: str) -> None:
    page = client.get(path)
    assert 400 <= page.status_code < 500
    assert "非真实有效的许可证" in page.text
    answer = client.get(path, headers=JSON)
    assert 400 <= answer.status_code < 500
    assert answer.json()["genuine"] is False
    assert answer.json()["reason"] == reason


def test_a_forged_signature_is_rejected(client: TestClient, issued: License, tmp_path: Path) -> None:
    forger = load_keyset(tmp_path / "forger")
    forged = sign_token(replace(sample_document().signed_content(), holder_name=issued.holder_name), forger)
    blob = int(forged).to_bytes((int(forged).bit_length() + 7) // 8, "big")
    relabelled = blob[:1] + bytes.fromhex(issued.key_id) + blob[5:]  # claims the genuine key id
    _assert_not_genuine(client, f"/v/{int.from_bytes(relabelled, 'big')}", "signature_invalid")


def test_an_unknown_key_id_is_rejected(client: TestClient, issued: License, tmp_path: Path) -> None:
    token = sign_token(sample_document().signed_content(), load_keyset(tmp_path / "elsewhere"))
    _assert_not_genuine(client, f"/v/{token}", "unknown_key")


def test_altered_content_is_rejected(client: TestClient, issued: License) -> None:
    token = issued.token
    position = len(token) // 3  # inside the signed content
    altered = token[:position] + str((int(token[position]) + 1) % 10) + token[position + 1 :]
    page = client.get(f"/v/{altered}")
    assert page.status_code == 400 and "非真实有效的许可证" in page.text


def test_the_json_answer_gives_the_check_time_in_iso_8601_with_its_offset_and_the_page_in_beijing_time(
    client: TestClient, issued: License
) -> None:
    unregistered = sign_token(sample_document(serial=9_999_998).signed_content(), _server_keys())
    for path in (_path(issued), f"/v/{unregistered}"):
        before = datetime.now(UTC).replace(microsecond=0)
        checked_at = datetime.fromisoformat(client.get(path, headers=JSON).json()["checked_at"])
        assert checked_at.utcoffset() == timedelta(hours=8), path  # an instant, not a wall-clock reading
        assert before <= checked_at <= datetime.now(UTC), path
        # the page says the moment of its own request in Beijing time (bounded by the clock around that request,
        # not by the JSON answer's moment: on a busy machine the two requests can be seconds apart)
        page_before = datetime.now(CHINA_TIME).replace(microsecond=0, tzinfo=None)
        page = client.get(path).text
        page_after = datetime.now(CHINA_TIME).replace(tzinfo=None)
        shown = re.search(r"核验时间：(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})（北京时间）", page)
        assert shown, path
        assert page_before <= datetime.fromisoformat(shown.group(1)) <= page_after, path


@pytest.mark.parametrize("garbage", ["hello", "0000", "1" * 50, "%3Cscript%3E"])
def test_garbage_is_rejected(client: TestClient, garbage: str) -> None:
    _assert_not_genuine(client, f"/v/{garbage}", "malformed")


def test_a_genuine_token_of_an_unknown_license_says_so(client: TestClient) -> None:
    token = sign_token(sample_document(serial=9_999_999).signed_content(), _server_keys())
    page = client.get(f"/v/{token}")
    assert page.status_code == 404
    assert "登记系统中无此许可证" in page.text
    answer = client.get(f"/v/{token}", headers=JSON)
    assert answer.status_code == 404
    assert answer.json()["genuine"] is True and answer.json()["registered"] is False


def test_a_hostile_holder_name_is_escaped(client: TestClient, session: Session, approved_application) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    license_ = licenses.issue_license(session, SYSTEM_ACTOR, approved_application(holder_name=hostile).id)
    html = client.get(_path(license_)).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html


def test_published_keys_verify_the_token(client: TestClient, issued: License) -> None:
    answer = client.get("/.well-known/onelicense-keys.json")
    assert answer.status_code == 200
    keyset = KeySet.from_jwks(answer.json())
    assert keyset.active_kid == issued.key_id
    assert verify_token(issued.token, keyset).content.number == issued.number
    assert all(set(key) >= {"kty", "crv", "x", "kid"} and "d" not in key for key in answer.json()["keys"])


def _keys_dir() -> Path:
    return LicenseConfig.from_settings().keys_dir


@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_without_a_key_store_verification_is_unavailable_and_creates_no_key(
    client: TestClient, tmp_path: Path, folder: str
) -> None:
    keys_dir = _keys_dir()
    if folder == "empty":
        keys_dir.mkdir(parents=True, mode=0o700)
    token = sign_token(sample_document().signed_content(), load_keyset(tmp_path / "elsewhere"))

    for path in (f"/v/{token}", "/.well-known/onelicense-keys.json"):
        for headers in ({}, JSON):
            answer = client.get(path, headers=headers)
            assert answer.status_code == 503, (path, answer.text)
            assert "暂时不可用" in answer.text
            assert answer.headers["cache-control"] == "no-store"
            for leak in (str(tmp_path), "/keys", ".pem", "私钥", "密钥目录"):
                assert leak not in answer.text, (path, leak)
    _assert_not_genuine(client, "/v/hello", "malformed")  # garbage needs no key to be judged
    assert not keys_dir.exists() or list(keys_dir.iterdir()) == []


def test_an_unreadable_key_store_is_unavailable_without_naming_it(
    client: TestClient, issued: License, tmp_path: Path
) -> None:
    (pem,) = _keys_dir().glob("*.pem")
    pem.chmod(0o644)  # refused by the key loader: too widely readable
    try:
        for headers in ({}, JSON):
            answer = client.get(_path(issued), headers=headers)
            assert answer.status_code == 503
            assert str(tmp_path) not in answer.text and pem.name not in answer.text
    finally:
        pem.chmod(0o600)
    assert client.get(_path(issued)).status_code == 200  # a failed read is not cached: the repair shows at once


def test_every_json_answer_is_what_the_openapi_document_says(client: TestClient, issued: License) -> None:
    """Issue 21: /v/ and the JWKS answers are typed; each real answer validates against its published model, and
    the document names the models (a generated client reads them without guessing)."""
    from onelicense.web.public_schemas import NotGenuine, PublishedKeys, Unregistered, VerifiedLicense

    older = _path(issued)
    VerifiedLicense.model_validate(client.get(older, headers=JSON).json())
    forged = older[:-6] + ("000000" if not older.endswith("000000") else "111111")
    assert client.get(forged, headers=JSON).status_code == 400
    NotGenuine.model_validate(client.get(forged, headers=JSON).json())
    unregistered = client.get(
        f"/v/{sign_token(sample_document(serial=9_999_997).signed_content(), _server_keys())}", headers=JSON
    )
    assert unregistered.status_code == 404
    Unregistered.model_validate(unregistered.json())
    PublishedKeys.model_validate(client.get("/.well-known/onelicense-keys.json").json())

    spec = client.get("/openapi.json").json()
    answers = spec["paths"]["/v/{token}"]["get"]["responses"]
    named = {
        code: answers[code]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for code in ("200", "400", "404")
    }
    assert named == {"200": "VerifiedLicense", "400": "NotGenuine", "404": "Unregistered"}
    assert "text/html" in answers["200"]["content"]
    keys = spec["paths"]["/.well-known/onelicense-keys.json"]["get"]["responses"]["200"]["content"]
    assert keys["application/json"]["schema"]["$ref"].endswith("/PublishedKeys")


def test_a_repeated_scan_has_its_own_check_time_and_a_new_day_is_seen_without_any_change(
    client: TestClient, session: Session, issued: License
) -> None:
    """Answers are kept between scans of the same code (web.public._Answers): what they say must stay live. The
    check time is each request's; a permit's validity that ends by the date alone (no write, no audit event) shows
    on the first request of the next day; a change of the license shows on the next request."""
    with time_machine.travel(datetime(2026, 6, 1, 4, 0, tzinfo=UTC), tick=False):
        first = client.get(_path(issued), headers=JSON).json()
    with time_machine.travel(datetime(2026, 6, 1, 4, 0, 7, tzinfo=UTC), tick=False):
        second = client.get(_path(issued), headers=JSON).json()
    assert first.pop("checked_at") == "2026-06-01T12:00:00+08:00"
    assert second.pop("checked_at") == "2026-06-01T12:00:07+08:00"
    assert first == second
    page = client.get(_path(issued)).text
    permits = session.exec(select(LicensePermit).where(LicensePermit.license_id == issued.id)).all()
    last_day = max(p.valid_until for p in permits if p.valid_until is not None)
    assert "有效" in page
    with time_machine.travel(datetime.combine(last_day + timedelta(days=1), datetime.min.time(), CHINA_TIME)):
        expired = client.get(_path(issued), headers=JSON).json()
        assert {p["status"]["label"] for p in expired["permits"]} == {"失效"}
        assert "失效" in client.get(_path(issued)).text
    licenses.change_license(session, ADMIN, issued.number, Operation.SUSPEND, reason="停业整顿")
    assert client.get(_path(issued), headers=JSON).json()["status"]["label"] == "暂扣"
    assert "暂扣" in client.get(_path(issued)).text
