"""Users and API tokens: `create_user` hands out a random token once; only its sha256 is stored, and
`authenticate` turns a presented token back into the Actor every service function checks. `revoke_user` stops a
token for good (a leaked token, a reviewer who left): from then on it authenticates as nobody."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlmodel import Session, col, select

from onelicense.errors import Conflict, InvalidRequest, NotFound
from onelicense.forms.identifiers import mobile_problem, uscc_problem
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role, require_role
from onelicense.services import catalog as catalogs
from onelicense.store import audit, inputs
from onelicense.store.access import OVERSEERS
from onelicense.store.db import transaction
from onelicense.store.tables.types import utcnow
from onelicense.store.tables.user import User

TOKEN_PREFIX = "ol_"


def create_user(
    session: Session,
    name: str,
    role: Role | str,
    department_code: str | None = None,
    *,
    usccs: Sequence[str] = (),
    actor: Actor = SYSTEM_ACTOR,
    login: str | None = None,
    password_hash: str | None = None,
    phone: str | None = None,
    vouched: bool = True,
    phone_verified: bool = False,
) -> tuple[User, str]:
    """Create a user and return it with its API token (shown once: it cannot be recovered later).

    Reviewers need a department; other roles must not have one. An applicant declares the 统一社会信用代码 of the
    business(es) it acts for (at least one): it can submit only for those. An account an administrator creates is
    vouched for (its bindings verified: the administrator checked them); a self-registered one (`vouched` False)
    verifies them through services.bindings."""
    name = inputs.text(name, "用户名称", max_length=200)
    role = inputs.enum_value(Role, role, "角色")
    department = inputs.text(department_code, "部门代码", required=False, max_length=200) or None
    if role is Role.SYSTEM:
        raise InvalidRequest("不能创建系统角色的用户：系统角色只供流程内部使用")
    if role is Role.REVIEWER and department is None:
        raise InvalidRequest("审批人员必须属于一个部门")
    if role is not Role.REVIEWER and department is not None:
        raise InvalidRequest("只有审批人员可以指定部门")
    departments = catalogs.catalog().departments
    if department is not None and department not in departments:
        raise InvalidRequest(f"未知的部门：{department}（可选：{'、'.join(departments)}）")
    if phone is not None and (problem := mobile_problem(phone)):
        raise InvalidRequest(f"手机号码{problem}")
    # an account an administrator vouches for names its companies; one a person makes adds them later
    declared = _declared_usccs(role, usccs, required=vouched)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = User(
        name=name,
        role=role,
        department_code=department,
        token_hash=hash_token(token),
        usccs=declared,
        verified_usccs=list(declared) if vouched else [],
        phone_verified_at=utcnow() if phone_verified and phone else None,
        login=login,
        password_hash=password_hash,
        phone=phone,
    )
    with transaction(session):
        if login is not None and session.exec(select(User.id).where(User.login == login)).first() is not None:
            raise Conflict(f"登录名 {login} 已被其他账号使用")
        session.add(user)
        session.flush()
        audit.record(
            session,
            actor,
            "user.create",
            "user",
            user.id,
            None,
            audit.snapshot(user, "name", "role", "department_code", "usccs", "verified_usccs", "login"),
        )
    return user, token


def authenticate(session: Session, token: str | None) -> Actor | None:
    """The Actor a token belongs to, or None for a missing, unknown or revoked token."""
    if not token or not isinstance(token, str):
        return None
    user = session.exec(select(User).where(User.token_hash == hash_token(token))).first()
    if user is None or user.revoked_at is not None:
        return None
    return actor_of(user)


def actor_of(user: User) -> Actor:
    """The Actor a user acts as, whether it authenticated by token (API) or by a portal session."""
    usccs = frozenset(user.usccs) if user.role is Role.APPLICANT else None
    verified = frozenset(user.verified_usccs or ()) if user.role is Role.APPLICANT else None
    return Actor(
        user_id=user.id, role=user.role, department_code=user.department_code, usccs=usccs, verified_usccs=verified
    )


def revoke_user(session: Session, user_id: str, *, actor: Actor) -> User:
    """Revoke the user's token (admins and the system only), with an audit event `user.revoke`.

    Takes effect on the next request: every API call and CLI command authenticates afresh. Revoking a user
    already revoked changes nothing and records nothing. A revoked user cannot be restored: create a new user (and
    token) instead."""
    require_role(actor, OVERSEERS, "停用用户的访问令牌")
    user_id = inputs.text(user_id, "用户 ID", max_length=200)
    with transaction(session):
        user = session.exec(select(User).where(User.id == user_id).with_for_update()).first()
        if user is None:
            raise NotFound(f"用户 {user_id} 不存在")
        if user.revoked_at is not None:
            return user
        before = audit.snapshot(user, "revoked_at")
        user.revoked_at = utcnow()
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.revoke", "user", user.id, before, audit.snapshot(user, "revoked_at"))
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.created_at), col(User.id))))


def _declared_usccs(role: Role, usccs: Sequence[str], *, required: bool = True) -> list[str]:
    if role is not Role.APPLICANT:
        if usccs:
            raise InvalidRequest("只有申请人账号可以登记统一社会信用代码")
        return []
    declared = [str(u).strip().upper() for u in usccs]
    if not declared and required:
        raise InvalidRequest("申请人账号须登记其代表的经营主体的统一社会信用代码")
    for uscc in declared:
        if problem := uscc_problem(uscc):
            raise InvalidRequest(f"统一社会信用代码 {uscc} 无效：{problem}")
    return list(dict.fromkeys(declared))


def hash_token(token: str) -> str:
    # tokens (and portal session ids) are 256 random bits, so a plain sha256 is enough: no salt or slow hash
    # needed against guessing
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def set_phone(session: Session, actor: Actor, user_id: str, phone: str | None) -> User:
    """An administrator records (or clears, with None) the mobile number an account is notified at, having checked
    it: it counts as confirmed. Audited without the number."""
    require_role(actor, frozenset({Role.ADMIN, Role.SYSTEM}), "登记手机号码")
    if phone is not None and (problem := mobile_problem(phone)):
        raise InvalidRequest(f"手机号码{problem}")
    with transaction(session):
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("用户不存在")
        user.phone, user.phone_verified_at = phone, utcnow() if phone else None
        session.add(user)
        audit.record(session, actor, "user.set_phone", "user", user.id, None, {"phone_set": phone is not None})
    return user
