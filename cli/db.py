"""`onelicense db ...`: the database schema (Alembic migrations)."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, help="数据库结构")
console = Console()


@app.command("upgrade")
def upgrade() -> None:
    """把数据库结构升级到最新版本（幂等；serve、worker、demo 启动时也会执行）。"""
    from onelicense.cli.common import refusals
    from onelicense.store.db import database_url, migrate

    with refusals():
        migrate()
    console.print(f"数据库结构已是最新版本：{_safe(database_url())}")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
