"""`onelicense users ...`: create API users (申请人, 部门审批人员, 管理员), list them, revoke their tokens.

A token is printed once at creation and cannot be recovered: only its hash is stored. Like `create`, `revoke` is
local administration: it needs access to the database (the data folder), not a token, so a leaked admin token can be
stopped even when it is the only one; the audit event names the operating-system user who ran it."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from onelicense.cli.common import database
from onelicense.errors import OneLicenseError
from onelicense.review.roles import Actor, Role

app = typer.Typer(no_args_is_help=True, help="用户与访问令牌")
console = Console()
errors = Console(stderr=True)

# SYSTEM is the flows' own identity: no person gets a token for it
ROLES = {"applicant": "申请人", "reviewer": "部门审批人员", "supervisor": "政务服务中心督办人员", "admin": "管理员"}


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", "-n", help="用户名称")],
    role: Annotated[str, typer.Option("--role", "-r", help=" | ".join(f"{k} {v}" for k, v in ROLES.items()))],
    department: Annotated[
        str | None, typer.Option("--department", "-d", help="部门代码（审批人员必填），见 onelicense catalog")
    ] = None,
    uscc: Annotated[
        list[str] | None,
        typer.Option("--uscc", "-u", help="申请人代表的经营主体的统一社会信用代码（申请人必填，可重复）"),
    ] = None,
    login: Annotated[
        str | None, typer.Option("--login", "-l", help="门户登录名（设置后询问密码，或从标准输入读取）")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="从标准输入读取门户密码（脚本用；不出现在命令行历史中）")
    ] = False,
    phone: Annotated[
        str | None,
        typer.Option("--phone", help="手机号码（管理员核实后登记，接收短信通知；申请人未登记时用申请表的联系电话）"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """创建用户并显示其访问令牌（只显示这一次）；带 --login 时同时设置门户登录密码。"""
    from onelicense.services.accounts import hash_password
    from onelicense.services.catalog import catalog
    from onelicense.services.users import create_user
    from onelicense.store.db import migrate

    if role not in ROLES:
        _fail(f"未知的角色：{role}（可选：{'、'.join(f'{k} {v}' for k, v in ROLES.items())}）")
    password_hash = None
    if login is not None:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("门户密码", hide_input=True, confirmation_prompt=True)
        try:
            password_hash = hash_password(password, login, name)
        except OneLicenseError as exc:
            _fail(exc.message)
    elif password_stdin:
        _fail("--password-stdin 须与 --login 一起使用")
    departments = catalog().departments
    migrate()  # local administration, often the first command on a new machine: it may set the database up
    with database() as session:
        user, token = create_user(
            session, name, role, department, usccs=uscc or (), login=login, password_hash=password_hash,
            phone=phone, phone_verified=phone is not None,  # an administrator checked it
        )  # fmt: skip
    if as_json:
        record = {"id": user.id, "name": user.name, "role": user.role.value, "department_code": user.department_code}
        typer.echo(json.dumps({**record, "token": token}, ensure_ascii=False))
        return
    where = f"（{departments[department].name}）" if department else ""
    console.print(f"已创建{ROLES[role]} [bold]{escape(user.name)}[/bold]{escape(where)}，用户 ID {user.id}")
    console.print("访问令牌（只显示这一次，请妥善保存）：")
    typer.echo(token)


@app.command("list")
def list_users(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False) -> None:
    """列出所有用户（不含令牌）。"""
    from onelicense.services.users import list_users as stored_users

    with database() as session:
        rows = [
            {
                "id": u.id,
                "name": u.name,
                "role": u.role.value,
                "department_code": u.department_code,
                "created_at": u.created_at.isoformat(),
                "revoked_at": u.revoked_at.isoformat() if u.revoked_at else None,
            }
            for u in stored_users(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"用户（{len(rows)} 个）")
    for header in ("用户 ID", "名称", "角色", "部门", "创建时间", "令牌停用时间"):
        table.add_column(header)
    for row in rows:
        role_label = ROLES.get(str(row["role"]), str(row["role"]))
        table.add_row(
            row["id"],
            escape(str(row["name"])),
            role_label,
            escape(row["department_code"] or ""),
            row["created_at"],
            row["revoked_at"] or "",
        )
    console.print(table)


@app.command("revoke")
def revoke(
    user_id: Annotated[str, typer.Argument(help="用户 ID（见 onelicense users list）")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """停用用户的访问令牌：立即生效，此后该令牌在 API 和命令行中均无效（不可恢复，需要时另建用户）。"""
    from onelicense.services.users import revoke_user

    with database() as session:
        user = revoke_user(session, user_id, actor=_operator())
        revoked_at = user.revoked_at.isoformat() if user.revoked_at else None
        name = user.name
    if as_json:
        typer.echo(json.dumps({"id": user_id, "name": name, "revoked_at": revoked_at}, ensure_ascii=False))
        return
    console.print(f"已停用用户 [bold]{escape(name)}[/bold]（{escape(user_id)}）的访问令牌，停用时间 {revoked_at}")


def _operator() -> Actor:
    return Actor(user_id=f"cli:{getpass.getuser()}", role=Role.ADMIN)


@app.command("set-password")
def set_password(
    user_id: Annotated[str, typer.Argument(help="用户 ID（见 onelicense users list）")],
    login: Annotated[str, typer.Option("--login", "-l", help="门户登录名")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取新密码")] = False,
) -> None:
    """设置或重置门户登录密码（管理员）：该账号的全部登录会话随即结束，登录限制解除。"""
    from onelicense.services.accounts import set_password as set_it

    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("新密码", hide_input=True, confirmation_prompt=True)
    )
    with database() as session:
        try:
            user = set_it(session, user_id, login, password, actor=_operator())
        except OneLicenseError as exc:
            _fail(exc.message)
        console.print(f"已设置 [bold]{escape(user.name)}[/bold] 的门户密码，其原有登录会话均已结束")


@app.command("set-phone")
def set_phone(
    user_id: Annotated[str, typer.Argument(help="用户 ID（见 onelicense users list）")],
    phone: Annotated[str | None, typer.Argument(help="手机号码；省略则清除")] = None,
) -> None:
    """登记（管理员核实后）或清除账号接收短信通知的手机号码。"""
    from onelicense.services.users import set_phone as set_it

    with database() as session:
        try:
            user = set_it(session, _operator(), user_id, phone)
        except OneLicenseError as exc:
            _fail(exc.message)
        console.print(f"已{'登记' if phone else '清除'} [bold]{escape(user.name)}[/bold] 的通知手机号码")


@app.command("unlock")
def unlock(login: Annotated[str, typer.Argument(help="门户登录名")]) -> None:
    """解除一个账号的登录等待（他人反复试错时，管理员为账号所有人解除）。"""
    from onelicense.services.accounts import unlock as unlock_it

    with database() as session:
        unlock_it(session, _operator(), login)
    console.print(f"已解除 {escape(login)} 的登录限制")


@app.command("vouch")
def vouch(
    user_id: Annotated[str, typer.Argument(help="申请人用户 ID")],
    uscc: Annotated[str, typer.Option("--uscc", "-u", help="经营主体的统一社会信用代码")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="核验依据（如：窗口核验营业执照原件及授权委托书）")],
) -> None:
    """管理员核验申请人账号代表某经营主体（窗口现场核验后），写入审计日志。"""
    from onelicense.services.bindings import vouch as vouch_it

    with database() as session:
        try:
            user = vouch_it(session, _operator(), user_id, uscc, reason=reason)
        except OneLicenseError as exc:
            _fail(exc.message)
        console.print(f"已核验：{escape(user.name)} 代表 {escape(uscc)}")


def _fail(message: str) -> NoReturn:
    errors.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(1)
