"""`onelicense verify` offline (no server, public keys only) and the `onelicense license ...` commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from onelicense.cli import app as onelicense_app
from onelicense.cli.licenses import verify_command
from onelicense.licenses.keys import load_keyset
from onelicense.licenses.qr import qr_png, verify_url
from onelicense.licenses.token import sign_token
from onelicense.review.roles import SYSTEM_ACTOR, Role
from onelicense.services import licenses, users
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import get_settings
from onelicense.store import license_queries
from onelicense.store.db import dispose_engine, get_session, migrate
from tests.licenses.conftest import BASE_URL, make_approved_application, sample_document

runner = CliRunner()
verify_app = typer.Typer()
verify_app.command()(verify_command)


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", url)
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    migrate(url)
    yield url
    dispose_engine(url)
    get_settings.cache_clear()


@pytest.fixture
def issued_pdf(settings_env: str) -> tuple[str, Path]:
    session = get_session(settings_env)
    try:
        license_ = licenses.issue_license(session, SYSTEM_ACTOR, make_approved_application(session).id)
        return license_.token, licenses.ensure_pdf(session, license_)
    finally:
        session.close()


def test_verify_a_pdf_offline_prints_the_signed_content(issued_pdf: tuple[str, Path]) -> None:
    _, pdf = issued_pdf
    result = runner.invoke(verify_app, [str(pdf)])
    assert result.exit_code == 0, result.output
    assert "签名有效" in result.output
    assert "渝北区老街坊便利店" in result.output and "FOOD_BUSINESS" in result.output


def test_verify_with_a_published_key_file_and_a_png(
    issued_pdf: tuple[str, Path], tmp_path: Path, settings_env: str
) -> None:
    token, _ = issued_pdf
    keys_file = tmp_path / "keys.json"
    assert runner.invoke(onelicense_app, ["license", "keys", "show", "--out", str(keys_file)]).exit_code == 0
    png = tmp_path / "qr.png"
    png.write_bytes(qr_png(verify_url(BASE_URL, token)))
    result = runner.invoke(verify_app, [str(png), "--keys", str(keys_file)])
    assert result.exit_code == 0, result.output
    assert "签名有效" in result.output
    url_result = runner.invoke(verify_app, [verify_url(BASE_URL, token), "--keys", str(keys_file)])
    assert url_result.exit_code == 0


def test_verify_rejects_a_forgery(settings_env: str, tmp_path: Path) -> None:
    load_keyset(LicenseConfig.from_settings().keys_dir)
    forged = sign_token(sample_document().signed_content(), load_keyset(tmp_path / "forger"))
    result = runner.invoke(verify_app, [forged])
    assert result.exit_code == 1
    assert "非真实有效的许可证" in result.output


def test_license_commands_change_status_and_rotate_keys(issued_pdf: tuple[str, Path], settings_env: str) -> None:
    token, _ = issued_pdf
    number = licenses_number(settings_env)
    admin = user_token(settings_env, Role.ADMIN)
    suspended = runner.invoke(
        onelicense_app, ["license", "suspend", f"{number}-01", "--reason", "停业整顿", "--token", admin]
    )
    assert suspended.exit_code == 0, suspended.output
    assert "暂扣" in suspended.output
    shown = runner.invoke(onelicense_app, ["license", "show", number])
    assert "暂扣" in shown.output and "停业整顿" in shown.output
    refused = runner.invoke(
        onelicense_app, ["license", "suspend", f"{number}-01", "--reason", "再次", "--token", admin]
    )
    assert refused.exit_code == 1
    rotated = runner.invoke(onelicense_app, ["license", "keys", "rotate"])
    assert rotated.exit_code == 0
    assert runner.invoke(verify_app, [token]).exit_code == 0  # the old key still verifies


def test_lifecycle_commands_need_a_token(issued_pdf: tuple[str, Path], settings_env: str) -> None:
    number = licenses_number(settings_env)
    for args in (
        ["license", "suspend", f"{number}-01", "--reason", "停业整顿"],
        ["license", "revoke", number, "--reason", "严重违法"],
        ["license", "renew", f"{number}-01", "--until", "2099-12-31"],
        ["license", "suspend", f"{number}-01", "--reason", "停业整顿", "--token", "ol_forged"],
    ):
        result = runner.invoke(onelicense_app, args)
        assert result.exit_code == 1, (args, result.output)
        assert "访问令牌无效或缺失" in result.output
    assert composite_and_permits(settings_env, number) == ("有效", ["有效", "有效"])


def test_a_reviewer_changes_only_its_own_departments_permits(issued_pdf: tuple[str, Path], settings_env: str) -> None:
    number = licenses_number(settings_env)
    own = permit_department(settings_env, f"{number}-01")
    other = permit_department(settings_env, f"{number}-02")
    assert own != other
    own_token = user_token(settings_env, Role.REVIEWER, own)

    foreign = runner.invoke(
        onelicense_app,
        ["license", "suspend", f"{number}-02", "--reason", "越权", "--token", own_token],
    )
    whole = runner.invoke(onelicense_app, ["license", "suspend", number, "--reason", "越权", "--token", own_token])
    assert (foreign.exit_code, whole.exit_code) == (1, 1)
    assert "仅管理员或" in foreign.output and "可变更" in foreign.output
    assert "仅管理员可变更整个综合许可证" in whole.output
    assert composite_and_permits(settings_env, number) == ("有效", ["有效", "有效"])

    # the token from the environment, as for the queue commands
    suspended = runner.invoke(
        onelicense_app,
        ["license", "suspend", f"{number}-01", "--reason", "停业整顿"],
        env={"ONELICENSE_TOKEN": own_token},
    )
    assert suspended.exit_code == 0, suspended.output
    assert composite_and_permits(settings_env, number)[1] == ["暂扣", "有效"]


def test_a_revoked_admin_token_changes_nothing(issued_pdf: tuple[str, Path], settings_env: str) -> None:
    number = licenses_number(settings_env)
    admin = user_token(settings_env, Role.ADMIN)
    session = get_session(settings_env)
    try:
        user_id = next(u.id for u in users.list_users(session) if u.role is Role.ADMIN)
        users.revoke_user(session, user_id, actor=SYSTEM_ACTOR)
    finally:
        session.close()
    result = runner.invoke(onelicense_app, ["license", "revoke", number, "--reason", "严重违法", "--token", admin])
    assert result.exit_code == 1
    assert composite_and_permits(settings_env, number)[0] == "有效"


# --- offline verification: the address around a genuine token ------------------------------------------------


def test_a_genuine_token_at_a_foreign_address_is_a_loud_warning(issued_pdf: tuple[str, Path], tmp_path: Path) -> None:
    token, _ = issued_pdf
    for foreign in (
        verify_url("https://evil.example.cn", token),
        verify_url("http://127.0.0.1:8000@evil.example.cn", token),
        verify_url("http://127.0.0.1:8001", token),
        verify_url(f"{BASE_URL}/phish", token),
    ):
        result = runner.invoke(verify_app, [foreign])
        assert result.exit_code == 2, (foreign, result.output)
        assert "不是官方核验网站" in result.output
        assert "渝北区老街坊便利店" in result.output  # the signed content is still shown
        assert "请勿打开该网址" in result.output

    png = tmp_path / "foreign.png"
    png.write_bytes(qr_png(verify_url("https://evil.example.cn", token)))
    from_image = runner.invoke(verify_app, [str(png)])
    assert from_image.exit_code == 2 and "不是官方核验网站" in from_image.output

    official = runner.invoke(verify_app, [verify_url(BASE_URL, token)])
    assert official.exit_code == 0, official.output
    assert "不是官方核验网站" not in official.output
    bare = runner.invoke(verify_app, [token])
    assert bare.exit_code == 0 and "不是官方核验网站" not in bare.output


def test_the_official_site_comes_from_settings_or_base_url(
    issued_pdf: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = issued_pdf
    site = "https://zwfw.example.gov.cn/yyyz"
    at_site = verify_url(site, token)
    assert runner.invoke(verify_app, [at_site, "--base-url", site]).exit_code == 0
    assert runner.invoke(verify_app, [verify_url(BASE_URL, token), "--base-url", site]).exit_code == 2
    assert runner.invoke(verify_app, [at_site]).exit_code == 2  # the default is the configured public_base_url
    monkeypatch.setenv("ONELICENSE_PUBLIC_BASE_URL", site)
    get_settings.cache_clear()
    assert runner.invoke(verify_app, [at_site]).exit_code == 0


def user_token(url: str, role: Role, department: str | None = None) -> str:
    session = get_session(url)
    try:
        return users.create_user(session, f"{role.value} {department or ''}".strip(), role, department)[1]
    finally:
        session.close()


def permit_department(url: str, permit_number: str) -> str:
    session = get_session(url)
    try:
        now = license_queries.current_status(session, permit_number.rsplit("-", 1)[0])
        return next(p.permit.department_code for p in now.permits if p.permit.number == permit_number)
    finally:
        session.close()


def composite_and_permits(url: str, number: str) -> tuple[str, list[str]]:
    session = get_session(url)
    try:
        now = license_queries.current_status(session, number)
        return now.composite.label, [p.status.label for p in now.permits]
    finally:
        session.close()


def licenses_number(url: str) -> str:
    session = get_session(url)
    try:
        return license_queries.search_publicity(session).items[0].license.number
    finally:
        session.close()


def test_show_and_pdf_take_the_identifier_as_well_as_the_number(issued_pdf: tuple[str, Path], settings_env: str) -> None:
    number = licenses_number(settings_env)
    session = get_session(settings_env)
    try:
        identifier = licenses.identifier_of(licenses.load_license(session, number))
    finally:
        session.close()
    shown = runner.invoke(onelicense_app, ["license", "show", identifier])
    assert shown.exit_code == 0, shown.output
    assert number in shown.output and identifier in shown.output.replace("\n", "")
    path = runner.invoke(onelicense_app, ["license", "pdf", identifier])
    assert path.exit_code == 0 and path.output.strip().endswith(f"{number}.pdf"), path.output
    wrong = runner.invoke(onelicense_app, ["license", "show", identifier[:-1] + ("0" if identifier[-1] != "0" else "1")])
    assert wrong.exit_code == 1 and "校验位不符" in wrong.output
