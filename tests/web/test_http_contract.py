"""HTTP by the book, as an integrator's tools read it: the served OpenAPI document passes the validator others use,
every GET answers HEAD, every 405 says in `Allow` what the path supports, answers with personal data are never
stored by a cache, and a malformed body is refused in Chinese."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.web.conftest import Api


def test_the_served_openapi_document_is_valid_openapi_3_1(api: Api) -> None:
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises OpenAPIValidationError naming the first violation
    schemes = document["components"]["securitySchemes"]
    assert list(schemes) == ["bearerAuth"] and "访问令牌" in schemes["bearerAuth"]["description"]
