"""`onelicense calendar ...`: the working-day calendar's holiday arrangements — what the database holds, and the
import of a new year (from a YAML file written from the State Council's notice, or from the `chinesecalendar`
package) with the diff shown first and applied only with --apply (an admin's token)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from onelicense.cli.common import as_user, database, fail

if TYPE_CHECKING:
    from onelicense.review.calendar import YearArrangement

app = typer.Typer(no_args_is_help=True)
console = Console()

TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="ONELICENSE_TOKEN", help="管理员的访问令牌（--apply 时需要）", show_default=False),
]


@app.command("show")
def show() -> None:
    """列出数据库中各年度的节假日安排（放假日、调休上班日、来源）与覆盖范围。"""
    from onelicense.services import calendar
    from onelicense.store import calendar as rows
    from onelicense.store.tables.calendar import CalendarYear

    with database() as session:
        arrangements = rows.arrangements(session)
        table = Table(title="工作日历：节假日安排")
        for header in ("年度", "放假日", "调休上班日", "来源", "导入时间", "导入人"):
            table.add_column(header)
        for year, arrangement in arrangements.items():
            row = session.get(CalendarYear, year)
            assert row is not None
            table.add_row(
                str(year), str(len(arrangement.holidays)), str(len(arrangement.workdays)), escape(row.source),
                row.imported_at.strftime("%Y-%m-%d %H:%M"), escape(row.imported_by),
            )  # fmt: skip
        console.print(table)
        working = calendar.working_calendar(session)
    end = working.covered_until
    console.print(f"覆盖至：{end.isoformat() if end else '无'}")
    warning = calendar.coverage_warning(calendar=working)
    if warning:
        console.print(f"[yellow]{escape(warning)}[/yellow]", soft_wrap=True)


@app.command("import")
def import_command(
    file: Annotated[
        Path | None, typer.Argument(help="YAML 文件：holidays 与 makeup_workdays 两个日期列表（格式同 catalog/calendar.yaml）")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--from", help="从已安装的软件包读取：chinesecalendar", show_default=False)
    ] = None,
    years: Annotated[list[int] | None, typer.Option("--year", help="只导入这些年度（可多次给出）")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="确认写入（默认只显示差异）")] = False,
    token: TokenOption = None,
) -> None:
    """导入节假日安排：先显示与数据库的差异；加 --apply 写入，并按新安排重新计算受影响的未到期期限（写审计日志、通知当事人）。"""
    from onelicense.forms.errors import CatalogError
    from onelicense.review.calendar import parse_arrangements
    from onelicense.services import calendar

    if (file is None) == (source is None):
        fail("请给出一个 YAML 文件，或用 --from chinesecalendar（二者选一）")
    try:
        if file is not None:
            if not file.is_file():
                fail(f"文件不存在：{file}")
            incoming = parse_arrangements(yaml.safe_load(file.read_text(encoding="utf-8")), file.name)
            label = f"文件 {file.name}"
        else:
            incoming, label = _from_package(str(source), years or [])
    except CatalogError as exc:
        fail("节假日安排有误，未导入", [str(p) for p in exc.problems])
    if years:
        incoming = {y: a for y, a in incoming.items() if y in years}
        if missing := sorted(set(years) - set(incoming)):
            fail(f"来源中没有这些年度的节假日安排：{'、'.join(map(str, missing))}")
    if not incoming:
        fail("来源中没有任何年度的节假日安排")
    if not apply:
        with database() as session:
            changes = calendar.compare(session, incoming)
        for line in calendar.describe(changes):
            console.print(escape(line), soft_wrap=True)
        console.print("（仅显示差异；确认无误后加 --apply 写入）")
        return
    with as_user(token) as (session, actor):
        result = calendar.import_years(session, actor, incoming, source=label)
    for line in calendar.describe(result.changes):
        console.print(escape(line), soft_wrap=True)
    if not result.applied:
        console.print("数据库已是这些安排，未作改动")
        return
    console.print(f"已导入（来源：{escape(label)}）；按新安排重新计算的期限：{len(result.moved)} 项")
    for moved in result.moved:
        console.print(f"  {moved.kind} {moved.row_id} {moved.column}：{moved.before} → {moved.after}")


def _from_package(name: str, years: list[int]) -> tuple[dict[int, YearArrangement], str]:
    """The arrangements a package tracking the State Council's notices holds for `years` (default: next year)."""
    from datetime import date, timedelta

    from onelicense import clock
    from onelicense.review.calendar import parse_arrangements

    if name != "chinesecalendar":
        fail(f"不支持的来源：{name}（可用：chinesecalendar）")
    try:
        import chinese_calendar
        from chinese_calendar import constants
    except ImportError:
        fail("未安装 chinesecalendar：pip install chinesecalendar（或用 YAML 文件导入）")
    wanted = years or [clock.today().year + 1]
    days_off, worked = [], []
    for year in wanted:
        try:
            chinese_calendar.is_holiday(date(year, 1, 1))
        except NotImplementedError:
            fail(f"chinesecalendar {_version()} 还没有 {year} 年的节假日安排：请升级该软件包，或按国务院办公厅通知编写 YAML 文件导入")
        day = date(year, 1, 1)
        while day.year == year:
            if day in constants.holidays:
                days_off.append(day)
            if day in constants.workdays:
                worked.append(day)
            day += timedelta(days=1)
    return parse_arrangements({"holidays": days_off, "makeup_workdays": worked}, "chinesecalendar"), (
        f"chinesecalendar {_version()}"
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chinesecalendar")
    except PackageNotFoundError:
        return "?"
