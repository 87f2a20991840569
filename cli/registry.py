"""`onelicense registry ...`: the local stand-in of the business registry (市场主体登记) that the embedded default
reads when ONELICENSE_REGISTRY_URL is not set: load companies from a YAML file, look one up."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.markup import escape

from onelicense.cli.common import database, fail
from onelicense.errors import OneLicenseError

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="YAML：companies 列表，每项 uscc、name、legal_representative、legal_rep_phone、status")],
) -> None:
    """把企业登记信息载入本地市场主体登记（管理员；全部有效才载入）。"""
    from onelicense.review.roles import Actor, Role
    from onelicense.services.adapters import registry

    if not file.is_file():
        fail(f"文件不存在：{file}")
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    entries = data.get("companies") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        fail("文件应包含 companies 列表")
    with database() as session:
        try:
            count = registry.import_entries(session, Actor(f"cli:{getpass.getuser()}", Role.ADMIN), entries)
        except OneLicenseError as exc:  # nothing was stored
            fail(exc.message)
    console.print(f"已载入 {count} 家经营主体")


@app.command("show")
def show(uscc: Annotated[str, typer.Argument(help="统一社会信用代码")]) -> None:
    """查询一个统一社会信用代码在市场主体登记中的信息。"""
    from onelicense.services.adapters import registry

    with database() as session:
        company = registry.lookup(session, uscc)
    if company is None:
        fail(f"市场主体登记中没有 {uscc}")
    phone = f"{company.legal_rep_phone[:3]}****{company.legal_rep_phone[-4:]}" if company.legal_rep_phone else "无"
    console.print(f"{escape(company.name)}（{company.uscc}），法定代表人 {escape(company.legal_representative)}，"
                  f"手机 {phone}，登记状态 {escape(company.status)}")  # fmt: skip
