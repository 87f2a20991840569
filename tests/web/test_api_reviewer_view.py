"""What a reviewer may read of an application: only the fields and materials its own department's permits need.

Applicants (their own) and admins keep the full view. The field keys are taken from the catalog, not written here."""

from __future__ import annotations

from tests.web.conftest import OTHER, OWN, Api
from tests.web.sample import sample_form


def _needs(department: str) -> tuple[set[str], set[str]]:
    permits = sample_form().permits_of(department)
    return {k for p in permits for k in p.fields}, {m.code for p in permits for m in p.materials}


def test_a_reviewer_sees_only_its_departments_fields_and_materials(api: Api) -> None:
    submitted = api.submit()
    path = f"/api/applications/{submitted['application_id']}"
    own_fields, own_materials = _needs(OWN)
    other_fields, other_materials = _needs(OTHER)
    only_other = other_fields - own_fields
    assert only_other and other_materials - own_materials  # the catalog's small industry has both

    for who, fields, materials in (
        ("reviewer", own_fields, own_materials),
        ("other_reviewer", other_fields, other_materials),
    ):
        response = api.get(path, who)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body["answers"]) == fields, who
        assert set(body["materials"]) == materials, who

    own_view = api.get(path, "reviewer").json()
    assert not only_other & set(own_view["answers"])
    assert not (other_materials - own_materials) & set(own_view["materials"])
    # a condition question no permit's form asks (e.g. has_canteen) is not the department's business either
    assert set(own_view["answers"]) <= own_fields


def test_applicant_and_admin_keep_the_full_view(api: Api) -> None:
    submitted = api.submit()
    path = f"/api/applications/{submitted['application_id']}"
    full = api.get(path, "applicant").json()
    own_fields, _ = _needs(OWN)
    other_fields, _ = _needs(OTHER)
    assert set(full["answers"]) >= own_fields | other_fields
    assert api.get(path, "admin").json()["answers"] == full["answers"]
    assert api.get(path, "admin").json()["materials"] == full["materials"]
