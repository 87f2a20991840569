"""The catalog for applicants: industries, departments, the merged form for the answers to the conditions."""

from __future__ import annotations

from tests.web.conftest import Api


def test_industries_list_every_catalog_industry_with_its_condition_questions(api: Api) -> None:
    industries = {i["code"]: i for i in api.get("/api/industries").json()}

    assert "HOTEL" in industries
    assert industries["HOTEL"]["name"] == "宾馆"
    assert "has_pool" in industries["HOTEL"]["condition_keys"]
    assert len(api.get("/api/departments").json()) == 9


def test_merged_form_follows_the_answers_given_as_query_parameters(api: Api) -> None:
    plain = api.get("/api/industries/HOTEL/form").json()
    everything = api.get(
        "/api/industries/HOTEL/form", params={key: "true" for key in plain["industry"]["condition_keys"]}
    ).json()

    assert len(plain["departments"]) < len(everything["departments"]) == 9
    assert everything["conditions"]["has_pool"] is True
    pool = next(p for p in everything["permits"] if p["department_code"] == "TYJ")
    assert pool["department_name"] == "区体育局"
    fields = {f["key"]: f for f in everything["fields"]}
    assert fields["holder_name"]["label"] == "经营者名称"
    assert len(fields["holder_name"]["departments"]) > 1  # asked once, needed by several departments
    assert fields["has_pool"]["condition_for"]
    assert everything["materials"]
    assert "承诺" in everything["commitment_notice"]


def test_numeric_and_chinese_boolean_conditions_are_parsed_by_the_field_type(api: Api) -> None:
    small = api.get("/api/industries/RESTAURANT/form", params={"floor_area": "40", "has_outdoor_sign": "否"}).json()
    large = api.get("/api/industries/RESTAURANT/form", params={"floor_area": "120", "has_outdoor_sign": "是"}).json()

    assert small["conditions"] == {"floor_area": 40.0, "has_outdoor_sign": False}
    assert "SMALL_CATERING_REGISTRATION" in {p["code"] for p in small["permits"]}
    assert "FOOD_BUSINESS" in {p["code"] for p in large["permits"]}
    assert "OUTDOOR_SIGN" in {p["code"] for p in large["permits"]}


def test_bad_conditions_and_unknown_industry_name_the_problem(api: Api) -> None:
    unknown = api.get("/api/industries/SPACEPORT/form")
    bad_value = api.get("/api/industries/RESTAURANT/form", params={"floor_area": "很大"})
    not_a_condition = api.get("/api/industries/RESTAURANT/form", params={"holder_name": "x"})

    assert unknown.status_code == 404
    assert "未知行业" in unknown.json()["detail"]
    assert bad_value.status_code == 422
    assert bad_value.json()["errors"][0]["key"] == "floor_area"
    assert not_a_condition.status_code == 422
    assert "经营范围问答" in not_a_condition.json()["errors"][0]["reason"]


def test_openapi_documents_every_api_operation_in_chinese(api: Api) -> None:
    spec = api.get("/openapi.json").json()

    operations = [op for path, ops in spec["paths"].items() if path.startswith("/api/") for op in ops.values()]
    assert operations
    for operation in operations:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in operation["summary"]), operation["summary"]
    assert "SubmitRequest" in spec["components"]["schemas"]
    assert "ErrorBody" in spec["components"]["schemas"]


def test_the_scope_answers_may_come_typed_in_a_json_body(api: Api) -> None:
    """Issue 21: POST /api/industries/{code}/form takes the scope answers as a typed body the schema declares, so
    a generated client gets the same form the query parameters give."""
    keys = api.get("/api/industries/HOTEL/form").json()["industry"]["condition_keys"]
    by_query = api.get("/api/industries/HOTEL/form", params={key: "true" for key in keys}).json()
    by_body = api.post("/api/industries/HOTEL/form", "applicant", json={"answers": {key: True for key in keys}})
    assert by_body.status_code == 200, by_body.text
    assert by_body.json() == by_query
    small = api.post("/api/industries/RESTAURANT/form", "applicant", json={"answers": {"floor_area": 40}}).json()
    assert small["conditions"] == {"floor_area": 40.0}
    refused = api.post(
        "/api/industries/HOTEL/form", "applicant", json={"answers": {"bed_count": 3, "has_pool": "大概"}}
    )
    assert refused.status_code == 422
    assert {e["key"] for e in refused.json()["errors"]} == {"bed_count", "has_pool"}
    schema = api.get("/openapi.json").json()["paths"]["/api/industries/{industry_code}/form"]["post"]
    assert "requestBody" in schema
