"""`onelicense obligations ...`: the commitments licenses carry after issuance (承诺事项) — the daily sweep by hand,
and the list a department or an admin works from. Acts through services.obligations like the API and the portal."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from onelicense.cli.common import as_user, database, fail

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("sweep")
def sweep(
    day: Annotated[
        str | None, typer.Option("--day", help="按哪一天巡检（YYYY-MM-DD，默认今天，北京时间）", show_default=False)
    ] = None,
) -> None:
    """每日巡检：承诺到期提醒、逾期、整改期满、许可延续提醒（可重复执行，不会重复通知）。"""
    from onelicense.review.roles import SYSTEM_ACTOR
    from onelicense.services import calendar, notifications, obligations

    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        fail(f"日期格式应为 YYYY-MM-DD：{day}")
    with database() as session:
        recounted = calendar.recompute_pending(session, SYSTEM_ACTOR)
        result = obligations.sweep(session, when)
        dispatched = 0
        while count := notifications.dispatch_pending(session):
            dispatched += count
    console.print(
        f"{result.day.isoformat()}：提醒 {result.reminders} 条，逾期 {result.overdue} 项，整改期满 {result.lapsed} 项，"
        f"延续提醒 {result.renewal_reminders} 条，失效通知 {result.expired} 条，待发送通知 {dispatched} 条"
        + (f"，按新节假日安排校正期限 {len(recounted)} 项" if recounted else "")
    )


@app.command("list")
def list_obligations(
    token: Annotated[str | None, typer.Option("--token", envvar="ONELICENSE_TOKEN", show_default=False)] = None,
    status: Annotated[str | None, typer.Option("--status", help="按状态筛选，如 overdue", show_default=False)] = None,
) -> None:
    """列出当前账号可见的承诺事项（部门只见本部门），按到期日排序。"""
    from onelicense.review.obligations import ObligationStatus
    from onelicense.services import obligations
    from onelicense.store import inputs

    with as_user(token) as (session, actor):
        wanted = inputs.enum_value(ObligationStatus, status, "状态") if status else None
        rows = obligations.list_obligations(session, actor, status=wanted)
        table = Table("编号", "许可编号", "类别", "到期日", "状态")
        for row in rows:
            table.add_row(row.id, row.permit_number, row.kind.label, row.due_on.isoformat(), row.status.label)
    console.print(table)
