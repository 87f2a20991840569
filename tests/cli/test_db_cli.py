"""`onelicense db upgrade`, and the read commands that refuse a database whose schema is not the latest instead of
migrating it behind the operator's back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from typer.testing import CliRunner

from onelicense.cli import app
from onelicense.settings import get_settings
from onelicense.store.db import alembic_config, database_url, dispose_engine, get_engine

runner = CliRunner()


@pytest.fixture
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Settings on an empty data folder: its SQLite database does not exist yet. Yields the database URL."""
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ONELICENSE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    url = database_url()
    yield url
    dispose_engine(url)
    get_settings.cache_clear()


def _refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, (args, result.output)
    assert "Traceback" not in result.output
    return result.output


def test_read_commands_refuse_a_new_database_until_db_upgrade(data_folder: str) -> None:
    for command_line in (("users", "list"), ("queue", "list", "--token", "ol_any")):
        output = _refused(*command_line)
        assert "尚未初始化" in output and "onelicense db upgrade" in output, (command_line, output)

    upgraded = runner.invoke(app, ["db", "upgrade"])
    again = runner.invoke(app, ["db", "upgrade"])  # idempotent
    listed = runner.invoke(app, ["users", "list", "--json"])

    assert upgraded.exit_code == 0, upgraded.output
    assert "最新版本" in upgraded.output
    assert again.exit_code == 0, again.output
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []


def test_read_commands_refuse_an_outdated_schema_and_leave_it_as_it_was(data_folder: str) -> None:
    with get_engine(data_folder).begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")  # before the token revocation column

    output = _refused("users", "list")

    assert "0002" in output and "onelicense db upgrade" in output, output
    assert _refused("users", "list") == output  # the refusal did not migrate it
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["users", "list", "--json"]).exit_code == 0
