"""/healthz, /readyz and `onelicense doctor` (issue 22): the process answers; readiness names each check in Chinese,
answers 503 when one fails, and says the same in the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from onelicense.cli import app as cli
from onelicense.services import licenses
from onelicense.settings import get_settings
from onelicense.web.app import create_app
from tests.web.conftest import Api
from tests.web.sample import submission_body

CHECKS = ["database", "outbox", "prefect", "signing_key", "calendar", "disk"]


def readiness(client: TestClient) -> tuple[int, dict[str, dict[str, str]]]:
    response = client.get("/readyz")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["ready"] is (response.status_code == 200)
    return response.status_code, {c["name"]: c for c in body["checks"]}


def test_healthz_answers_while_the_process_runs(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert client.head("/healthz").status_code == 200
    assert client.head("/readyz").status_code in (200, 503)


def test_readyz_passes_on_a_working_setup_and_says_each_check_in_chinese(client: TestClient) -> None:
    licenses.provision_keys()
    status, checks = readiness(client)
    assert status == 200, checks
    assert list(checks) == CHECKS
    assert all(c["status"] in ("ok", "warn") for c in checks.values())
    assert checks["database"]["status"] == "ok" and checks["prefect"]["status"] == "ok"  # the run's Prefect server
    assert checks["signing_key"]["status"] == "ok" and "在用密钥" in checks["signing_key"]["detail"]
    assert all("\u4e00" <= c["description"][0] <= "\u9fff" or c["description"][0].isascii() for c in checks.values())


def test_work_nobody_takes_fails_readiness_until_a_dispatcher_runs(
    api: Api, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.submit()  # its department pushes are due now
    monkeypatch.setenv("ONELICENSE_CLOCK_SHIFT", "PT1H")  # an hour later, nobody has taken them
    get_settings.cache_clear()
    status, checks = readiness(client)
    assert status == 503 and checks["outbox"]["status"] == "fail"
    assert "派发进程" in checks["outbox"]["detail"] and "已等待" in checks["outbox"]["detail"]

    monkeypatch.delenv("ONELICENSE_CLOCK_SHIFT")
    get_settings.cache_clear()
    assert api.fan_out() > 0
    status, checks = readiness(client)
    assert checks["outbox"]["status"] == "ok", checks["outbox"]


def test_too_little_disk_space_fails_readiness(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONELICENSE_HEALTH_MIN_FREE_MB", str(10**12))
    get_settings.cache_clear()
    status, checks = readiness(client)
    assert status == 503 and checks["disk"]["status"] == "fail" and "低于" in checks["disk"]["detail"]


def test_a_database_behind_the_code_fails_readiness_and_the_rest_still_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as client:
            status, checks = readiness(client)
        assert status == 503 and checks["database"]["status"] == "fail"
        assert "onelicense db upgrade" in checks["database"]["detail"]
        assert "outbox" not in checks and {"prefect", "signing_key", "calendar", "disk"} <= set(checks)
        assert checks["signing_key"]["status"] == "warn"  # no key yet: made at the first issue

        result = CliRunner().invoke(cli, ["doctor"])
        assert result.exit_code == 1 and "未通过" in result.output and "暂不能提供服务" in result.output
    finally:
        get_settings.cache_clear()


def test_doctor_prints_the_same_checks_as_readyz(client: TestClient) -> None:
    licenses.provision_keys()
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    _, served = readiness(client)
    assert [c["name"] for c in printed["checks"]] == list(served)
    assert {c["name"]: c["status"] for c in printed["checks"]} == {n: c["status"] for n, c in served.items()}
    table = CliRunner().invoke(cli, ["doctor"])
    assert table.exit_code == 0 and "可以提供服务" in table.output


def test_readiness_names_no_person(api: Api, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    submitted = api.submit()
    monkeypatch.setenv("ONELICENSE_CLOCK_SHIFT", "PT1H")  # the failing outbox check describes the waiting work
    get_settings.cache_clear()
    text = client.get("/readyz").text
    personal = [v for v in submission_body()["answers"].values() if isinstance(v, str) and len(v) >= 6]
    assert personal and not [v for v in personal if v in text]
    assert submitted["application_id"] not in text and submitted["reference"] not in text
