"""The administrator's identity commands: load the local registry stand-in, look a company up, vouch for a
binding after checking papers at the counter, reset a password (sessions end), lift sign-in delays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from onelicense.cli import app
from onelicense.demo.registry import DATA, seed_demo_registry
from onelicense.services import accounts, users
from onelicense.store.db import session_scope
from onelicense.store.tables import AuditEvent, User, WebSession
from tests.web.conftest import Users, make_users, temporary_database

runner = CliRunner()
PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture
def people(tmp_path: Path) -> Iterator[Users]:
    with temporary_database(tmp_path / "data"):
        yield make_users()


def test_registry_import_and_show(people: Users, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("companies:\n  - {uscc: 123, name: x, legal_representative: y}\n", encoding="utf-8")
    refused = runner.invoke(app, ["registry", "import", str(bad)])
    assert refused.exit_code == 1 and "统一社会信用代码 123 无效" in refused.output
    loaded = runner.invoke(app, ["registry", "import", str(DATA)])
    assert loaded.exit_code == 0 and "已载入 3 家经营主体" in loaded.output
    shown = runner.invoke(app, ["registry", "show", "91500105MA61CD34EQ"])
    assert (
        "重庆解放碑美容有限公司" in shown.output and "139****0102" in shown.output and "13900000102" not in shown.output
    )
    assert seed_demo_registry() == []  # not empty any more: serve loads nothing over it


def test_vouch_reset_and_unlock(people: Users) -> None:
    with session_scope() as session:
        user, _ = users.create_user(session, "王小二", "applicant", usccs=[], vouched=False, login="13700000000",
                                    password_hash=accounts.hash_password(PASSWORD))  # fmt: skip
        signed = accounts.sign_in(session, "13700000000", PASSWORD, client="192.0.2.1")
        user_id = user.id
    runner.invoke(app, ["registry", "import", str(DATA)])
    vouched = runner.invoke(
        app, ["users", "vouch", user_id, "--uscc", "91500103MA60AB12CP", "--reason", "窗口核验营业执照原件"]
    )
    assert vouched.exit_code == 0, vouched.output
    reset = runner.invoke(app, ["users", "set-password", user_id, "--login", "13700000000", "--password-stdin"],
                          input="Reset-By-The-Admin-77\n")  # fmt: skip
    assert reset.exit_code == 0, reset.output
    weak = runner.invoke(app, ["users", "set-password", user_id, "--login", "13700000000", "--password-stdin"],
                         input="password1\n")  # fmt: skip
    assert weak.exit_code == 1 and "密码" in weak.output
    assert runner.invoke(app, ["users", "unlock", "13700000000"]).exit_code == 0
    with session_scope() as session:
        row = session.get(User, user_id)
        assert row is not None and row.verified_usccs == ["91500103MA60AB12CP"]
        assert session.get(WebSession, users.hash_token(signed.cookie)).revoked_at is not None  # type: ignore[union-attr]
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.entity_id == user_id))]
        assert "binding.verify" in actions and "user.set_password" in actions


def test_an_account_created_on_the_command_line_gets_a_phone_to_be_notified_at(people: Users) -> None:
    """`users create --phone` and `users set-phone` (issue 19): the number an administrator checked counts as
    confirmed; a bad one is refused naming the field; the audit log records that it was set, never the number."""
    made = runner.invoke(app, ["users", "create", "-n", "窗口申请人", "-r", "applicant", "-u", "91500103MA60AB12CP",
                               "--phone", "13912340000", "--json"])  # fmt: skip
    assert made.exit_code == 0, made.output
    user_id = made.output.strip().splitlines()[-1].split('"id": "')[1].split('"')[0]
    with session_scope() as session:
        row = session.get(User, user_id)
        assert row is not None and row.phone == "13912340000" and row.phone_verified_at is not None
    bad = runner.invoke(app, ["users", "set-phone", user_id, "12345"])
    assert bad.exit_code == 1 and "手机号码" in bad.output
    assert runner.invoke(app, ["users", "set-phone", user_id, "13912349999"]).exit_code == 0
    assert runner.invoke(app, ["users", "set-phone", user_id]).exit_code == 0  # cleared
    with session_scope() as session:
        row = session.get(User, user_id)
        assert row is not None and row.phone is None and row.phone_verified_at is None
        events = [e for e in session.exec(select(AuditEvent)) if e.action == "user.set_phone"]
        assert len(events) == 2 and "13912349999" not in str([e.after for e in events])
    assert "supervisor" in runner.invoke(app, ["users", "create", "--help"]).output
