"""Portal sign-in (登录): passwords (argon2), applicant self-registration, server-side browser sessions and login
throttling. The bearer tokens of the API are services/users.py; this module turns a password into a session and a
session cookie back into the Actor every service function checks.

    register_applicant  name, mobile, USCC, password → an applicant account (login = the mobile number)
    set_password        an admin (or the CLI) sets a staff account's login and password
    sign_in             throttled per account and per client address (N failures → locked for M minutes, audited);
                        a fresh random session id every time (no session fixation)
    session_actor       cookie value → (Actor, WebSession) while the session is neither expired nor revoked
    sign_out            revokes the session server-side
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from forms.errors import FieldError, ValidationFailed
from forms.fieldtypes import invisible_characters
from forms.identifiers import mobile_problem, uscc_problem
from onelicense.clock import CHINA_TIME, utcnow
from onelicense.errors import Conflict, InvalidRequest, NotFound, Unauthenticated
from onelicense.settings import get_settings
from review.roles import SYSTEM_ACTOR, Actor, Role
from services import users
from store import audit, inputs
from store.access import OVERSEERS, require_role
from store.db import transaction
from store.tables.portal import LoginThrottle, WebSession
from store.tables.user import User

WRONG_CREDENTIALS = "账号或密码错误"
_hasher = PasswordHash.recommended()  # argon2id with the library's current parameters
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))  # verified against for unknown accounts: same cost, no oracle


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: `cookie` goes to the browser (only its hash is stored), `csrf_token` into its forms."""

    cookie: str
    csrf_token: str
    actor: Actor
    user: User


def password_problem(password: str) -> str | None:
    if not isinstance(password, str) or not 8 <= len(password) <= 128:
        return "密码长度应为 8–128 位"
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        return "密码须同时包含字母和数字"
    return None


def hash_password(password: str) -> str:
    """The argon2 hash of an acceptable password; InvalidRequest names what is wrong with it."""
    if problem := password_problem(password):
        raise InvalidRequest(f"密码：{problem}")
    return _hasher.hash(password)


def register_applicant(session: Session, *, name: str, phone: str, uscc: str, password: str) -> User:
    """An applicant registers itself: its mobile number is its login; the USCC is the business it acts for. Every
    problem is named at once (ValidationFailed); nothing is stored unless all are right."""
    problems = []
    name = str(name or "").strip()
    if not name or len(name) > 100 or invisible_characters(name):
        problems.append(FieldError("name", "姓名或名称", "应为 1–100 个可见字符"))
    phone = str(phone or "").strip()
    if problem := mobile_problem(phone):
        problems.append(FieldError("phone", "手机号码", problem))
    uscc = str(uscc or "").strip().upper()
    if problem := uscc_problem(uscc):
        problems.append(FieldError("uscc", "统一社会信用代码", problem))
    if problem := password_problem(password):
        problems.append(FieldError("password", "密码", problem))
    if problems:
        raise ValidationFailed(problems)
    try:
        user, _token = users.create_user(
            session, name, Role.APPLICANT, usccs=[uscc], login=phone, phone=phone, password_hash=_hasher.hash(password)
        )
    except (Conflict, IntegrityError):
        session.rollback()
        raise Conflict(
            "该手机号码已注册，请直接登录", errors=[FieldError("phone", "手机号码", "该手机号码已注册").as_dict()]
        ) from None
    return user


def set_password(session: Session, user_id: str, login: str, password: str, *, actor: Actor) -> User:
    """Give an account a portal login and password (admins and the CLI); a later call changes them."""
    require_role(actor, OVERSEERS, "设置登录密码")
    login = inputs.text(login, "登录名", max_length=100)
    if problem := password_problem(password):
        raise InvalidRequest(f"密码：{problem}")
    try:
        with transaction(session):
            user = session.get(User, user_id)
            if user is None:
                raise NotFound(f"用户 {user_id} 不存在")
            user.login, user.password_hash = login, _hasher.hash(password)
            session.add(user)
            session.flush()
            audit.record(session, actor, "user.set_password", "user", user.id, None, {"login": login})
    except IntegrityError:
        raise Conflict(f"登录名 {login} 已被其他账号使用") from None
    return user


def sign_in(session: Session, login: str, password: str, *, client: str) -> SignedIn:
    """Check the password and open a new session. Refused alike for an unknown account and a wrong password;
    refused without checking while the account or the client address is locked."""
    settings = get_settings()
    login = str(login or "").strip()[:100]
    keys = [f"login:{login}", f"ip:{client}"[:300]]
    now = utcnow()
    locked = [t for t in (session.get(LoginThrottle, k) for k in keys) if t and t.locked_until and t.locked_until > now]
    if locked:
        until = max(t.locked_until for t in locked if t.locked_until).astimezone(CHINA_TIME)
        session.rollback()
        raise Unauthenticated(f"登录失败次数过多，已暂时锁定，请于 {until:%H:%M} 后再试")
    user = session.exec(select(User).where(User.login == login)).first() if login else None
    ok = _hasher.verify(str(password or ""), user.password_hash if user and user.password_hash else _DUMMY_HASH)
    if not ok or user is None or user.password_hash is None or user.revoked_at is not None:
        _fail(session, keys, now, settings.login_max_failures, settings.login_lockout_minutes)
        raise Unauthenticated(WRONG_CREDENTIALS)
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with transaction(session):
        for key in keys:
            if (row := session.get(LoginThrottle, key)) is not None:
                session.delete(row)
        session.add(
            WebSession(
                id_hash=users.hash_token(cookie),
                user_id=user.id,
                csrf_token=csrf,
                expires_at=now + timedelta(hours=settings.session_hours),
            )
        )
        audit.record(session, users.actor_of(user), "session.sign_in", "user", user.id)
    return SignedIn(cookie, csrf, users.actor_of(user), user)


def session_actor(session: Session, cookie: str | None) -> tuple[Actor, WebSession, User] | None:
    """The signed-in Actor of a session cookie, or None when it is unknown, expired, signed out or its user
    revoked."""
    if not cookie or len(cookie) > 200:
        return None
    web_session = session.get(WebSession, users.hash_token(cookie))
    if web_session is None or web_session.revoked_at is not None or web_session.expires_at <= utcnow():
        return None
    user = session.get(User, web_session.user_id)
    if user is None or user.revoked_at is not None:
        return None
    return users.actor_of(user), web_session, user


def sign_out(session: Session, cookie: str | None) -> None:
    """Revoke the session behind the cookie (a later request with it is anonymous). Unknown cookies are ignored."""
    if not cookie or len(cookie) > 200:
        return
    with transaction(session):
        web_session = session.get(WebSession, users.hash_token(cookie))
        if web_session is None or web_session.revoked_at is not None:
            return
        web_session.revoked_at = utcnow()
        session.add(web_session)
        audit.record(session, SYSTEM_ACTOR, "session.sign_out", "user", web_session.user_id)


def _fail(session: Session, keys: list[str], now: datetime, max_failures: int, lockout_minutes: float) -> None:
    with transaction(session):
        for key in keys:
            row = session.get(LoginThrottle, key) or LoginThrottle(key=key)
            row.failures += 1
            row.updated_at = now
            if row.failures >= max_failures:
                row.failures = 0
                row.locked_until = now + timedelta(minutes=lockout_minutes)
                # the audit names the key kind, never the address or account typed
                audit.record(
                    session,
                    SYSTEM_ACTOR,
                    "login.lockout",
                    "login_throttle",
                    hashlib.sha256(key.encode()).hexdigest()[:32],
                    None,
                    {"kind": key.split(":", 1)[0], "locked_until": row.locked_until},
                )
            session.add(row)
