"""Portal sign-in (登录): passwords (argon2), applicant self-registration, server-side browser sessions and login
throttling. The bearer tokens of the API are services/users.py; this module turns a password into a session and a
session cookie back into the Actor every service function checks.

    send_registration_code  a code to the mobile number an applicant registers with (same answer for a number
                        that has an account: registration reveals no one's number)
    register_applicant  code, name, mobile, USCC, password → an applicant account (login = the mobile number,
                        confirmed); the USCC a claim to verify (services.bindings)
    set_password        an admin (or the CLI) sets or resets an account's login and password: its sessions end
    change_password     the user changes its own: its other sessions end
    sign_in             every attempt counted before the hash is checked (per account and address, per account,
                        per address), progressive delays instead of lockouts; argon2 in a bounded pool;
                        a fresh random session id every time (no session fixation)
    unlock              an admin lifts an account's delays
    session_actor       cookie value → (Actor, WebSession) while the session is neither expired nor revoked
    sign_out            revokes the session server-side

Passwords (ASVS 2.1): 12–128 characters, not common, leaked or guessable (zxcvbn score ≥ 3, the account's own
name and number counted as guessable)."""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import Engine, case, delete, literal, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from zxcvbn import zxcvbn

from onelicense.clock import utcnow
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound, NotReady, TooManyRequests, Unauthenticated
from onelicense.forms.errors import FieldError, ValidationFailed
from onelicense.forms.fieldtypes import invisible_characters
from onelicense.forms.identifiers import mobile_problem
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role, require_role
from onelicense.services import bindings, codes, users
from onelicense.services.adapters import identity_provider
from onelicense.settings import get_settings
from onelicense.store import audit, bulk, inputs, ratelimit
from onelicense.store.access import OVERSEERS
from onelicense.store.db import transaction
from onelicense.store.tables.portal import LoginThrottle, WebSession
from onelicense.store.tables.types import UTCDateTime
from onelicense.store.tables.user import User

WRONG_CREDENTIALS = "账号或密码错误"
_hasher = PasswordHash.recommended()  # argon2id with the library's current parameters


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: `cookie` goes to the browser (only its hash is stored), `csrf_token` into its forms."""

    cookie: str
    csrf_token: str
    actor: Actor
    user: User


MIN_PASSWORD = 12  # ASVS 2.1.1
MIN_STRENGTH = 3  # zxcvbn's score (0–4): 3 is "safely unguessable" against an online attack with throttling


def password_problem(password: str, *user_inputs: str | None) -> str | None:
    """What makes `password` unacceptable (ASVS 2.1): its length, or that it is common or guessable — a known
    leaked or frequent password, a keyboard walk, a date, or the account's own name or number — or None."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= 128:
        return f"密码长度应为 {MIN_PASSWORD}–128 位"
    inputs_ = [str(u) for u in user_inputs if u]
    if zxcvbn(password[:100], user_inputs=inputs_)["score"] < MIN_STRENGTH:
        return "密码过于简单或属于常见、已泄露的密码（也不能含账号、姓名或手机号码），请换一个更长、更不易猜到的密码"
    return None


def hash_password(password: str, *user_inputs: str | None) -> str:
    """The argon2 hash of an acceptable password; InvalidRequest names what is wrong with it."""
    if problem := password_problem(password, *user_inputs):
        raise InvalidRequest(f"密码：{problem}", errors=[{"key": "password", "label": "密码", "message": problem}])
    with hashing():
        return _hasher.hash(password)


REGISTER = "register"


def send_registration_code(session: Session, phone: str) -> codes.Sent:
    """Step one of registering: a code to the mobile number the account will sign in with (proving it is the
    registrant's). The answer is the same whether or not the number has an account — its owner alone learns
    that, by SMS — so registration reveals no one's number."""
    phone = str(phone or "").strip()
    if problem := mobile_problem(phone):
        raise ValidationFailed([FieldError("phone", "手机号码", problem)])
    if session.exec(select(User.id).where(User.login == phone)).first() is not None:
        return codes.send_code(
            session, purpose=REGISTER, subject=phone, phone=phone, user_id=None, send=False,
            text="该手机号码已注册一业一证账号，无需再次注册。如忘记密码，请到政务服务中心窗口重置。",
        )  # fmt: skip
    return codes.send_code(
        session, purpose=REGISTER, subject=phone, phone=phone, user_id=None,
        text=f"注册验证码 {{code}}，有效期 {int(get_settings().code_minutes)} 分钟。如非本人操作，请忽略。",
    )  # fmt: skip


NOTIFY_PHONE = "notify-phone"


def send_phone_code(session: Session, actor: Actor, phone: str) -> codes.Sent:
    """Step one of changing the mobile number an account is notified at: a code to the new number (a number is a
    recipient only once its owner has typed the code back)."""
    if actor.user_id is None or actor.role is Role.SYSTEM:
        raise InvalidRequest("无法为该账号设置手机号码")
    phone = str(phone or "").strip()
    if problem := mobile_problem(phone):
        raise ValidationFailed([FieldError("phone", "手机号码", problem)])
    return codes.send_code(
        session, purpose=NOTIFY_PHONE, subject=phone, phone=phone, user_id=actor.user_id,
        text=f"验证码 {{code}}，用于设置接收通知的手机号码，有效期 {int(get_settings().code_minutes)} 分钟。",
    )  # fmt: skip


def confirm_phone(session: Session, actor: Actor, phone: str, code: str) -> User:
    """Step two: with the code texted to `phone`, it becomes the account's confirmed number for notices."""
    phone = str(phone or "").strip()
    if problem := mobile_problem(phone):
        raise ValidationFailed([FieldError("phone", "手机号码", problem)])
    codes.require_code(session, purpose=NOTIFY_PHONE, subject=phone, user_id=actor.user_id, code=str(code or ""))
    with transaction(session):
        user = session.get(User, actor.user_id)
        if user is None:
            raise NotFound("用户不存在")
        user.phone, user.phone_verified_at = phone, utcnow()
        session.add(user)
        audit.record(session, actor, "user.confirm_phone", "user", user.id, None, {"phone_set": True})
    return user


def limit_registration(session: Session, client: str) -> None:
    """At most REGISTER_ADDRESS_LIMIT codes and registrations per client address and hour (each costs an SMS or
    a password hash): TooManyRequests beyond."""
    verdict = ratelimit.hit(ratelimit.engine_of(session), ratelimit.key_of("register-address", client),
                            limit=get_settings().register_address_limit, window=timedelta(hours=1))  # fmt: skip
    if not verdict.allowed:
        raise TooManyRequests(f"注册请求过于频繁，请 {_wait(verdict.retry_after)}后再试", retry_after=verdict.retry_after)


def register_applicant(session: Session, *, name: str, phone: str, uscc: str, password: str, code: str) -> User:
    """An applicant registers itself with the code texted to its mobile (its login). The USCC becomes a claim,
    unverified until services.bindings confirms it; the registry must know the company. Every problem is named
    at once (ValidationFailed); nothing is stored unless all are right."""
    problems = []
    name = str(name or "").strip()
    if not name or len(name) > 100 or invisible_characters(name):
        problems.append(FieldError("name", "姓名或名称", "应为 1–100 个可见字符"))
    phone = str(phone or "").strip()
    if problem := mobile_problem(phone):
        problems.append(FieldError("phone", "手机号码", problem))
    uscc = str(uscc or "").strip().upper()
    try:
        bindings.registered_company(session, uscc)
    except ValidationFailed as exc:
        problems.extend(FieldError(e["key"], e["label"], e["reason"]) for e in exc.error_dicts())
    if problem := password_problem(password, name, phone):
        problems.append(FieldError("password", "密码", problem))
    if problems:
        raise ValidationFailed(problems)
    if not codes.check_code(session, purpose=REGISTER, subject=phone, user_id=None, code=code):
        raise ValidationFailed([FieldError("code", "验证码", codes.WRONG_CODE)])
    try:
        user, _token = users.create_user(
            session, name, Role.APPLICANT, usccs=[uscc], login=phone, phone=phone, password_hash=hash_password(password),
            vouched=False, phone_verified=True,
        )  # fmt: skip
    except (Conflict, IntegrityError):
        session.rollback()  # registered meanwhile: its owner was told by SMS; nothing to tell here
        raise ValidationFailed([FieldError("code", "验证码", codes.WRONG_CODE)]) from None
    return user


def set_password(session: Session, user_id: str, login: str, password: str, *, actor: Actor) -> User:
    """Give an account a portal login and password, or reset a forgotten one (admins and the CLI): every session
    the account had is ended, its sign-in delays are lifted."""
    require_role(actor, OVERSEERS, "设置登录密码")
    login = inputs.text(login, "登录名", max_length=100)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在")
    password_hash = hash_password(password, login, user.name, user.phone)
    try:
        with transaction(session):
            user = session.get(User, user_id)
            assert user is not None
            user.login, user.password_hash, user.password_changed_at = login, password_hash, utcnow()
            session.add(user)
            session.flush()
            _end_sessions(session, user.id)
            audit.record(session, actor, "user.set_password", "user", user.id, None, {"login": login})
    except IntegrityError:
        raise Conflict(f"登录名 {login} 已被其他账号使用") from None
    unlock(session, actor, login)
    return user


def change_password(session: Session, actor: Actor, current: str, new: str, *, keep: str | None = None) -> User:
    """The signed-in user changes its own password (the current one checked like a sign-in): every other session
    of the account ends; `keep` is the cookie of the one it is using."""
    user = session.get(User, actor.user_id)
    if user is None or user.password_hash is None or user.login is None:
        raise Forbidden("该账号没有门户密码")
    _reserve_attempt(session, user.login, "change")
    with hashing():
        ok = _hasher.verify(str(current or ""), user.password_hash)
    if not ok:
        raise InvalidRequest("当前密码不正确", errors=[{"key": "current", "label": "当前密码", "message": "当前密码不正确"}])
    password_hash = hash_password(new, user.login, user.name, user.phone)
    with transaction(session):
        user.password_hash, user.password_changed_at = password_hash, utcnow()
        session.add(user)
        _end_sessions(session, user.id, keep=users.hash_token(keep) if keep else None)
        audit.record(session, actor, "user.change_password", "user", user.id)
    _forget_failures(session, user.login)
    return user


def unlock(session: Session, actor: Actor, login: str) -> None:
    """Lift the sign-in delays of an account (admins): for an owner whom strangers' guesses keep waiting."""
    require_role(actor, OVERSEERS, "解除登录限制")
    _forget_failures(session, str(login or "").strip()[:100])
    with transaction(session):
        audit.record(session, actor, "login.unlock", "login_throttle", _digest(login), None, None)


def sign_in(session: Session, login: str, password: str, *, client: str) -> SignedIn:
    """Check the password and open a new session. Refused alike for an unknown account and a wrong password.

    Every attempt is counted before the password is checked, atomically, so guesses sent in parallel cannot slip
    between the count and the check: per account and address pair (after LOGIN_MAX_FAILURES in a row each next
    attempt waits twice as long, up to LOGIN_LOCKOUT_MINUTES), per account from every address (four times as many
    before a delay, which stays short: strangers can slow an owner down, never lock it out), and per address
    (LOGIN_ADDRESS_LIMIT attempts in 15 minutes: a whole service hall behind one NAT signs in). A refused attempt
    is answered without hashing anything."""
    login = str(login or "").strip()[:100]
    _reserve_attempt(session, login, client)
    user = session.exec(select(User).where(User.login == login)).first() if login else None
    with hashing():
        ok = _hasher.verify(str(password or ""), user.password_hash if user and user.password_hash else _dummy_hash())
    if not ok or user is None or user.password_hash is None or user.revoked_at is not None:
        raise Unauthenticated(WRONG_CREDENTIALS)
    _forget_failures(session, login, client)
    return _open_session(session, user)


def _open_session(session: Session, user: User) -> SignedIn:
    """A fresh random session id every time (no session fixation); only its hash is stored."""
    now = utcnow()
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with transaction(session):
        session.add(
            WebSession(
                id_hash=users.hash_token(cookie),
                user_id=user.id,
                csrf_token=csrf,
                expires_at=now + timedelta(hours=get_settings().session_hours),
            )
        )
        audit.record(session, users.actor_of(user), "session.sign_in", "user", user.id)
    return SignedIn(cookie, csrf, users.actor_of(user), user)


def sign_in_with_idp(session: Session, asserted: identity_provider.Asserted) -> SignedIn:
    """A person the identity provider vouched for: its applicant account (made on first sign-in, linked by issuer
    and subject), the company the provider asserted it acts for verified (services.bindings), a new session."""
    settings = get_settings()
    subject = f"{asserted.issuer}|{asserted.subject}"[:300]
    claims = asserted.claims
    user = session.exec(select(User).where(User.oidc_subject == subject)).first()
    if user is None:
        name = str(claims.get("name") or "统一身份认证用户").strip()[:100]
        phone = str(claims.get("phone_number") or "").strip() or None
        if phone and mobile_problem(phone):
            phone = None
        user, _token = users.create_user(session, name, Role.APPLICANT, usccs=[], vouched=False,
                                         phone=phone, phone_verified=bool(phone and claims.get("phone_number_verified")))  # fmt: skip
        with transaction(session):
            user.oidc_subject = subject
            session.add(user)
            audit.record(session, users.actor_of(user), "user.link_idp", "user", user.id, None, {"issuer": asserted.issuer})
    if user.revoked_at is not None:
        raise Unauthenticated(WRONG_CREDENTIALS)
    uscc = str(claims.get(settings.oidc_uscc_claim) or "").strip().upper()
    if uscc:
        user = bindings.verify_by_idp(session, users.actor_of(user), uscc, asserted.issuer)
    return _open_session(session, user)


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


# ------------------------------------------------------------------------------------------------ the limits

_hash_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


class HashingBusy(NotReady):
    """Every password-hashing slot is busy: answered at once (503, retry shortly) instead of queueing argon2."""


@contextmanager
def hashing() -> Iterator[None]:
    """One of PASSWORD_HASH_SLOTS concurrent argon2 computations per process (each takes ~0.1–0.8 s of a core and
    64 MiB): past them, a fast 503 instead of a queue that anonymous clients could grow without bound."""
    global _hash_slots
    with _slots_lock:
        if _hash_slots is None:
            _hash_slots = threading.BoundedSemaphore(get_settings().password_hash_slots)
        slots = _hash_slots
    if not slots.acquire(timeout=get_settings().password_hash_wait_seconds):
        raise HashingBusy("系统繁忙，请稍后重试")
    try:
        yield
    finally:
        slots.release()


@functools.cache
def _dummy_hash() -> str:
    """Verified against for unknown accounts: the same cost, so timing reveals no account."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _digest(value: str) -> str:
    return hashlib.sha256(str(value).encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _keys(login: str, client: str) -> tuple[str, str]:
    account = f"login:{_digest(login)}"
    return account, f"pair:{_digest(login)}:{_digest(client)}"


def _reserve_attempt(session: Session, login: str, client: str) -> None:
    """Count one attempt before anything is checked; TooManyRequests (nothing hashed) when one must wait."""
    settings = get_settings()
    engine = ratelimit.engine_of(session)
    now = utcnow()
    verdict = ratelimit.hit(engine, ratelimit.key_of("login-address", client), limit=settings.login_address_limit,
                            window=timedelta(minutes=15), now=now)  # fmt: skip
    if not verdict.allowed:
        raise TooManyRequests(f"该网络地址登录尝试过多，请 {_wait(verdict.retry_after)}后再试", retry_after=verdict.retry_after)
    account, pair = _keys(login, client)
    free = settings.login_max_failures
    cap = timedelta(minutes=settings.login_lockout_minutes)
    for key, allowed_free, longest in ((pair, free, cap), (account, 4 * free, min(cap, timedelta(seconds=60)))):
        wait = _take(engine, key, allowed_free, longest, now)
        if wait:
            raise TooManyRequests(f"登录尝试过于频繁，请 {_wait(wait)}后再试", retry_after=wait)


def _take(engine: Engine, key: str, free: int, longest: timedelta, now: datetime) -> int:
    """Reserve one attempt of `key` (seconds to wait when it cannot be had now). The n-th failure in a row from
    `free` on sets the next allowed time 2^(n-free) seconds ahead (at most `longest`), in the same UPDATE that
    counts it, so concurrent attempts see it at once."""
    table = LoginThrottle
    with Session(engine) as session:
        bulk.insert_missing(session, table, [{"key": key, "failures": 0, "locked_until": None, "updated_at": now}])
        after = col(table.failures) + 1
        steps = []
        n, delay = free, timedelta(seconds=1)
        while delay < longest and n < free + 32:
            steps.append((after == n, literal(now + delay, UTCDateTime)))
            n, delay = n + 1, delay * 2
        next_allowed = case((after < free, literal(None, UTCDateTime)), *steps, else_=literal(now + longest, UTCDateTime))
        statement = (
            update(table)
            .where(col(table.key) == key, or_(col(table.locked_until).is_(None), col(table.locked_until) <= now))
            .values(failures=after, locked_until=next_allowed, updated_at=now)
            .returning(col(table.failures))
        )
        taken = session.execute(statement).first()
        if taken is not None and taken[0] == free:
            audit.record(session, SYSTEM_ACTOR, "login.throttle", "login_throttle", key[-40:], None,
                         {"kind": key.split(":", 1)[0]})  # fmt: skip
        session.commit()
        if taken is not None:
            return 0
        row = session.get(table, key)
        until = row.locked_until if row is not None else None
    return max(1, int((until - now).total_seconds()) + 1) if until else 1


def _forget_failures(session: Session, login: str, client: str | None = None) -> None:
    """A right password: the account's failures in a row end (the address's count does not)."""
    account, _ = _keys(login, "")
    with Session(ratelimit.engine_of(session)) as own:
        own.execute(delete(LoginThrottle).where(or_(
            col(LoginThrottle.key) == account, col(LoginThrottle.key).startswith(f"pair:{_digest(login)}:"))))  # fmt: skip
        own.commit()


def _end_sessions(session: Session, user_id: str, keep: str | None = None) -> None:
    statement = update(WebSession).where(col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None))
    if keep is not None:
        statement = statement.where(col(WebSession.id_hash) != keep)
    session.execute(statement.values(revoked_at=utcnow()))


def _wait(seconds: int) -> str:
    return f"{seconds} 秒" if seconds < 120 else f"{(seconds + 59) // 60} 分钟"
