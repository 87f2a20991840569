"""Is the system fit to serve (就绪检查)? The checks behind /readyz and `onelicense doctor`, read-only: the
database reachable and at the head migration, outbox work taken by a dispatcher, the signing key present and not
revoked, the working-day calendar covering the next 60 days, free space in the data folder; the Prefect API is
checked by the caller (it is the glue's), and passed in. `production_problems`: the settings (and file permissions)
a production deployment must not run with, for `onelicense doctor --production`.

Each check says in Chinese what it checks and what it found; nothing personal is in them."""

from __future__ import annotations

import ipaddress
import shutil
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from onelicense.clock import utcnow
from onelicense.errors import OneLicenseError
from onelicense.licenses.keys import load_keyset
from onelicense.services import calendar
from onelicense.services.licenses import LicenseConfig
from onelicense.services.queries.metrics import outbox_backlog
from onelicense.settings import Settings, get_settings
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


# settings whose embedded default is a local/test value that identifies no real authority (when this release has them)
_TEST_DEFAULTS = ("license_type_code", "license_issuer_uscc")


def production_problems() -> list[str]:
    """One Chinese line per setting a production deployment must not run with: a moved clock, a verification
    address that is not https or points at this machine, cookies without Secure, a notification channel or SMS
    codes without their gateway, mail in clear text, any proxy believed, test identifiers, keys or data readable by
    others. Empty when none."""
    settings = get_settings()
    problems = []
    if not settings.production:
        problems.append(
            "ONELICENSE_PRODUCTION 未设为 true：无短信平台时验证码会直接显示在页面上，演示企业会被导入本地登记表"
        )
    if settings.clock_shift:
        problems.append("ONELICENSE_CLOCK_SHIFT 已设置（测试时钟）：生产环境不得拨动时钟，请删除该设置")
    problems += _public_address(settings.public_base_url)
    if not settings.secure_cookies:
        problems.append("ONELICENSE_SECURE_COOKIES 未开启：登录 Cookie 可能经明文 http 传出，请在 https 之后设为 true")
    if settings.forwarded_allow_ips.strip() == "*":
        problems.append(
            "ONELICENSE_FORWARDED_ALLOW_IPS 为 *：任何人都可伪造客户端地址、绕过登录限流，请只列出反向代理的地址"
        )
    if not settings.notify_webhook_url:
        channel = (
            "，且已开启短信通知（ONELICENSE_NOTIFY_CHANNELS 含 webhook）"
            if "webhook" in settings.notify_channels
            else ""
        )
        problems.append(f"未配置短信平台（ONELICENSE_NOTIFY_WEBHOOK_URL）：无法发送短信验证码{channel}")
    if "email" in settings.notify_channels and not settings.smtp_host:
        problems.append(
            "已开启邮件通知（ONELICENSE_NOTIFY_CHANNELS 含 email），但未配置邮件服务器（ONELICENSE_SMTP_HOST）"
        )
    if settings.smtp_host and not settings.smtp_starttls:
        problems.append("ONELICENSE_SMTP_STARTTLS 已关闭：通知邮件（含姓名、事项）会以明文发送")
    if settings.oidc_issuer and not settings.oidc_client_secret:
        problems.append("已配置统一身份认证（ONELICENSE_OIDC_ISSUER），但未配置 ONELICENSE_OIDC_CLIENT_SECRET")
    defaults = Settings.model_fields
    for name in _TEST_DEFAULTS:
        if name in defaults and getattr(settings, name) == defaults[name].default:
            problems.append(f"ONELICENSE_{name.upper()} 仍是内置的测试值：请在首次发证前设为登记的正式值")
    problems += _readable_by_others(settings.data_dir)
    return problems


def _public_address(url: str) -> list[str]:
    where = f"ONELICENSE_PUBLIC_BASE_URL（{url}）"
    parts = urlsplit(url)
    problems = []
    if parts.scheme != "https":
        problems.append(f"{where}不是 https 地址：二维码中的核验网址必须用 https，防止被篡改或仿冒")
    host = (parts.hostname or "").lower()
    try:
        local = ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        local = host in ("", "localhost") or host.endswith(".localhost")
    if local:
        problems.append(f"{where}指向本机：扫码核验的公众无法打开，请设为对外公布的核验网站地址")
    return problems


def _readable_by_others(data_dir: Path) -> list[str]:
    """The data folder and the private keys: owner-only (the folder holds personal data, the keys sign licenses)."""
    keys = LicenseConfig.from_settings().keys_dir
    problems = []
    for path, wanted in [(data_dir, 0o700), (keys, 0o700), *((p, 0o600) for p in sorted(keys.glob("*.pem")))]:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            problems.append(f"{path} 的权限为 {mode:04o}：其他用户可读，应为 {wanted:04o}（chmod {wanted:o}）")
    return problems
