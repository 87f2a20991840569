"""`onelicense doctor --production` (issue 22): refuses the settings a production deployment must not run with, one
Chinese line per problem and exit status 1, and passes a deployment set up as docs/operations.md says."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onelicense.cli import app
from onelicense.forms.identifiers import uscc_check_char
from onelicense.services import licenses
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import get_settings
from onelicense.store.db import database_url, dispose_engine, migrate

runner = CliRunner()
PROBLEM = "生产环境不安全："


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A migrated SQLite database in an owner-only data folder with a signing key; each test sets the rest."""
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ONELICENSE_DATABASE_URL", raising=False)
    monkeypatch.setenv("ONELICENSE_HEALTH_MIN_FREE_MB", "0")  # a test machine's disk is not what is tested here
    get_settings.cache_clear()
    migrate()
    licenses.provision_keys()
    yield monkeypatch
    dispose_engine(database_url())
    get_settings.cache_clear()


def doctor(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], *args: str) -> tuple[int, str]:
    for name, value in settings.items():
        monkeypatch.setenv(f"ONELICENSE_{name}", value)
    get_settings.cache_clear()
    result = runner.invoke(app, ["doctor", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def problem_lines(output: str) -> list[str]:
    return [line.removeprefix(PROBLEM) for line in output.splitlines() if line.startswith(PROBLEM)]


def test_unsafe_settings_are_refused_one_line_each(environment: pytest.MonkeyPatch) -> None:
    keys = LicenseConfig.from_settings().keys_dir
    pem = next(keys.glob("*.pem"))
    pem.chmod(0o644)
    unsafe = {
        "CLOCK_SHIFT": "P1D",
        "PUBLIC_BASE_URL": "http://localhost:8000",
        "SECURE_COOKIES": "false",
        "FORWARDED_ALLOW_IPS": "*",
        "NOTIFY_CHANNELS": '["webhook", "email"]',
        "SMTP_STARTTLS": "false",
    }
    status, output = doctor(environment, unsafe, "--production")

    lines = problem_lines(output)
    expected = [
        "ONELICENSE_PRODUCTION 未设为 true",
        "ONELICENSE_CLOCK_SHIFT 已设置（测试时钟）",
        "ONELICENSE_PUBLIC_BASE_URL（http://localhost:8000）不是 https 地址",
        "ONELICENSE_PUBLIC_BASE_URL（http://localhost:8000）指向本机",
        "ONELICENSE_SECURE_COOKIES 未开启",
        "ONELICENSE_FORWARDED_ALLOW_IPS 为 *",
        "未配置短信平台（ONELICENSE_NOTIFY_WEBHOOK_URL）：无法发送短信验证码，且已开启短信通知",
        "已开启邮件通知（ONELICENSE_NOTIFY_CHANNELS 含 email），但未配置邮件服务器（ONELICENSE_SMTP_HOST）",
        f"{pem} 的权限为 0644",
    ]
    assert status == 1, output
    for start in expected:
        assert sum(line.startswith(start) for line in lines) == 1, (start, lines)
    assert f"有 {len(lines)} 项设置不适合生产环境" in output
    assert not any(line.startswith("ONELICENSE_SMTP_STARTTLS") for line in lines)  # no mail server: nothing sent

    as_json = doctor(environment, {}, "--production", "--json")[1]
    assert json.loads(as_json)["production_problems"] == lines
    assert "production_problems" not in json.loads(doctor(environment, {}, "--json")[1])  # only when asked for
    assert problem_lines(doctor(environment, {})[1]) == []


def test_mail_in_clear_text_and_a_login_provider_without_its_secret_are_refused(
    environment: pytest.MonkeyPatch,
) -> None:
    settings = {"SMTP_HOST": "smtp.example.gov.cn", "SMTP_STARTTLS": "false", "OIDC_ISSUER": "https://idp.example"}
    lines = problem_lines(doctor(environment, settings, "--production")[1])
    assert [line for line in lines if line.startswith(("ONELICENSE_SMTP_STARTTLS", "已配置统一身份认证"))] == [
        "ONELICENSE_SMTP_STARTTLS 已关闭：通知邮件（含姓名、事项）会以明文发送",
        "已配置统一身份认证（ONELICENSE_OIDC_ISSUER），但未配置 ONELICENSE_OIDC_CLIENT_SECRET",
    ]


def test_a_deployment_set_up_for_production_passes(environment: pytest.MonkeyPatch) -> None:
    issuer = "11500107MB1234567"
    issuer += uscc_check_char(issuer)
    production = {
        "PRODUCTION": "true",
        "PUBLIC_BASE_URL": "https://zwfw.example.gov.cn/onelicense",
        "SECURE_COOKIES": "true",
        "FORWARDED_ALLOW_IPS": "10.1.2.1",
        "NOTIFY_WEBHOOK_URL": "https://sms.example.gov.cn/send",
        "NOTIFY_CHANNELS": '["webhook", "email"]',
        "SMTP_HOST": "smtp.example.gov.cn",
        # the 证照标识 codes, where this release has them (unknown settings are ignored)
        "LICENSE_ISSUER_USCC": issuer,
        "LICENSE_TYPE_CODE": f"{issuer}001",
    }
    status, output = doctor(environment, production, "--production")
    assert problem_lines(output) == []
    assert "生产环境设置检查通过" in output and "可以提供服务" in output
    assert status == 0, output
    assert oct(os.stat(get_settings().data_dir).st_mode & 0o777) == "0o700"
