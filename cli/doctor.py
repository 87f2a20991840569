"""`onelicense doctor`: the readiness checks of /readyz in the terminal (exit status 1 when one fails); with
`--production`, also the settings a production deployment must not run with (one line each)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
MARK = {"ok": "[green]通过[/green]", "warn": "[yellow]提醒[/yellow]", "fail": "[red]未通过[/red]"}


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出（与 /readyz 相同）")] = False,
    production: Annotated[
        bool, typer.Option("--production", help="同时检查生产环境不允许的设置（测试时钟、http 核验网址等）")
    ] = False,
) -> None:
    """检查本机是否可以提供服务：数据库、后台派发、Prefect、签名密钥、工作日历、磁盘空间。"""
    from onelicense.flows.runtime import configured_api_reachable
    from onelicense.services.queries import health

    problems = health.production_problems() if production else []
    result = health.readiness(configured_api_reachable)
    if as_json:
        answer = result.as_dict()
        if production:
            answer["production_problems"] = problems
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            console.print(f"[red]生产环境不安全：{escape(problem)}[/red]", soft_wrap=True)
        if production and not problems:
            console.print("[green]生产环境设置检查通过。[/green]")
        table = Table(title="运行检查（onelicense doctor）")
        for header in ("检查项", "结果", "说明", "详情"):
            table.add_column(header)
        for check in result.checks:
            table.add_row(check.name, MARK[check.status.value], escape(check.description), escape(check.detail))
        console.print(table)
        console.print("可以提供服务。" if result.ready else "[red]有检查未通过：暂不能提供服务。[/red]")
        if problems:
            console.print(f"[red]有 {len(problems)} 项设置不适合生产环境：请逐项改正后再上线。[/red]")
    if problems or not result.ready:
        raise typer.Exit(1)
