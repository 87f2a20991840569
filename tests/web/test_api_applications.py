"""Applicant side of the API: submit (the fan-out to the departments follows from the outbox), follow progress,
amend when asked, read the composite opinion."""

from __future__ import annotations

from onelicense.flows.aggregation import aggregate
from tests.web.conftest import BOTH_DATABASES, OTHER, OWN, Api, row_counts
from tests.web.sample import submission_body


def test_submit_fans_out_to_every_department_of_the_merged_form(api: Api) -> None:
    response = api.post("/api/applications", "applicant", json=submission_body())

    assert response.status_code == 201
    body = response.json()
    assert body["reference"].startswith("SQ")
    assert body["replayed"] is False
    assert {d["department_code"] for d in body["departments"]} == {OWN, OTHER}
    assert all(d["department_name"] and d["review_id"] for d in body["departments"])
    reviews = {d["department_code"]: f"/api/queue/{d['review_id']}" for d in body["departments"]}
    # the request only queued the fan-out: the applicant does not wait for it
    assert all(api.get(path, "admin").json()["suggested_opinion"] is None for path in reviews.values())

    assert api.fan_out() == 2  # one push per department

    for department, path in reviews.items():
        review = api.get(path, "admin").json()
        assert review["key_fields"]["department"]["code"] == department
        assert review["suggested_opinion"].startswith("系统预审")


@BOTH_DATABASES
def test_retried_submit_with_the_same_idempotency_key_returns_the_first_application(api: Api) -> None:
    body = {**submission_body(), "idempotency_key": "client-retry-1"}
    first = api.post("/api/applications", "applicant", json=body)
    counts = row_counts()

    again = api.post("/api/applications", "applicant", json=body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["application_id"] == first.json()["application_id"]
    assert again.json()["replayed"] is True
    assert again.json()["departments"] == first.json()["departments"]
    assert row_counts() == counts  # nothing stored again, no second push to any department


@BOTH_DATABASES
def test_idempotency_key_of_another_applicant_is_a_conflict(api: Api) -> None:
    body = {**submission_body(), "idempotency_key": "shared-key"}
    assert api.post("/api/applications", "applicant", json=body).status_code == 201
    counts = row_counts()

    response = api.post("/api/applications", "other_applicant", json=body)

    assert response.status_code == 409
    assert "幂等键" in response.json()["detail"]
    assert row_counts() == counts


@BOTH_DATABASES
def test_refused_submission_names_every_bad_field_and_stores_nothing(api: Api) -> None:
    body = submission_body()
    body["answers"] = {**body["answers"], "contact_phone": "123", "bed_count": "很多"}
    del body["answers"]["holder_name"]
    counts = row_counts()

    response = api.post("/api/applications", "applicant", json=body)

    assert response.status_code == 422
    errors = {e["key"]: e for e in response.json()["errors"]}
    assert set(errors) >= {"contact_phone", "bed_count", "holder_name"}
    assert errors["holder_name"]["label"] == "经营者名称"
    assert errors["holder_name"]["reason"] == "必填项未填写"
    assert "电话" in errors["contact_phone"]["reason"]
    assert row_counts() == counts


def test_blocking_prereview_finding_refuses_with_the_finding(api: Api) -> None:
    body = submission_body()
    body["answers"]["bed_count"] = 5  # the catalog's rule: 养老机构床位数应不少于10张
    counts = row_counts()

    response = api.post("/api/applications", "applicant", json=body)

    assert response.status_code == 422
    findings = response.json()["findings"]
    assert [f["severity"] for f in findings] == ["blocking"]
    assert "床位" in findings[0]["message"]
    assert findings[0]["department_code"] == OWN
    assert row_counts() == counts


def test_unsigned_commitment_and_unknown_industry_are_refused(api: Api) -> None:
    counts = row_counts()

    unsigned = api.post("/api/applications", "applicant", json={**submission_body(), "commitment_accepted": False})
    unknown = api.post("/api/applications", "applicant", json={**submission_body(), "industry_code": "NO_SUCH"})

    assert unsigned.status_code == 422
    assert [e["key"] for e in unsigned.json()["errors"]] == ["commitment_accepted"]
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["key"] == "industry_code"
    assert "未知行业" in unknown.json()["detail"]
    assert row_counts() == counts


def test_progress_shows_each_department_and_its_opinion_once_decided(api: Api) -> None:
    submitted = api.submit()
    assert (
        api.decide(api.review_id(submitted, OTHER), as_="other_reviewer", opinion="消防条件符合。").status_code == 200
    )

    response = api.get(f"/api/applications/{submitted['application_id']}", "applicant")

    assert response.status_code == 200
    detail = response.json()
    assert detail["status"] == "in_review"
    assert detail["status_label"] == "审查中"
    progress = {d["department_code"]: d for d in detail["departments"]}
    assert progress[OTHER]["decided"] is True
    assert progress[OTHER]["decision_label"] == "同意"
    assert progress[OTHER]["opinion"] == "消防条件符合。"
    assert progress[OWN]["decided"] is False
    assert progress[OWN]["status_label"] == "待受理"
    assert progress[OWN]["opinion"] is None
    assert progress[OWN]["department_name"] == "区卫生健康委员会"


def test_applicant_lists_only_its_own_applications_and_admin_lists_all(api: Api) -> None:
    mine = api.submit("applicant")
    theirs = api.submit("other_applicant")

    own = api.get("/api/applications", "applicant").json()["items"]
    everything = api.get("/api/applications", "admin").json()["items"]
    filtered = api.get("/api/applications", "admin", params={"status": "approved"}).json()["items"]

    assert [a["id"] for a in own] == [mine["application_id"]]
    assert {a["id"] for a in everything} == {mine["application_id"], theirs["application_id"]}
    assert filtered == []


def test_the_application_list_is_paged_with_its_total(api: Api) -> None:
    submitted = [api.submit()["application_id"] for _ in range(3)]
    first = api.get("/api/applications", "applicant", params={"page_size": 2}).json()
    second = api.get("/api/applications", "applicant", params={"page_size": 2, "page": 2}).json()
    past = api.get("/api/applications", "applicant", params={"page_size": 2, "page": 3}).json()

    assert (first["total"], first["page"], first["pages"]) == (3, 1, 2)
    assert (second["total"], second["page"], second["pages"]) == (3, 2, 2)
    assert [a["id"] for a in first["items"] + second["items"]] == submitted[::-1]  # newest first, none twice
    assert past == {"items": [], "total": 3, "page": 3, "pages": 2}
    nothing = api.get("/api/applications", "other_applicant").json()
    assert nothing == {"items": [], "total": 0, "page": 1, "pages": 1}


@BOTH_DATABASES
def test_amendment_reopens_only_the_department_that_asked(api: Api) -> None:
    submitted = api.supplement_requested()
    application_id = submitted["application_id"]
    detail = api.get(f"/api/applications/{application_id}", "applicant").json()
    assert detail["status_label"] == "待补正"
    asked = {d["department_code"]: d for d in detail["departments"]}[OWN]
    assert [i["label"] for i in asked["requested_items"]] == ["床位数（张）", "突发事件应急预案"]

    response = api.post(
        f"/api/applications/{application_id}/amend",
        "applicant",
        json={"answers": {"bed_count": 60}, "materials": {"emergency_plan": "file://plan.pdf"}},
    )

    assert response.status_code == 200, response.text
    amended = response.json()
    assert amended["status_label"] == "已补正"
    assert amended["answers"]["bed_count"] == 60
    assert amended["materials"]["emergency_plan"] == "file://plan.pdf"
    progress = {d["department_code"]: d for d in amended["departments"]}
    assert progress[OWN]["status_label"] == "待复审"
    assert progress[OWN]["round"] == 2
    assert progress[OTHER]["decision"] == "approve"  # kept its decision
    queue = api.get("/api/queue", "reviewer").json()["items"]
    assert [(q["application_id"], q["round"]) for q in queue] == [(application_id, 2)]


@BOTH_DATABASES
def test_amendment_that_breaks_the_form_is_refused_and_writes_nothing(api: Api) -> None:
    application_id = api.supplement_requested()["application_id"]
    counts = row_counts()
    path = f"/api/applications/{application_id}/amend"

    wrong_type = api.post(path, "applicant", json={"answers": {"bed_count": "六十"}})
    blocking = api.post(path, "applicant", json={"answers": {"bed_count": 5}})
    not_requested = api.post(path, "applicant", json={"answers": {"floor_area": 500}})
    removed_required = api.post(path, "applicant", json={"answers": {"bed_count": None}})
    empty = api.post(path, "applicant", json={})

    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"][0]["key"] == "bed_count"
    assert blocking.status_code == 422
    assert "床位" in blocking.json()["findings"][0]["message"]
    assert not_requested.status_code == 422
    assert not_requested.json()["errors"][0]["key"] == "floor_area"
    assert "补正" in not_requested.json()["errors"][0]["reason"]
    assert removed_required.status_code == 422
    assert removed_required.json()["errors"][0]["reason"] == "必填项未填写"
    assert empty.status_code == 422
    assert row_counts() == counts
    assert api.get(f"/api/applications/{application_id}", "applicant").json()["status"] == "supplement_requested"


def test_amendment_outside_supplement_state_is_a_conflict(api: Api) -> None:
    application_id = api.submit()["application_id"]
    counts = row_counts()

    response = api.post(f"/api/applications/{application_id}/amend", "applicant", json={"answers": {"bed_count": 30}})

    assert response.status_code == 409
    assert "待补正" in response.json()["detail"]
    assert row_counts() == counts


def test_stale_expected_version_on_amend_is_a_conflict(api: Api) -> None:
    application_id = api.supplement_requested()["application_id"]
    version = api.get(f"/api/applications/{application_id}", "applicant").json()["version"]

    response = api.post(
        f"/api/applications/{application_id}/amend",
        "applicant",
        json={"answers": {"bed_count": 30}, "expected_version": version - 1},
    )

    assert response.status_code == 409


def test_composite_opinion_is_a_conflict_before_aggregation_then_json_and_html(api: Api) -> None:
    submitted = api.submit()
    application_id = submitted["application_id"]
    early = api.get(f"/api/applications/{application_id}/opinion", "applicant")
    assert early.status_code == 409
    assert "尚未生成" in early.json()["detail"]

    assert api.decide(api.review_id(submitted), decision="reject", opinion="床位设置不符合要求。").status_code == 200
    assert api.decide(api.review_id(submitted, OTHER), as_="other_reviewer").status_code == 200
    aggregate([application_id])

    as_json = api.get(f"/api/applications/{application_id}/opinion", "applicant")
    as_html = api.get(f"/api/applications/{application_id}/opinion", "applicant", params={"format": "html"})
    assert as_json.status_code == 200
    assert as_json.json()["outcome"] == "reject"
    assert as_json.json()["outcome_label"] == "不予许可"
    assert "床位设置不符合要求" in as_json.json()["summary"]
    assert as_html.status_code == 200
    assert as_html.headers["content-type"].startswith("text/html")
    assert "床位设置不符合要求" in as_html.text
