"""/metrics (issue 22): the Prometheus text format as Prometheus' own parser reads it, admins only, and figures that
match what is stored: the outbox per kind, open reviews per department and colour, applications by status, the
request histogram by route template."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.web.conftest import OTHER, OWN, Api


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.get("/metrics", "admin")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_only_admins_read_the_metrics(api: Api) -> None:
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", "applicant").status_code == 403
    assert api.get("/metrics", "reviewer").status_code == 403


def test_the_figures_are_what_is_stored_and_follow_the_work(api: Api) -> None:
    submitted = api.submit()
    departments = {d["department_code"] for d in submitted["departments"]}
    assert departments == {OWN, OTHER}
    before = scrape(api)
    assert value(before, "onelicense_outbox_due", kind="department_push") == len(departments)
    assert value(before, "onelicense_outbox_oldest_due_seconds", kind="department_push") >= 0
    for department in departments:
        assert value(before, "onelicense_reviews_open", department=department, level="green") == 1
    status = api.get(f"/api/applications/{submitted['application_id']}", "applicant").json()["status"]
    assert value(before, "onelicense_applications", status=status) == 1
    route = {"method": "POST", "route": "/api/applications", "status": "201"}
    assert value(before, "onelicense_http_request_duration_seconds_count", **route) == 1
    assert value(before, "onelicense_http_request_duration_seconds_bucket", le="+Inf", **route) == 1

    assert api.fan_out() >= len(departments)
    after = scrape(api)
    assert value(after, "onelicense_outbox_due", kind="department_push") == 0
    # the scrapes themselves are requests too, each in the histogram under its template
    assert value(after, "onelicense_http_request_duration_seconds_count", method="GET", route="/metrics",
                 status="200") == 1  # fmt: skip
    assert not [key for key in after if "holder" in str(key) or "uscc" in str(key)]  # counts by code only
