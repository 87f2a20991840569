"""Bad input to every endpoint: a 4xx whose message names the problem, never a 500, never a half-written
application (row counts unchanged)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onelicense.forms.identifiers import id_number_check_char, uscc_check_char
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import users
from onelicense.store.db import session_scope
from tests.web.conftest import BOTH_DATABASES, Api, row_counts
from tests.web.sample import submission_body

VALID = submission_body()


def _id(first17: str) -> str:
    return first17 + id_number_check_char(first17)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def _raw(body: str) -> dict[str, Any]:
    return {"content": body.encode("utf-8", "surrogatepass"), "headers": {"Content-Type": "application/json"}}


def _with_answers(**answers: Any) -> dict[str, Any]:
    return {"json": {**VALID, "answers": {**VALID["answers"], **answers}}}


# (what, request kwargs, the error key or message fragment the answer must name)
SUBMIT_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("malformed JSON", _raw('{"industry_code": "ELDERLY_CARE",'), "JSON"),
    ("body is a list", {"json": [VALID]}, "JSON 对象"),
    ("body is a string", {"json": "申请"}, "JSON 对象"),
    ("empty body", {"content": b"", "headers": {"Content-Type": "application/json"}}, "必填"),
    ("form-encoded body", {"data": {"industry_code": "ELDERLY_CARE"}}, "请求体"),
    ("unknown top-level field", {"json": {**VALID, "priority": "urgent"}}, "priority"),
    ("answers is a list", {"json": {**VALID, "answers": [1, 2]}}, "answers"),
    ("materials is a string", {"json": {**VALID, "materials": "all.pdf"}}, "materials"),
    ("industry code is a number", {"json": {**VALID, "industry_code": 42}}, "industry_code"),
    ("industry code in lower case", {"json": {**VALID, "industry_code": "elderly_care"}}, "industry_code"),
    ("industry code oversized", {"json": {**VALID, "industry_code": "X" * 65}}, "industry_code"),
    ("commitment as a string", {"json": {**VALID, "commitment_accepted": "yes"}}, "commitment_accepted"),
    ("commitment missing", {"json": {k: v for k, v in VALID.items() if k != "commitment_accepted"}}, "必填"),
    ("empty idempotency key", {"json": {**VALID, "idempotency_key": ""}}, "idempotency_key"),
    ("oversized idempotency key", {"json": {**VALID, "idempotency_key": "k" * 201}}, "idempotency_key"),
    ("unknown answer field", _with_answers(favourite_colour="红"), "favourite_colour"),
    ("oversized text field", _with_answers(holder_name="名" * 5000), "holder_name"),
    ("number as text", _with_answers(bed_count="二十"), "bed_count"),
    ("boolean as a number", _with_answers(has_canteen=2), "has_canteen"),
    ("negative count", _with_answers(bed_count=-1), "bed_count"),
    ("bad date", _with_answers(opening_date="2025-02-30"), "opening_date"),
    ("NUL in a value", _with_answers(holder_name="养老\x00院"), "空字符"),
    ("lone surrogate", _raw(json.dumps(VALID).replace('"holder_name": "', '"holder_name": "\\ud800', 1)), "无效的字符"),
    ("NaN", _raw(json.dumps(VALID).replace('"bed_count": 20', '"bed_count": NaN', 1)), "NaN"),
    ("huge document", _with_answers(notes=["字" * 1000] * 300), "内容过大"),
    ("deep nesting", _with_answers(holder_name=json.loads("[" * 50 + "]" * 50)), "嵌套"),
    ("very deep nesting", _raw('{"answers": ' + "[" * 100_000 + "]" * 100_000 + "}"), "请求体"),
    ("material reference not text", {"json": {**VALID, "materials": {"business_license": 7}}}, "business_license"),
    ("unknown material", {"json": {**VALID, "materials": {**VALID["materials"], "poem": "x.pdf"}}}, "poem"),
    # identifiers: other scripts' digits, impossible birth dates with a right check digit, an all-zero USCC
    ("Arabic-Indic digits in a phone", _with_answers(contact_phone="١٣٨٠٠١٣٨٠٠٠"), "contact_phone"),
    (
        "Devanagari digits in an ID number",
        _with_answers(legal_rep_id_number="११०१०५१९४९१२३१००२X"),
        "legal_rep_id_number",
    ),
    ("ID number born 00000000", _with_answers(legal_rep_id_number=_id("11010500000000123")), "出生日期"),
    ("ID number born 99999999", _with_answers(legal_rep_id_number=_id("11010599999999123")), "出生日期"),
    ("ID number of no province", _with_answers(legal_rep_id_number=_id("00000019491231002")), "行政区划"),
    ("all-zero USCC", _with_answers(uscc="000000000000000000"), "登记管理部门"),
    ("USCC with a zero region", _with_answers(uscc=_uscc("91000000MA5U7K2X3")), "行政区划码"),
    ("phone with an inner line break", _with_answers(contact_phone="138001\n38000"), "contact_phone"),
    ("e-mail without a domain", _with_answers(email="someone@"), "email"),
    ("opening date in year 1", _with_answers(opening_date="0001-01-01"), "合理范围"),
    ("opening date in year 9999", _with_answers(opening_date="9999-12-31"), "合理范围"),
    # invisible characters: what is stored must read as it is displayed, searched and masked
    ("right-to-left override in the name", _with_answers(holder_name="\u202e司公限有饮餐庆重"), "U+202E"),
    ("isolate controls in the address", _with_answers(business_address="重庆\u2066市\u2069渝北区"), "U+2066"),
    ("zero-width space in a person's name", _with_answers(legal_representative="张\u200b三明"), "U+200B"),
    ("byte order mark in a name", _with_answers(holder_name="\ufeff重庆养老院"), "U+FEFF"),
    (
        "control character in a material reference",
        {"json": {**VALID, "materials": {"business_license": "a\x07.pdf"}}},
        "控制字符",
    ),
    # what the license must hold: the signed token's bytes, the certificate's fonts
    ("holder name of 100 rare characters", _with_answers(holder_name="𪚥" * 100), "255 字节"),
    ("holder name of 80 emoji", _with_answers(holder_name="😀" * 80), "255 字节"),
    ("a character no certificate font has", _with_answers(holder_name="重庆\ufdfa养老院"), "无法印制"),
]


@pytest.mark.parametrize(("what", "request_kwargs", "named"), SUBMIT_CASES, ids=[c[0] for c in SUBMIT_CASES])
def test_bad_submission_is_refused_naming_the_problem(
    api: Api, what: str, request_kwargs: dict[str, Any], named: str
) -> None:
    _assert_refused(api, what, request_kwargs, named)


# what PostgreSQL would choke on (NUL in text/jsonb, invalid UTF-8) or a half-applied write would show
POSTGRES_CASES = [
    c for c in SUBMIT_CASES if c[0] in {"NUL in a value", "lone surrogate", "NaN", "oversized text field"}
]


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
@pytest.mark.parametrize(("what", "request_kwargs", "named"), POSTGRES_CASES, ids=[c[0] for c in POSTGRES_CASES])
def test_bad_submission_is_refused_on_postgres(api: Api, what: str, request_kwargs: dict[str, Any], named: str) -> None:
    _assert_refused(api, what, request_kwargs, named)


def _assert_refused(api: Api, what: str, request_kwargs: dict[str, Any], named: str) -> None:
    counts = row_counts()

    response = api.post("/api/applications", "applicant", **request_kwargs)

    assert 400 <= response.status_code < 500, (what, response.status_code, response.text)
    body = response.json()
    assert named in body["detail"] or any(named in json.dumps(e, ensure_ascii=False) for e in body["errors"]), body
    assert row_counts() == counts


def test_bad_path_and_query_parameters_are_4xx(api: Api) -> None:
    submitted = api.submit()
    counts = row_counts()
    cases = [
        ("GET", "/api/applications/not-an-id", "application_id"),
        ("GET", "/api/applications/" + "0" * 32, "不存在"),
        ("GET", "/api/applications/%00", "application_id"),
        ("GET", "/api/applications?page_size=0", "page_size"),
        ("GET", "/api/applications?page_size=many", "page_size"),
        ("GET", "/api/applications?page=0", "page"),
        ("GET", "/api/applications?status=lost", "status"),
        ("GET", "/api/queue?status=lost", "status"),
        ("GET", "/api/queue?older_than_hours=-1", "older_than_hours"),
        ("GET", "/api/queue?older_than_hours=nan", "older_than_hours"),
        ("GET", "/api/queue?industry=%00", "industry"),
        ("GET", "/api/queue?page_size=501", "page_size"),
        ("GET", "/api/queue/" + "f" * 32, "不存在"),
        ("POST", "/api/queue/" + "f" * 32 + "/claim", "不存在"),
        ("POST", "/api/queue/" + "f" * 32 + "/release", "不存在"),
        ("GET", f"/api/applications/{submitted['application_id']}/opinion?format=pdf", "format"),
        ("GET", "/api/industries/NO_SUCH/form", "未知行业"),
        ("GET", "/api/industries/HOTEL/form?has_pool=perhaps", "has_pool"),
        ("GET", "/api/industries/HOTEL/form?favourite=1", "favourite"),
        ("GET", "/api/nothing-here", "不存在"),
        ("DELETE", "/api/applications", "不支持"),
    ]
    for method, path, named in cases:
        response = api.request(method, path, "reviewer" if "/queue" in path else "applicant")
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert named in response.text, (path, response.text)
    assert row_counts() == counts


@BOTH_DATABASES
def test_bad_decide_and_amend_bodies_are_422_and_write_nothing(api: Api) -> None:
    submitted = api.submit()
    review = f"/api/queue/{api.review_id(submitted)}"
    amend = f"/api/applications/{submitted['application_id']}/amend"
    counts = row_counts()
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        (review + "/decide", "reviewer", {"json": {"decision": 1, "opinion": "x"}}, "decision"),
        (review + "/decide", "reviewer", {"json": {"decision": "approve", "opinion": ["x"]}}, "opinion"),
        (review + "/decide", "reviewer", {"json": {"decision": "approve", "opinion": "\x00"}}, "空字符"),
        (
            review + "/decide",
            "reviewer",
            {"json": {"decision": "supplement", "opinion": "x", "requested_items": "bed_count"}},
            "requested_items",
        ),
        (
            review + "/decide",
            "reviewer",
            {"json": {"decision": "supplement", "opinion": "x", "requested_items": ["Bed Count"]}},
            "requested_items",
        ),
        (
            review + "/decide",
            "reviewer",
            {"json": {"decision": "approve", "opinion": "x", "expected_version": 0}},
            "expected_version",
        ),
        (
            review + "/decide",
            "reviewer",
            {"json": {"decision": "approve", "opinion": "x", "expected_version": "1"}},
            "expected_version",
        ),
        (review + "/decide", "reviewer", {"json": {"decision": "approve", "opinion": "x", "extra": 1}}, "extra"),
        (review + "/decide", "reviewer", _raw("{"), "JSON"),
        (review + "/claim", "reviewer", {"json": {"expected_version": -5}}, "expected_version"),
        (review + "/claim", "reviewer", {"json": ["x"]}, "JSON 对象"),
        (review + "/release", "reviewer", {"json": {"version": 1}}, "version"),
        (amend, "applicant", {"json": {"answers": [1]}}, "answers"),
        (amend, "applicant", {"json": {"answers": {}, "note": "x"}}, "note"),
        (amend, "applicant", _raw("nope"), "JSON"),
    ]
    for path, who, kwargs, named in cases:
        response = api.post(path, who, **kwargs)
        assert response.status_code == 422, (path, kwargs, response.status_code, response.text)
        assert named in response.text, (path, response.text)
    assert row_counts() == counts


def test_missing_or_malformed_credentials_are_401(api: Api) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer ol_forged"},
    ):
        response = api.client.get("/api/applications", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert "令牌" in response.json()["detail"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values)
def test_arbitrary_json_to_decide_and_amend_is_never_a_server_error(api: Api, body: Any) -> None:
    # the fixture (one application) is shared by every example: statuses may move on, but never to a 500
    submitted = getattr(api, "_fuzz_target", None) or api.submit()
    api._fuzz_target = submitted  # type: ignore[attr-defined]
    review = f"/api/queue/{api.review_id(submitted)}/decide"
    amend = f"/api/applications/{submitted['application_id']}/amend"

    for path, who in ((review, "reviewer"), (amend, "applicant")):
        response = api.post(path, who, json=body)
        assert response.status_code < 500, response.text


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=st.dictionaries(st.sampled_from(sorted(VALID["answers"])), json_values, max_size=4))
def test_arbitrary_answers_through_the_flow_are_never_a_server_error(api: Api, answers: dict[str, Any]) -> None:
    counts = row_counts()
    body = {**VALID, "answers": {**VALID["answers"], **answers}}

    response = api.post("/api/applications", "applicant", json=body)

    # 409: an earlier example's accepted application holds these premises
    assert response.status_code in (201, 409, 422), response.text
    if response.status_code != 201:
        assert row_counts() == counts
        return
    # what was accepted also gets through the fan-out: every department's review is prepared
    api.fan_out()
    for department in response.json()["departments"]:
        review = api.get(f"/api/queue/{department['review_id']}", "admin").json()
        assert review["suggested_opinion"] and review["key_fields"], review


def test_a_revoked_token_is_401(api: Api) -> None:
    assert api.get("/api/applications", "reviewer").status_code == 200
    with session_scope() as session:
        users.revoke_user(session, api.users.ids["reviewer"], actor=SYSTEM_ACTOR)

    response = api.get("/api/applications", "reviewer")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "停用" in response.json()["detail"]
    assert api.get("/api/applications", "reviewer2").status_code == 200
