"""The `onelicense` command: one sub-command group per module in this package."""

from __future__ import annotations

import os

import typer

from onelicense.cli import backup, calendar, catalog, db, doctor, licenses, obligations, queue, registry, run, users

app = typer.Typer(help="onelicense 一业一证", no_args_is_help=True, add_completion=False)


@app.callback()
def _private_files() -> None:
    """Everything this process and its children (Prefect's server) create is readable by its owner only: the
    databases hold ID numbers and phone numbers, the data folder holds the signing keys."""
    os.umask(0o077)
    _settings_or_exit()


def _settings_or_exit() -> None:
    """Refuse to start on settings that do not validate, with their messages and no traceback."""
    from pydantic import ValidationError

    from onelicense.settings import get_settings

    try:
        get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "设置"
            message = str(error["msg"]).removeprefix("Value error, ")
            typer.echo(f"设置有误（{where}）：{message}", err=True)
        raise typer.Exit(2) from None


app.add_typer(catalog.app, name="catalog", help="行业目录：统计与合并表单")
app.add_typer(calendar.app, name="calendar", help="工作日历：节假日安排的查看与导入")
app.add_typer(queue.app, name="queue", help="部门审批队列")
app.add_typer(licenses.app, name="license", help="综合许可证管理")
app.add_typer(obligations.app, name="obligations", help="承诺事项：每日巡检与清单")
app.add_typer(users.app, name="users", help="用户与访问令牌")
app.add_typer(registry.app, name="registry", help="本地市场主体登记（未配置 ONELICENSE_REGISTRY_URL 时）")
app.add_typer(db.app, name="db", help="数据库结构")
app.command("verify")(licenses.verify_command)
app.command("doctor")(doctor.doctor)
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)
run.register(app)  # top-level commands: demo, serve, worker
