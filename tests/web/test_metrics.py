"""/metrics (issue 22): the Prometheus text format as Prometheus' own parser reads it, admins only, and figures that
match what is stored: the outbox per kind, open reviews per department and colour, applications by status, the
request histogram by route template."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from onelicense.review.roles import Role
from onelicense.services.users import create_user
from onelicense.store.db import dispose_engine, migrate, session_scope
from tests.web.conftest import OTHER, OWN, Api
from tests.web.live import free_port, wait_until_answering


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


def test_with_several_api_workers_a_scrape_counts_the_requests_of_all(tmp_path: Path) -> None:
    """`serve --api-workers 2`: the request histogram is shared by the workers, so every scrape, whichever worker
    answers it, counts every request made so far (each on a new connection, spread over both workers)."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    migrate(url)
    with session_scope(url) as session:
        _, token = create_user(session, "运维管理员", Role.ADMIN)
    dispose_engine(url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONELICENSE_", "PREFECT_", "PROMETHEUS_"))}
    env.update(ONELICENSE_DATA_DIR=str(tmp_path / "data"), ONELICENSE_DATABASE_URL=url,
               ONELICENSE_PREFECT_PORT=str(free_port()))  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "onelicense", "serve", "--api-only", "--api-workers", "2", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/healthz", server)
        for _ in range(40):  # a new connection each: the kernel hands them to either worker
            assert httpx.get(f"{base}/healthz").status_code == 200
        counts = []
        for _ in range(6):
            answer = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(answer.text)
                for s in family.samples
            }
            counts.append(
                samples.get(
                    (
                        "onelicense_http_request_duration_seconds_count",
                        (("method", "GET"), ("route", "/healthz"), ("status", "200")),
                    ),
                    0.0,
                )
            )
        assert counts == [41.0] * 6, counts  # the 40 and the first answered health check, from any worker
        written = {p.name for p in (tmp_path / "data" / "metrics").glob("histogram_*.db")}
        assert len(written) == 2, written  # both workers served some of them
    finally:
        server.terminate()
        server.wait(timeout=30)
