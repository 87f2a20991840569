"""`onelicense backup <dir>` and `onelicense restore <dir>`: the database, the signing keys and the files of DATA_DIR
with a manifest of hashes (services.backups does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console()


def backup_command(
    folder: Annotated[Path, typer.Argument(help="备份目录（不存在或为空）")],
) -> None:
    """备份数据库、签名密钥、申请材料与许可证 PDF，并写入含 sha256 的清单（服务运行时也可执行）。"""
    from onelicense.cli.common import refusals
    from onelicense.services import backups

    with refusals():
        manifest = backups.backup(folder)
    size = sum(s for _, s in manifest.files.values())
    keys = sum(1 for p in manifest.files if p.startswith("keys/"))
    console.print(
        f"备份完成：{escape(str(folder))}（{backups.KIND_NAMES[manifest.database_kind]} 数据库，结构版本 "
        f"{manifest.schema_revision or '无'}；{len(manifest.files)} 个文件，共 {size / 1048576:.1f} MB；"
        f"{manifest.created_at}）",
        soft_wrap=True,
    )
    console.print(
        f"其中 keys/ 下的 {keys} 个文件是签名私钥：请加密后与数据库备份分开存放（见 docs/operations.md）。",
        soft_wrap=True,
    )


def restore_command(
    folder: Annotated[Path, typer.Argument(help="备份目录（含 manifest.json）")],
    check: Annotated[bool, typer.Option("--check", help="只核对备份是否完整无损，不恢复")] = False,
) -> None:
    """从备份恢复到空的数据目录与空数据库；先核对清单，备份不完整或已损坏时拒绝，不写入任何内容。请先停止服务。"""
    from onelicense.cli.common import refusals
    from onelicense.services import backups

    with refusals():
        manifest = backups.verify_backup(folder) if check else backups.restore(folder)
    what = "备份完整无损" if check else "恢复完成"
    console.print(
        f"{what}：{len(manifest.files)} 个文件与清单一致（备份于 {manifest.created_at}，数据库结构版本 "
        f"{manifest.schema_revision or '无'}）。",
        soft_wrap=True,
    )
    if not check:
        console.print(
            "下一步：onelicense db upgrade（备份来自旧版本时），然后 onelicense doctor 检查，再启动服务。",
            soft_wrap=True,
        )
