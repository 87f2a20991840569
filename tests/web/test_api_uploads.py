"""Material references through the API: an application, an amendment or a license change may refer only to the
caller's own uploads (`upload:<id>`); another account's file, even with its exact id, is refused with 422 naming
the material, and nothing is stored (services.uploads.check_owned, the one check every door calls)."""

from __future__ import annotations

from typing import Any

from sqlmodel import func, select

from onelicense.flows.aggregation import aggregate
from onelicense.store.db import session_scope
from onelicense.store.tables import Upload
from tests.web.conftest import OTHER, Api, row_counts
from tests.web.sample import submission_body

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def uploaded(api: Api, who: str) -> str:
    response = api.post("/api/uploads", who, files={"file": ("材料.pdf", PDF, "application/pdf")})
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


def counts() -> dict[str, int]:
    with session_scope() as session:
        return {**row_counts(), "Upload": session.exec(select(func.count()).select_from(Upload)).one()}


def refused_material(response: Any, code: str) -> None:
    assert response.status_code == 422, response.text
    errors = {e["key"]: e for e in response.json()["errors"]}
    assert f"materials.{code}" in errors
    assert "不属于当前账号" in errors[f"materials.{code}"]["message"]
    assert f"materials.{code}" in response.json()["detail"]


def test_a_submission_referring_to_another_accounts_upload_is_refused_naming_the_material(api: Api) -> None:
    body = submission_body()
    code = next(iter(body["materials"]))
    foreign = uploaded(api, "other_applicant")
    before = counts()

    refused = api.post(
        "/api/applications", "applicant", json={**body, "materials": {**body["materials"], code: foreign}}
    )

    refused_material(refused, code)
    assert counts() == before
    own = api.post(
        "/api/applications",
        "applicant",
        json={**body, "materials": {**body["materials"], code: uploaded(api, "applicant")}},
    )
    assert own.status_code == 201, own.text


def test_an_amendment_referring_to_another_accounts_upload_is_refused_naming_the_material(api: Api) -> None:
    application_id = api.supplement_requested(("emergency_plan",))["application_id"]
    foreign = uploaded(api, "other_applicant")
    before = counts()

    refused = api.post(
        f"/api/applications/{application_id}/amend", "applicant", json={"materials": {"emergency_plan": foreign}}
    )

    refused_material(refused, "emergency_plan")
    assert counts() == before


def test_a_license_change_referring_to_another_accounts_upload_is_refused_naming_the_material(api: Api) -> None:
    submitted = api.submit()
    assert api.decide(api.review_id(submitted)).status_code == 200
    assert api.decide(api.review_id(submitted, OTHER), as_="other_reviewer").status_code == 200
    [result] = aggregate([submitted["application_id"]])
    assert result.license_number
    path = f"/api/licenses/{result.license_number}/change"
    code = next(iter(submission_body()["materials"]))
    for reference in (uploaded(api, "other_applicant"), "upload:" + "0" * 32, "upload:../../etc/passwd"):
        before = counts()

        refused = api.post(
            path,
            "applicant",
            json={"answers": {"business_address": "重庆市渝中区解放碑步行街1号"}, "materials": {code: reference}},
        )

        refused_material(refused, code)
        assert counts() == before
    own = api.post(
        path,
        "applicant",
        json={
            "answers": {"business_address": "重庆市渝中区解放碑步行街1号"},
            "materials": {code: uploaded(api, "applicant")},
        },
    )
    assert own.status_code == 201, own.text
