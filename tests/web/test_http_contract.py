"""HTTP by the book, as an integrator's tools read it: the served OpenAPI document passes the validator others use,
every GET answers HEAD, every 405 says in `Allow` what the path supports, answers with personal data are never
stored by a cache, and a malformed body is refused in Chinese."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.web.conftest import Api


def test_the_served_openapi_document_is_valid_openapi_3_1(api: Api) -> None:
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises OpenAPIValidationError naming the first violation
    schemes = document["components"]["securitySchemes"]
    assert list(schemes) == ["bearerAuth"] and "访问令牌" in schemes["bearerAuth"]["description"]


def _concrete(path: str) -> str:
    """A path of the schema with each parameter filled in (no such resource: the method still has to be served)."""
    return re.sub(r"\{[^}]+\}", "0", path)


def test_every_get_route_answers_head_as_it_answers_get(api: Api) -> None:
    document = api.get("/openapi.json").json()
    paths = [_concrete(path) for path, item in document["paths"].items() if "get" in item]
    paths += ["/openapi.json", "/docs", "/login", "/portal", "/static/docs/swagger-ui-5.35.0.css"]
    for path in paths:
        get = api.get(path, "admin", follow_redirects=False)
        head = api.request("HEAD", path, "admin", follow_redirects=False)
        assert head.status_code == get.status_code != 405, path
        assert head.headers.get("content-type") == get.headers.get("content-type"), path
        assert head.content == b"", path


def test_every_405_names_in_allow_the_methods_its_path_serves(api: Api) -> None:
    document = api.get("/openapi.json").json()
    for path, item in document["paths"].items():
        declared = {method.upper() for method in item if method in {"get", "post", "put", "patch", "delete"}}
        served = declared | ({"HEAD"} if "GET" in declared else set())
        unserved = next(method for method in ("DELETE", "PUT", "PATCH") if method not in declared)
        for method in (unserved, "HEAD") if "GET" not in declared else (unserved,):
            answer = api.request(method, _concrete(path), "admin")
            assert answer.status_code == 405, (method, path)
            allow = {name.strip() for name in answer.headers["allow"].split(",")}
            assert allow == served, (method, path, allow)
            if method != "HEAD":
                assert "、".join(sorted(served)) in answer.json()["detail"]


def test_answers_with_personal_data_are_never_stored_by_a_cache(api: Api) -> None:
    submitted = api.submit()
    own = f"/api/applications/{submitted['application_id']}"
    for path in (own, "/api/applications", "/api/industries"):
        answer = api.get(path, "applicant")
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store", path
    refused = api.get(own, "other_applicant")
    assert refused.status_code == 403 and refused.headers["cache-control"] == "no-store"
    assert api.request("HEAD", own, "applicant").headers["cache-control"] == "no-store"
    # a file that is the same for everyone keeps what its server says
    assert "no-store" not in api.get("/static/docs/swagger-ui-5.35.0.css").headers.get("cache-control", "")


@pytest.mark.parametrize("body", [b"{bad", b"[1,", b'{"industry_code": tru}', b"\xff\xfe", b"nul"])
def test_a_malformed_json_body_is_refused_in_chinese_saying_where(api: Api, body: bytes) -> None:
    answer = api.post("/api/applications", "applicant", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "不是有效的 JSON" in detail and re.search(r"第 \d+ 个字符处", detail), detail
    assert not re.search(r"[a-z]{3,}", detail), detail  # none of the parser's English ("Expecting value")
