"""`onelicense calendar`: what the database holds, an import shown as a diff first and written only with --apply
and an admin's token, a package that has no data for a year named as such; `catalog check` warns when the
calendar runs out within 60 days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from onelicense.cli import app
from onelicense.clock import CHINA_TIME
from onelicense.store.db import session_scope
from onelicense.store.tables.calendar import CalendarYear
from tests.web.conftest import Users, make_users, temporary_database

runner = CliRunner()
FIXTURE = Path(__file__).resolve().parents[1] / "services" / "fixtures" / "calendar-2027-test.yaml"


@pytest.fixture
def people(tmp_path: Path) -> Iterator[Users]:
    with temporary_database(tmp_path / "data"):
        yield make_users()


def test_import_shows_the_diff_then_applies_with_an_admin_token(people: Users) -> None:
    shown = runner.invoke(app, ["calendar", "show"])
    assert shown.exit_code == 0, shown.output
    assert "2026" in shown.output and "覆盖至：2026-12-31" in shown.output

    preview = runner.invoke(app, ["calendar", "import", str(FIXTURE)])
    assert preview.exit_code == 0, preview.output
    assert "2027 年：新增年度" in preview.output and "+ 放假：2027-01-01" in preview.output
    assert "+ 调休上班：2027-02-20" in preview.output and "--apply" in preview.output
    with session_scope() as session:
        assert session.get(CalendarYear, 2027) is None

    refused = runner.invoke(app, ["calendar", "import", str(FIXTURE), "--apply", "--token", people.tokens["reviewer"]])
    assert refused.exit_code == 1 and "无权导入节假日安排" in refused.output
    applied = runner.invoke(app, ["calendar", "import", str(FIXTURE), "--apply", "--token", people.tokens["admin"]])
    assert applied.exit_code == 0, applied.output
    assert "已导入" in applied.output
    with session_scope() as session:
        row = session.get(CalendarYear, 2027)
        assert row is not None and row.source == "文件 calendar-2027-test.yaml" and "2027-02-20" in row.workdays
    same = runner.invoke(app, ["calendar", "import", str(FIXTURE)])
    assert "2027 年：与现有数据相同" in same.output
    assert "覆盖至：2027-12-31" in runner.invoke(app, ["calendar", "show"]).output


def test_a_package_without_the_year_and_a_bad_file_are_refused(people: Users, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["calendar", "import", "--from", "chinesecalendar", "--year", "2027"])
    assert missing.exit_code == 1 and "还没有 2027 年的节假日安排" in missing.output
    same = runner.invoke(app, ["calendar", "import", "--from", "chinesecalendar", "--year", "2026"])
    assert same.exit_code == 0 and "2026 年：与现有数据相同" in same.output
    partial = tmp_path / "partial.yaml"
    partial.write_text("holidays: [2027-01-01]\n", encoding="utf-8")
    refused = runner.invoke(app, ["calendar", "import", str(partial)])
    assert refused.exit_code == 1 and "安排不完整" in refused.output


def test_catalog_check_warns_when_the_calendar_runs_out(people: Users) -> None:
    with time_machine.travel(datetime(2026, 10, 30, 10, tzinfo=CHINA_TIME), tick=False):
        quiet = runner.invoke(app, ["catalog", "check"])
    with time_machine.travel(datetime(2026, 11, 2, 10, tzinfo=CHINA_TIME), tick=False):
        warned = runner.invoke(app, ["catalog", "check"])
    assert quiet.exit_code == warned.exit_code == 0
    assert "警告" not in quiet.output and "覆盖至：2026-12-31" in quiet.output
    assert "警告：工作日历的节假日安排将于 2026-12-31 结束（剩余 59 天）" in warned.output
