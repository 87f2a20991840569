"""One-time codes sent by SMS (短信验证码): to confirm a mobile number before anything else is sent to it, and to
prove a binding to a company (the code goes to the legal representative's mobile on record in the registry).

Every text begins with the fixed "【一业一证】" and never with anything a user typed. Sending is limited per number
(ONELICENSE_SMS_INTERVAL_SECONDS apart, ONELICENSE_SMS_PER_NUMBER_PER_HOUR): nobody can make the authority's sender
flood a stranger. A code is kept as a hash only, lives ONELICENSE_CODE_MINUTES, is spent on its first correct use
and after ONELICENSE_CODE_MAX_ATTEMPTS wrong ones.

Without an SMS gateway (ONELICENSE_NOTIFY_WEBHOOK_URL) outside production the code is shown to whoever asked
(`Sent.shown_code`), so the embedded default works on one machine; production refuses to run codes without one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlmodel import Session, col, select

from onelicense.clock import utcnow
from onelicense.errors import InvalidRequest, TooManyRequests, Unavailable
from onelicense.settings import get_settings
from onelicense.store import ratelimit
from onelicense.store.db import transaction
from onelicense.store.tables.identity import OneTimeCode

PREFIX = "【一业一证】"
WRONG_CODE = "验证码错误或已过期，请重新获取"


@dataclass(frozen=True)
class Sent:
    masked_phone: str
    shown_code: str | None = None  # only without an SMS gateway, outside production


def mask_phone(phone: str) -> str:
    """138****1234."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def send_code(
    session: Session, *, purpose: str, subject: str, phone: str, user_id: str | None, text: str, send: bool = True
) -> Sent:
    """Make a code for (purpose, subject, user) and text it to `phone`; `text` holds "{code}" where it goes.
    `send=False` sends the text without a code (e.g. "this number is registered already"), rate-limited alike."""
    settings = get_settings()
    engine = ratelimit.engine_of(session)
    now = utcnow()
    for key, limit, window in (
        (ratelimit.key_of("sms-gap", phone), 1, timedelta(seconds=settings.sms_interval_seconds)),
        (ratelimit.key_of("sms-hour", phone), settings.sms_per_number_per_hour, timedelta(hours=1)),
    ):
        if window.total_seconds() <= 0:
            continue
        verdict = ratelimit.hit(engine, key, limit=limit, window=window, now=now)
        if not verdict.allowed:
            raise TooManyRequests(f"发送过于频繁，请 {verdict.retry_after} 秒后再试", retry_after=verdict.retry_after)
    code = f"{secrets.randbelow(1_000_000):06d}"
    if send:
        with transaction(session):
            # an earlier code for the same purpose is spent: only the newest one works
            session.execute(
                update(OneTimeCode)
                .where(
                    col(OneTimeCode.purpose) == purpose,
                    col(OneTimeCode.subject) == subject,
                    col(OneTimeCode.user_id) == user_id if user_id else col(OneTimeCode.user_id).is_(None),
                    col(OneTimeCode.used_at).is_(None),
                )
                .values(used_at=now)
            )
            row = OneTimeCode(purpose=purpose, subject=subject, user_id=user_id, code_hash="",
                              expires_at=now + timedelta(minutes=settings.code_minutes))  # fmt: skip
            row.code_hash = _hash(row.id, code)
            session.add(row)
    message = PREFIX + text.replace("{code}", code)
    shown = _deliver(phone, message, key=f"code:{purpose}:{now.timestamp()}")
    return Sent(mask_phone(phone), code if shown and send else None)


def check_code(session: Session, *, purpose: str, subject: str, user_id: str | None, code: str) -> bool:
    """Whether `code` is the live code for (purpose, subject, user); a right one is spent, a wrong one counted."""
    settings = get_settings()
    now = utcnow()
    code = str(code or "").strip()
    with transaction(session):
        owner = col(OneTimeCode.user_id) == user_id if user_id else col(OneTimeCode.user_id).is_(None)
        row = session.exec(
            select(OneTimeCode)
            .where(
                col(OneTimeCode.purpose) == purpose,
                col(OneTimeCode.subject) == subject,
                owner,
                col(OneTimeCode.used_at).is_(None),
                col(OneTimeCode.expires_at) > now,
            )
            .order_by(col(OneTimeCode.created_at).desc())
            .limit(1)
            .with_for_update()
        ).first()
        if row is None:
            return False
        row.attempts += 1
        right = len(code) == 6 and hmac.compare_digest(row.code_hash, _hash(row.id, code))
        if right or row.attempts >= settings.code_max_attempts:
            row.used_at = now
        session.add(row)
    return right


def require_code(session: Session, *, purpose: str, subject: str, user_id: str | None, code: str) -> None:
    if not check_code(session, purpose=purpose, subject=subject, user_id=user_id, code=code):
        raise InvalidRequest(WRONG_CODE, errors=[{"key": "code", "label": "验证码", "message": WRONG_CODE}])


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _deliver(phone: str, text: str, *, key: str) -> bool:
    """Send through the SMS gateway; True when there is none and the code may be shown instead (not production)."""
    settings = get_settings()
    if not settings.notify_webhook_url:
        if settings.production:
            raise Unavailable("短信网关未配置（ONELICENSE_NOTIFY_WEBHOOK_URL），暂不能发送验证码")
        return True
    try:
        response = httpx.post(
            settings.notify_webhook_url,
            json={"to": phone, "subject": "验证码", "text": text, "id": key},
            headers={"Idempotency-Key": key},
            timeout=settings.department_push_timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise Unavailable(f"短信发送失败（{type(exc).__name__}），请稍后再试") from exc
    if response.status_code >= 300:
        raise Unavailable(f"短信发送失败（HTTP {response.status_code}），请稍后再试")
    return False
