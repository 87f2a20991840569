"""What a careless or hostile user found, each fixed once in the service layer and proved here through the API:
normalized identifiers, one active application per holder and premises, declared USCCs, honest idempotency, the
applicant's own license, early refusal of oversized or anonymous bodies, security headers, precise messages, and
dead letters an admin can act on."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from onelicense.flows.dispatcher import dispatch_once
from onelicense.forms.identifiers import uscc_check_char
from onelicense.settings import get_settings
from onelicense.store.db import session_scope
from onelicense.store.tables import Application
from tests.web.conftest import OTHER, OWN, Api, row_counts
from tests.web.sample import submission_body


def _issued(api: Api, body: dict[str, Any] | None = None) -> dict[str, Any]:
    submitted = api.submit(**(body or {}))
    assert api.decide(api.review_id(submitted, OWN)).status_code == 200
    assert api.decide(api.review_id(submitted, OTHER), as_="other_reviewer").status_code == 200
    while dispatch_once():  # fan-out, aggregation, license
        pass
    return submitted


def test_identifiers_are_normalized_before_they_are_stored(api: Api) -> None:
    body = submission_body()
    answers = body["answers"]
    phone, id_number = answers["contact_phone"], answers["legal_rep_id_number"]
    answers["contact_phone"] = "".join(chr(ord(c) + 0xFEE0) for c in phone)  # full-width digits
    answers["legal_rep_id_number"] = id_number.lower() + "\n"  # a trailing line break, a lower-case x
    answers["email"] = "  contact@example.cn\n"
    response = api.post("/api/applications", "applicant", json=body)
    assert response.status_code == 201, response.text
    stored = api.get(f"/api/applications/{response.json()['application_id']}", "applicant").json()["answers"]
    assert stored["contact_phone"] == phone
    assert stored["legal_rep_id_number"] == id_number.upper()
    assert stored["email"] == "contact@example.cn"


def test_a_bad_scope_answer_is_the_only_error_reported(api: Api) -> None:
    body = submission_body()
    body["answers"]["has_canteen"] = "也许"
    response = api.post("/api/applications", "applicant", json=body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["key"] for e in errors] == ["has_canteen"]  # not "unknown field" for what it deselected
    assert errors[0]["label"] != "has_canteen" and "是" in errors[0]["reason"]


def test_one_active_application_per_holder_industry_and_premises(api: Api) -> None:
    body = submission_body()
    first = api.post("/api/applications", "applicant", json=body)
    assert first.status_code == 201
    counts = row_counts()
    spaced = {**body, "answers": {**body["answers"], "business_address": " " + body["answers"]["business_address"]}}
    for who in ("applicant", "other_applicant"):  # the same business, whoever submits it
        again = api.post("/api/applications", who, json=spaced)
        assert again.status_code == 409, again.text
        assert first.json()["reference"] in again.json()["detail"]
    assert row_counts() == counts
    elsewhere = {**body, "answers": {**body["answers"], "business_address": "重庆市渝北区另一处经营场所8号"}}
    assert api.post("/api/applications", "applicant", json=elsewhere).status_code == 201


def test_a_refused_application_frees_its_premises(api: Api) -> None:
    body = submission_body()
    submitted = api.submit(**body)
    refused = api.decide(api.review_id(submitted), decision="reject", opinion="不符合设置标准。")
    assert refused.status_code == 200
    assert api.decide(api.review_id(submitted, OTHER), as_="other_reviewer").status_code == 200
    while dispatch_once():
        pass
    assert api.get(f"/api/applications/{submitted['application_id']}", "applicant").json()["status"] == "rejected"
    assert api.post("/api/applications", "applicant", json=body).status_code == 201


def test_an_applicant_submits_only_for_the_uscc_its_account_declares(api: Api) -> None:
    body = submission_body()
    body["answers"]["uscc"] = "91500107MA5U3XY71" + uscc_check_char("91500107MA5U3XY71")  # valid, not declared
    counts = row_counts()
    response = api.post("/api/applications", "applicant", json=body)
    assert response.status_code == 403, response.text
    assert body["answers"]["uscc"] in response.json()["detail"]
    assert row_counts() == counts


def test_an_idempotent_replay_answers_the_same_and_another_body_is_a_conflict(api: Api) -> None:
    body = {**submission_body(), "idempotency_key": "retry-1"}
    first = api.post("/api/applications", "applicant", json=body)
    again = api.post("/api/applications", "applicant", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["departments"] == first.json()["departments"] != []
    assert again.json()["application_id"] == first.json()["application_id"] and again.json()["replayed"]
    other = {**submission_body(), "idempotency_key": "retry-1"}
    reused = api.post("/api/applications", "applicant", json=other)
    assert reused.status_code == 409
    assert "幂等键" in reused.json()["detail"] and first.json()["reference"] in reused.json()["detail"]


def test_the_applicant_fetches_its_license_and_nobody_else_can(api: Api) -> None:
    submitted = _issued(api)
    detail = api.get(f"/api/applications/{submitted['application_id']}", "applicant").json()
    assert detail["status"] == "issued" and detail["license_number"]
    assert detail["verify_url"].startswith(f"{get_settings().public_base_url}/v/")
    path = detail["license_pdf"]
    for who in ("applicant", "reviewer", "other_reviewer", "admin"):
        pdf = api.get(path, who)
        assert pdf.status_code == 200, (who, pdf.text)
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        assert detail["license_number"] in pdf.headers["content-disposition"]
    for who in ("other_applicant", "uninvolved_reviewer"):
        refused = api.get(path, who)
        assert refused.status_code == 403 and b"%PDF" not in refused.content
    guessed = api.get(f"/api/applications/{'0' * 32}/license.pdf", "other_applicant")
    assert guessed.status_code == 404 and b"%PDF" not in guessed.content
    assert api.get(path).status_code == 401


def test_an_oversized_body_is_refused_before_it_is_read(api: Api) -> None:
    huge = {"Content-Length": str(100 * 1024 * 1024), "Content-Type": "application/json"}
    started = time.monotonic()
    response = api.client.post("/api/applications", headers={**api.users.headers("applicant"), **huge}, content=b"{}")
    assert response.status_code == 413 and "请求内容过大" in response.json()["detail"]
    assert time.monotonic() - started < 2

    chunks = (b"x" * 65536 for _ in range(40))  # 2.5 MB without a declared length
    chunked = api.client.post(
        "/api/applications",
        headers={**api.users.headers("applicant"), "Content-Type": "application/json"},
        content=chunks,
    )
    assert chunked.status_code == 413


def test_an_anonymous_body_is_refused_before_it_is_read(api: Api) -> None:
    response = api.client.post("/api/applications", json=submission_body())
    assert response.status_code == 401 and "令牌" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_an_over_long_url_gets_a_chinese_414(api: Api) -> None:
    response = api.get("/api/queue?industry=" + "A" * 9000, "reviewer")
    assert response.status_code == 414 and "网址过长" in response.json()["detail"]


def test_messages_say_what_is_wrong(api: Api) -> None:
    submitted = api.submit()
    review = f"/api/queue/{api.review_id(submitted)}/decide"
    long_opinion = api.post(review, "reviewer", json={"decision": "approve", "opinion": "意" * 2001})
    assert long_opinion.status_code == 422
    assert "过长（最多 2000 个字符）" in long_opinion.json()["detail"]
    huge_token = api.client.get("/v/" + "1" * 6_000, headers={"Accept": "application/json"})
    assert huge_token.status_code == 400
    assert "过长" in str(huge_token.json())
    form = api.post("/api/applications", "applicant", data={"industry_code": "ELDERLY_CARE"})
    assert form.status_code == 422 and "请求体" in form.json()["detail"]


def test_a_claimed_review_names_the_colleague_not_an_id(api: Api) -> None:
    submitted = api.submit()
    review = api.review_id(submitted)
    assert api.post(f"/api/queue/{review}/claim", "reviewer").status_code == 200
    taken = api.decide(review, as_="reviewer2")
    assert taken.status_code == 409
    assert "「reviewer」" in taken.json()["detail"] and api.users.ids["reviewer"] not in taken.json()["detail"]


@pytest.mark.parametrize("path", ["/api/industries", "/publicity", "/v/123", "/api/applications"])
def test_every_answer_carries_the_security_headers(api: Api, path: str) -> None:
    response = api.get(path, "applicant")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"


def test_an_application_that_can_never_be_issued_goes_to_the_dead_letters_for_an_admin(api: Api) -> None:
    submitted = api.submit()
    application_id = submitted["application_id"]
    assert api.decide(api.review_id(submitted, OWN)).status_code == 200
    assert api.decide(api.review_id(submitted, OTHER), as_="other_reviewer").status_code == 200
    # data stored before the submission-time checks existed: a name the token cannot hold
    with session_scope() as session:
        session.execute(update(Application).where(col(Application.id) == application_id).values(holder_name="𪚥" * 100))
        session.commit()
    while dispatch_once():
        pass
    assert api.get(f"/api/applications/{application_id}", "applicant").json()["status"] == "approved"
    assert dispatch_once() == 0  # not retried forever
    [letter] = api.get("/api/admin/dead-letters", "admin").json()["items"]
    assert letter["reference"] == submitted["reference"] and "255 字节" in letter["last_error"]
    assert api.get("/api/admin/dead-letters", "applicant").status_code == 403

    with session_scope() as session:  # the name is corrected (as the registry has it)
        session.execute(update(Application).where(col(Application.id) == application_id).values(holder_name="养老院"))
        session.commit()
    retried = api.post(f"/api/admin/dead-letters/{letter['message_id']}/retry", "admin", json={"reason": "已更正名称"})
    assert retried.status_code == 204
    while dispatch_once():
        pass
    assert api.get(f"/api/applications/{application_id}", "applicant").json()["status"] == "issued"
    assert api.get("/api/admin/dead-letters", "admin").json() == {"items": [], "total": 0, "page": 1, "pages": 1}


def test_the_data_files_are_private(api: Api) -> None:
    folder = get_settings().data_dir
    database = folder / "onelicense.db"
    assert database.stat().st_mode & 0o077 == 0
    assert folder.stat().st_mode & 0o077 == 0
