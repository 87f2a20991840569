"""`onelicense doctor`: the readiness checks of /readyz in the terminal (exit status 1 when one fails)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
MARK = {"ok": "[green]通过[/green]", "warn": "[yellow]提醒[/yellow]", "fail": "[red]未通过[/red]"}


def doctor(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出（与 /readyz 相同）")] = False) -> None:
    """检查本机是否可以提供服务：数据库、后台派发、Prefect、签名密钥、工作日历、磁盘空间。"""
    from onelicense.flows.runtime import configured_api_reachable
    from onelicense.services.queries import health

    result = health.readiness(configured_api_reachable)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        table = Table(title="运行检查（onelicense doctor）")
        for header in ("检查项", "结果", "说明", "详情"):
            table.add_column(header)
        for check in result.checks:
            table.add_row(check.name, MARK[check.status.value], escape(check.description), escape(check.detail))
        console.print(table)
        console.print("可以提供服务。" if result.ready else "[red]有检查未通过：暂不能提供服务。[/red]")
    if not result.ready:
        raise typer.Exit(1)
