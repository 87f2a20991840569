"""`onelicense license ...`: show a license, change its permits or the whole license, rotate the signing key;
plus `verify_command`, the top-level `onelicense verify`, which works offline with the public keys only.

The lifecycle commands (suspend, restore, withdraw, cancel, revoke, renew) act as the user of an API token (--token or
ONELICENSE_TOKEN, from `onelicense users create`), with the same checks as everywhere else (services/licenses.py): an
admin may change anything, a department reviewer only its own department's permits."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from onelicense.cli.common import as_user, database

if TYPE_CHECKING:
    from onelicense.licenses.keys import KeySet
    from onelicense.licenses.pdf_signature import DocumentSignature

app = typer.Typer(no_args_is_help=True)
console = Console()

ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="原因（写入审计日志）")]
TargetArgument = Annotated[str, typer.Argument(help="许可证编号（整证）或许可编号（分项许可，形如 <许可证编号>-01）")]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="ONELICENSE_TOKEN",
        help="访问令牌（或环境变量 ONELICENSE_TOKEN）：管理员可变更任何许可，部门审批人员只能变更本部门的分项许可",
        show_default=False,
    ),
]


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(1)


LicenseKeyArgument = Annotated[str, typer.Argument(help="许可证编号或证照标识（1.2.156.3005.2.…）")]


@app.command("show")
def show(key: LicenseKeyArgument) -> None:
    """显示许可证及各分项许可的实时状态。"""
    from onelicense.services import licenses
    from onelicense.store import license_queries

    with database() as session:
        now = license_queries.current_status(session, licenses.license_number_for(key))
        license_ = now.license
        console.print(
            f"[bold]{license_.number}[/bold]  {escape(license_.holder_name)}（{escape(license_.uscc)}）  "
            f"{escape(license_.industry_name)}"
        )
        console.print(f"证照标识：{licenses.identifier_of(license_)}", soft_wrap=True)
        console.print(f"综合状态：[bold]{now.composite.label}[/bold]    PDF：{license_.pdf_path}")
        table = Table()
        for header in ("许可编号", "许可事项", "发证部门", "有效期至", "状态", "原因"):
            table.add_column(header)
        for p in now.permits:
            valid = p.permit.valid_until.isoformat() if p.permit.valid_until else "长期"
            status = p.status.label + (f"（{p.effective.note}）" if p.effective.note else "")
            table.add_row(p.permit.number, escape(p.permit.permit_name), escape(p.permit.department_name), valid,
                          status, escape(p.permit.reason or ""))  # fmt: skip
        console.print(table)


def _change(target: str, operation_name: str, reason: str, token: str | None, valid_until: date | None = None) -> None:
    from onelicense.licenses.errors import InvalidLicenseNumber
    from onelicense.licenses.numbering import split_permit_number
    from onelicense.licenses.status import Operation
    from onelicense.services import licenses
    from onelicense.store import license_queries

    operation = Operation(operation_name)
    try:
        license_number, _ = split_permit_number(target)
        is_permit = True
    except InvalidLicenseNumber:
        license_number, is_permit = target, False
    if valid_until is not None and not is_permit:
        _fail("延续须指定分项许可编号")
    with as_user(token) as (session, actor):
        if is_permit:
            licenses.change_permit(session, actor, target, operation, reason=reason, valid_until=valid_until)
        else:
            licenses.change_license(session, actor, target, operation, reason=reason)
        now = license_queries.current_status(session, license_number)
    console.print(f"已{operation.label}：{escape(target)}；综合状态：[bold]{now.composite.label}[/bold]")


@app.command("suspend")
def suspend(target: TargetArgument, reason: ReasonOption, token: TokenOption = None) -> None:
    """暂扣分项许可或整个许可证。"""
    _change(target, "suspend", reason, token)


@app.command("restore")
def restore(target: TargetArgument, reason: ReasonOption, token: TokenOption = None) -> None:
    """发还（恢复）被暂扣的分项许可或许可证。"""
    _change(target, "restore", reason, token)


@app.command("withdraw")
def withdraw(target: TargetArgument, reason: ReasonOption, token: TokenOption = None) -> None:
    """撤销分项许可或许可证。"""
    _change(target, "withdraw", reason, token)


@app.command("cancel")
def cancel(target: TargetArgument, reason: ReasonOption, token: TokenOption = None) -> None:
    """注销分项许可或许可证。"""
    _change(target, "cancel", reason, token)


@app.command("revoke")
def revoke(target: TargetArgument, reason: ReasonOption, token: TokenOption = None) -> None:
    """吊销分项许可或许可证。"""
    _change(target, "revoke", reason, token)


@app.command("renew")
def renew(
    target: Annotated[str, typer.Argument(help="许可编号，形如 <许可证编号>-01")],
    until: Annotated[str, typer.Option("--until", help="新的有效期截止日，YYYY-MM-DD")],
    reason: ReasonOption = "延续",
    token: TokenOption = None,
) -> None:
    """延续分项许可的有效期。"""
    try:
        valid_until = date.fromisoformat(until)
    except ValueError:
        _fail(f"日期格式应为 YYYY-MM-DD：{until}")
    _change(target, "renew", reason, token, valid_until)


@app.command("pdf")
def pdf(key: LicenseKeyArgument) -> None:
    """输出许可证 PDF 的路径（文件缺失时重新生成）。"""
    from onelicense.services import licenses

    with database() as session:
        license_ = licenses.load_license(session, licenses.license_number_for(key))
        console.print(str(licenses.ensure_pdf(session, license_)))


keys_app = typer.Typer(no_args_is_help=True, help="签名密钥：查看公布的公钥、轮换、停用泄露的密钥")
app.add_typer(keys_app, name="keys")


@keys_app.command("show")
def keys_show(out: Annotated[Path | None, typer.Option(help="写入文件（JWKS），供离线核验使用")] = None) -> None:
    """输出公布的验签公钥（JWKS，含已停用的密钥及停用时间）。"""
    from onelicense.licenses.keys import load_keyset, write_jwks
    from onelicense.services.licenses import LicenseConfig

    keyset = load_keyset(LicenseConfig.from_settings().keys_dir)
    if out:
        write_jwks(keyset, out)
    else:
        print(json.dumps(keyset.to_jwks(), ensure_ascii=False, indent=2))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """生成新的签名密钥（核验码密钥，以及本地文档签名密钥和证书）；旧密钥保留，已发许可证仍可验证。"""
    from onelicense.services import licenses

    token_kid, document_kid = licenses.rotate_keys()
    console.print(f"新的签名密钥：{token_kid}")
    if document_kid:
        console.print(f"新的文档签名密钥：{document_kid}")
    else:
        console.print("PDF 文档签名使用配置的 CA 证书：其更换由 CA 签发新证书后修改配置完成")


@keys_app.command("root")
def keys_root(out: Annotated[Path | None, typer.Option(help="写入文件（PEM）")] = None) -> None:
    """输出 PDF 文档签名的本地签发根证书（PEM），供第三方用 pdfsig、OpenSSL、pyHanko 验证 PDF 签名时信任。"""
    from onelicense.licenses.document_keys import ROOT_CERTIFICATE
    from onelicense.services.licenses import LicenseConfig

    config = LicenseConfig.from_settings()
    config.signing_files()  # made on first need, like the first signing key
    root = config.document_keys_dir / ROOT_CERTIFICATE
    if not root.exists():
        _fail("PDF 文档签名使用配置的 CA 证书，没有本地签发根证书：请向该 CA 获取其根证书")
    pem = root.read_text(encoding="ascii")
    if out:
        out.write_text(pem, encoding="ascii")
    else:
        print(pem, end="")


@keys_app.command("revoke")
def keys_revoke(
    kid: Annotated[
        str, typer.Argument(help="泄露的密钥编号：核验码密钥（8位，见 license keys show）或文档签名密钥（16位）")
    ],
    reason: ReasonOption,
    token: TokenOption = None,
) -> None:
    """停用泄露的签名密钥（管理员，写入审计日志）：核验码密钥签发的核验码在线、离线均不再通过，文档签名密钥签名的 PDF
    核验不再通过；随后请运行 license resign。"""
    from onelicense.services import licenses

    with as_user(token) as (session, actor):
        replacement = licenses.revoke_signing_key(session, actor, kid, reason=reason)
    console.print(f"已停用签名密钥 {escape(kid)}")
    if replacement:
        console.print(f"新的签名密钥：{replacement}")
    console.print("下一步：onelicense license resign --token … 用当前密钥重新签发受影响的许可证并重新生成 PDF")


@app.command("resign")
def resign(token: TokenOption = None) -> None:
    """用当前签名密钥重新签发所有仍有效（有效、暂扣）但不是由当前密钥签发的许可证，并重新生成 PDF（管理员）。"""
    from onelicense.services import licenses

    with as_user(token) as (session, actor):
        numbers = licenses.resign_licenses(session, actor)
    console.print(f"已重新签发 {len(numbers)} 张许可证：{'、'.join(numbers) or '无'}")


NOT_OFFICIAL_EXIT = 2  # genuine signature, but the address around it is not the official verification site


def verify_command(
    target: Annotated[str, typer.Argument(help="核验网址、核验码、二维码图片（PNG/JPEG）或许可证 PDF")],
    keys: Annotated[
        Path | None, typer.Option(help="公钥文件（/.well-known/onelicense-keys.json 的内容）；默认读取本机密钥目录")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="官方核验网站地址（默认为设置 public_base_url / 环境变量 ONELICENSE_PUBLIC_BASE_URL）",
            show_default=False,
        ),
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="不联网获取官方公布的公钥，只用本地副本")] = False,
    trust_root: Annotated[
        Path | None,
        typer.Option(
            "--trust-root", help="PDF 文档签名另行信任的根证书（PEM）；默认信任本机的签发根证书和配置的根证书"
        ),
    ] = None,
) -> None:
    """离线核验许可证：验证签名并输出签名内容，无需服务器。

    能联网时先取官方网站公布的最新公钥（含已停用的密钥），取不到时用本地副本并说明其更新时间。
    PDF 还核验其文档签名（PAdES）：缺少签名、签名后被修改、签名密钥已停用、证书不受信任时均不通过，并说明原因。
    退出状态：0 签名有效；1 非真实有效或无法读取；2 签名有效但二维码中的网址不是官方核验网站。"""
    from onelicense.licenses.errors import KeyStoreError, LicenseError
    from onelicense.licenses.keys import KeySet, load_public_keyset
    from onelicense.licenses.qr import verify_url
    from onelicense.licenses.verify import is_official_url, is_url, token_from_text, verify_target
    from onelicense.services.licenses import LicenseConfig
    from onelicense.settings import get_settings

    official = (base_url or get_settings().public_base_url).rstrip("/")
    try:
        if keys is not None:
            local = KeySet.from_jwks(json.loads(keys.read_text(encoding="utf-8")))
        else:
            local = load_public_keyset(LicenseConfig.from_settings().keys_dir)
        keyset = _published_or_local(official, local, offline)
        document_signature = _check_pdf_signature(Path(target), trust_root)
        text, verified = verify_target(target, keyset)
    except (OSError, ValueError, KeyStoreError) as exc:  # unreadable file or key set: says nothing of the license
        _fail(f"无法读取：{exc}")
        return
    except LicenseError as exc:
        console.print("[bold red]非真实有效的许可证[/bold red]")
        _fail(str(exc))
        return
    foreign = is_url(text) and not is_official_url(text, official)
    content = verified.content
    if foreign:
        console.print("[bold red]警告：该网址不是官方核验网站（详见下方）[/bold red]")
    if document_signature is not None:
        console.print(
            f"[bold green]PDF 文档签名有效[/bold green]（PAdES，{escape(document_signature.signer)}，"
            f"密钥 {document_signature.kid}）：文件签名后未被修改，证书链可信。",
            soft_wrap=True,
        )
    console.print(f"[bold green]签名有效[/bold green]（密钥 {verified.kid}）：该许可证内容由发证机关签发，未被篡改。")
    console.print(f"核验网址：{escape(text)}" if is_url(text) else f"核验码长度：{len(text)} 位")
    table = Table(show_header=False)
    table.add_row("许可证编号", escape(content.number))
    table.add_row("经营者名称", escape(content.holder_name))
    table.add_row("统一社会信用代码", escape(content.uscc))
    table.add_row("行业编码", escape(content.industry_code))
    table.add_row("签发时间（UTC）", content.issued_at.isoformat())
    console.print(table)
    permits = Table("许可编号", "许可事项编码", "有效期至")
    for permit in content.permits:
        valid = permit.valid_until.isoformat() if permit.valid_until else "长期"
        permits.add_row(escape(permit.number), escape(permit.code), valid)
    console.print(permits)
    live = verify_url(official, token_from_text(text))
    if foreign:
        parts = urlsplit(text.strip())
        console.print(
            "[bold red]警告：该二维码中的网址不是官方核验网站！[/bold red]\n"
            f"[red]它指向 {escape(f'{parts.scheme}://{parts.netloc}')}，官方核验网站是 {escape(official)}。"
            "签名内容虽然真实，但可能被复制到仿冒网站或伪造的证照上：请勿打开该网址，也不要相信该网址显示的状态。[/red]\n"
            f"实时状态（暂扣、吊销等）请访问官方核验网址：{escape(live)}",
            soft_wrap=True,
        )
        raise typer.Exit(NOT_OFFICIAL_EXIT)
    if offline or not _print_live_status(live):
        console.print(
            f"离线核验只证明签名内容真实；暂扣、吊销等实时状态请访问官方核验网址：{escape(live)}", soft_wrap=True
        )


def _check_pdf_signature(path: Path, trust_root: Path | None) -> DocumentSignature | None:
    """The PDF's document signature checked against the trusted roots and the revoked document keys (None when the
    target is not a PDF file); DocumentSignatureError says which check failed."""
    import logging

    from onelicense.licenses.document_keys import load_certificates, revoked_document_keys
    from onelicense.licenses.pdf_signature import check_document_signature
    from onelicense.services.licenses import LicenseConfig

    if path.suffix.lower() != ".pdf" or not path.is_file():
        return None
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)  # its path-building tracebacks are not for the user
    config = LicenseConfig.from_settings()
    roots = config.trust_roots() + (load_certificates(trust_root) if trust_root else [])
    return check_document_signature(path.read_bytes(), roots, revoked_document_keys(config.document_keys_dir))


def _print_live_status(live: str) -> bool:
    """The live status from the official verification site (the same JSON its page shows); False when it cannot be
    had now (the caller then says where to look)."""
    import contextlib
    from datetime import datetime

    import httpx

    from onelicense.clock import CHINA_TIME

    try:
        response = httpx.get(live, headers={"Accept": "application/json"}, timeout=5)
        view = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        view = None
    if not isinstance(view, dict) or not isinstance(view.get("permits"), list):
        console.print("[yellow]暂时无法从官方核验网站取得实时状态。[/yellow]")
        return False
    checked_at = str(view.get("checked_at", ""))
    with contextlib.suppress(ValueError):  # ISO 8601 with its offset: shown as the page shows it
        checked_at = datetime.fromisoformat(checked_at).astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")
    console.print(
        f"官方核验网站的实时状态（{escape(checked_at)}，北京时间）：[bold]{escape(str(view['status']['label']))}[/bold]"
    )
    table = Table("许可编号", "许可事项", "有效期至", "状态")
    for permit in view["permits"]:
        status = str(permit["status"]["label"]) + (f"（{permit['status_note']}）" if permit.get("status_note") else "")
        table.add_row(escape(str(permit["number"])), escape(str(permit["name"])),
                      escape(str(permit.get("valid_until") or "长期")), escape(status))  # fmt: skip
    console.print(table)
    return True


def _published_or_local(official: str, local: KeySet, offline: bool) -> KeySet:
    """The key set the official site publishes now (revocations included), else the local copy, saying which and
    how old it is: a stale copy may not list a key revoked since."""
    import httpx

    from onelicense.licenses.errors import KeyStoreError
    from onelicense.licenses.keys import KeySet as PublishedKeySet

    if not offline:
        try:
            response = httpx.get(f"{official}/.well-known/onelicense-keys.json", timeout=3)
            response.raise_for_status()
            published = PublishedKeySet.from_jwks(response.json())
        except (httpx.HTTPError, ValueError, KeyStoreError):
            published = None
        if published is not None:
            newly_revoked = set(published.revoked) - set(local.revoked)
            older = bool(local.updated_at and published.updated_at and local.updated_at < published.updated_at)
            if newly_revoked or older:
                console.print(f"本地公钥副本已过期（更新于 {local.updated_at}），已改用官方最新公布的公钥")
            console.print(f"使用官方网站公布的公钥（更新于 {published.updated_at or '未知'}）")
            return published
        console.print("[yellow]无法获取官方网站公布的公钥，改用本地副本[/yellow]")
    console.print(
        f"使用本地公钥副本（更新于 {local.updated_at or '未知'}）：其后停用的密钥可能未列出，联网时请再次核验",
        soft_wrap=True,
    )
    return local
