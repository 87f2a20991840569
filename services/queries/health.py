"""Is the system fit to serve (就绪检查)? The checks behind /readyz and `onelicense doctor`, read-only: the
database reachable and at the head migration, outbox work taken by a dispatcher, the signing key present and not
revoked, the working-day calendar covering the next 60 days, free space in the data folder; the Prefect API is
checked by the caller (it is the glue's), and passed in.

Each check says in Chinese what it checks and what it found; nothing personal is in them."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from onelicense.clock import utcnow
from onelicense.errors import OneLicenseError
from onelicense.licenses.keys import load_keyset
from onelicense.services import calendar
from onelicense.services.licenses import LicenseConfig
from onelicense.services.queries.metrics import outbox_backlog
from onelicense.settings import get_settings
from onelicense.store.db import read_scope, require_schema


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but someone should look (shown, not failing readiness)
    FAIL = "fail"  # not fit to serve: /readyz answers 503


@dataclass(frozen=True)
class Check:
    name: str  # machine key: database, prefect, outbox, signing_key, calendar, disk
    status: Level
    description: str  # what is checked
    detail: str  # what was found

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value}


@dataclass(frozen=True)
class Health:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(c.status is not Level.FAIL for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "checked_at": utcnow().isoformat(), "checks": [c.as_dict() for c in self.checks]}


def readiness(prefect_reachable: Callable[[], bool | None]) -> Health:
    """Every check, in the order an operator reads them. `prefect_reachable` answers None when no Prefect API is
    configured for this process."""
    database = _database()
    checks = [database]
    if database.status is Level.OK:  # the others read the database
        checks.append(_outbox())
    checks += [_prefect(prefect_reachable), _signing_key(), _calendar(), _disk()]
    return Health(tuple(checks))


def _database() -> Check:
    what = "数据库可连接，且结构为最新版本"
    try:
        require_schema()
    except OneLicenseError as exc:
        return Check("database", Level.FAIL, what, exc.message)
    return Check("database", Level.OK, what, "正常")


def _outbox() -> Check:
    what = "待办的后台工作（推送、汇总、出证、通知）有派发进程在处理"
    limit = get_settings().health_outbox_max_age_seconds
    with read_scope() as session:
        backlog = outbox_backlog(session)
    count = sum(n for n, _ in backlog.due.values())
    oldest = min((at for _, at in backlog.due.values()), default=None)
    dead = sum(backlog.dead.values())
    waited = int((backlog.now - oldest).total_seconds()) if oldest is not None else 0
    if waited > limit:
        found = f"{count} 项工作已到期未处理，最早的已等待 {waited} 秒（上限 {limit} 秒）：派发进程（onelicense serve 或 worker）可能未运行"
        return Check("outbox", Level.FAIL, what, found)
    if dead:
        return Check("outbox", Level.WARN, what, f"有 {dead} 条死信待管理员处理（/api/admin/dead-letters）")
    return Check("outbox", Level.OK, what, f"到期待办 {count} 项" if count else "无积压")


def _prefect(reachable: Callable[[], bool | None]) -> Check:
    what = "Prefect API 可连接（流程编排）"
    answer = reachable()
    if answer is None:
        return Check("prefect", Level.WARN, what, "本进程未配置 Prefect API（仅提供接口服务）")
    if not answer:
        return Check("prefect", Level.FAIL, what, "Prefect API 无响应：流程无法启动")
    return Check("prefect", Level.OK, what, "正常")


def _signing_key() -> Check:
    what = "许可证签名密钥存在且未被撤销"
    folder = LicenseConfig.from_settings().keys_dir
    if not folder.is_dir() or not any(folder.iterdir()):
        return Check("signing_key", Level.WARN, what, "尚未生成签名密钥（首次发证时自动生成）")
    try:
        keyset = load_keyset(folder, create=False)
    except OneLicenseError as exc:
        return Check("signing_key", Level.FAIL, what, f"无法读取密钥：{exc.message}")
    if keyset.active_kid is None or keyset.active_kid not in keyset.public_keys:
        return Check("signing_key", Level.FAIL, what, "没有在用的签名密钥")
    if keyset.active_kid in keyset.revoked:
        return Check("signing_key", Level.FAIL, what, f"在用的签名密钥 {keyset.active_kid} 已被撤销：请轮换密钥")
    try:
        keyset.signing_key()
    except OneLicenseError:
        return Check("signing_key", Level.WARN, what, f"只有公钥 {keyset.active_kid}：本进程只能核验，不能签发")
    return Check("signing_key", Level.OK, what, f"在用密钥 {keyset.active_kid}")


def _calendar() -> Check:
    what = "工作日历覆盖今后 60 天的节假日安排"
    warning = calendar.coverage_warning()
    return Check("calendar", Level.WARN if warning else Level.OK, what, warning or "正常")


def _disk() -> Check:
    what = "数据目录有足够的可用空间"
    settings = get_settings()
    folder = settings.data_dir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free_mb = shutil.disk_usage(folder).free // (1024 * 1024)
    if free_mb < settings.health_min_free_mb:
        found = f"可用空间 {free_mb} MB，低于 {settings.health_min_free_mb} MB"
        return Check("disk", Level.FAIL, what, found)
    return Check("disk", Level.OK, what, f"可用空间 {free_mb} MB")
