"""`onelicense verify` offline (no server, public keys only) and the `onelicense license ...` commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from licenses.keys import load_keyset
from licenses.qr import qr_png, verify_url
from licenses.token import sign_token
from onelicense.cli import app as onelicense_app
from onelicense.cli.licenses import verify_command
from onelicense.settings import get_settings
from review.roles import SYSTEM_ACTOR
from store import license_queries, licenses
from store.db import dispose_engine, get_session, migrate
from store.licenses import LicenseConfig
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
        return license_.token, Path(license_.pdf_path or "")
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
    assert runner.invoke(onelicense_app, ["license", "keys", "--out", str(keys_file)]).exit_code == 0
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
    suspended = runner.invoke(onelicense_app, ["license", "suspend", f"{number}-01", "--reason", "停业整顿"])
    assert suspended.exit_code == 0, suspended.output
    assert "暂扣" in suspended.output
    shown = runner.invoke(onelicense_app, ["license", "show", number])
    assert "暂扣" in shown.output and "停业整顿" in shown.output
    refused = runner.invoke(onelicense_app, ["license", "suspend", f"{number}-01", "--reason", "再次"])
    assert refused.exit_code == 1
    rotated = runner.invoke(onelicense_app, ["license", "keys-rotate"])
    assert rotated.exit_code == 0
    assert runner.invoke(verify_app, [token]).exit_code == 0  # the old key still verifies


def licenses_number(url: str) -> str:
    session = get_session(url)
    try:
        return license_queries.search_publicity(session).items[0].license.number
    finally:
        session.close()
