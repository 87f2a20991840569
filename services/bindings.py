"""Who may act for a company (主体身份核验): an applicant account claims the 统一社会信用代码 it acts for, and the
claim becomes a verified binding only on proof — never from what was typed.

    claim            add a USCC to the account's claims: the registry must know it and it must exist (存续)
    send_code        a code to the legal representative's mobile on record in the registry (not a number the
                     account gives): the representative proves it is them, or authorizes an agent (授权委托) by
                     passing the code on; the text names the registered company and the asking account's masked
                     number, nothing typed
    confirm          the code → the binding is verified (audited)
    vouch            an administrator verifies a binding it checked itself (at the counter, on paper), with a reason
    verify_by_idp    an identity provider asserted the USCC (统一身份认证 / 电子营业执照 login over OIDC)
    holder_facts     what a submission may rely on: verified or not, and the registered name and representative

Until verified an account may still apply, but its application takes no premises slot (an unverified application
never blocks a verified one), is never granted instantly (秒批), and carries the registry's name and legal
representative, not the form's."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.forms.errors import FieldError, ValidationFailed
from onelicense.forms.identifiers import uscc_problem
from onelicense.review.roles import Actor, Role, require_role
from onelicense.services import codes
from onelicense.services.adapters import registry
from onelicense.services.adapters.registry import Company
from onelicense.store import audit, inputs
from onelicense.store.db import transaction
from onelicense.store.tables.user import User

PURPOSE = "binding"
MAX_CLAIMS = 10


@dataclass(frozen=True)
class Binding:
    uscc: str
    verified: bool
    company: Company | None  # None: the registry does not know it (any more)


@dataclass(frozen=True)
class HolderFacts:
    """What a submission for `uscc` rests on: whether the submitting account's binding is verified, and the
    registered name and legal representative (None when the registry does not know the code)."""

    verified: bool
    name: str | None
    legal_representative: str | None


def is_verified(actor: Actor, uscc: str) -> bool:
    """Actors built in code (the system, tests) carry no claims: they are trusted; an account needs the binding."""
    return actor.verified_usccs is None or uscc in actor.verified_usccs


def bindings(session: Session, actor: Actor) -> list[Binding]:
    """The account's claims with their state and what the registry says of each."""
    user = _applicant(session, actor)
    return [Binding(u, u in (user.verified_usccs or []), registry.lookup(session, u)) for u in user.usccs or []]


def registered_company(session: Session, uscc: str) -> Company:
    """The registry's company for `uscc`; ValidationFailed naming the field when it is unknown or no longer exists."""
    uscc = str(uscc or "").strip().upper()
    if problem := uscc_problem(uscc):
        raise ValidationFailed([FieldError("uscc", "统一社会信用代码", problem)])
    company = registry.lookup(session, uscc)
    if company is None:
        raise ValidationFailed([FieldError("uscc", "统一社会信用代码", "市场主体登记中没有该统一社会信用代码")])
    if not company.active:
        raise ValidationFailed(
            [FieldError("uscc", "统一社会信用代码", f"该经营主体登记状态为“{company.status}”，不能办理")]
        )
    return company


def claim(session: Session, actor: Actor, uscc: str) -> Company:
    """Add `uscc` to the account's claims (unverified until `confirm`)."""
    user = _applicant(session, actor)
    company = registered_company(session, uscc)
    with transaction(session):
        user = _locked(session, user.id)
        if company.uscc not in (user.usccs or []):
            if len(user.usccs or []) >= MAX_CLAIMS:
                raise Conflict(f"一个账号最多代表 {MAX_CLAIMS} 个经营主体")
            user.usccs = [*(user.usccs or []), company.uscc]
            session.add(user)
            audit.record(session, actor, "binding.claim", "user", user.id, None, {"uscc": company.uscc})
    return company


def send_code(session: Session, actor: Actor, uscc: str) -> codes.Sent:
    """Text a code to the registered legal representative's mobile for the account's claim on `uscc`."""
    user = _applicant(session, actor)
    uscc = str(uscc or "").strip().upper()
    if uscc not in (user.usccs or []):
        raise NotFound("当前账号未申请代表该经营主体")
    if uscc in (user.verified_usccs or []):
        raise Conflict("该经营主体已核验，无需再次核验")
    company = registered_company(session, uscc)
    if not company.legal_rep_phone:
        raise Conflict("市场主体登记中没有法定代表人的手机号码：请携营业执照到政务服务中心窗口核验")
    asking = codes.mask_phone(user.phone) if user.phone else "未留手机号码"
    text = (
        f"{company.name}：账号（{asking}）申请代表贵单位办理许可事项，授权码 {{code}}，"
        f"有效期 {_minutes()} 分钟。如非贵单位授权，请勿告知他人。"
    )
    return codes.send_code(session, purpose=PURPOSE, subject=uscc, phone=company.legal_rep_phone, user_id=user.id,
                           text=text)  # fmt: skip


def confirm(session: Session, actor: Actor, uscc: str, code: str) -> User:
    """The code the legal representative received (or gave its agent): the binding is verified."""
    user = _applicant(session, actor)
    uscc = str(uscc or "").strip().upper()
    if uscc not in (user.usccs or []):
        raise NotFound("当前账号未申请代表该经营主体")
    codes.require_code(session, purpose=PURPOSE, subject=uscc, user_id=user.id, code=code)
    return _verify(session, actor, user.id, uscc, "legal_rep_sms")


def vouch(session: Session, actor: Actor, user_id: str, uscc: str, *, reason: str) -> User:
    """An administrator verifies a binding it checked itself (营业执照 and 授权委托书 at the counter)."""
    require_role(actor, {Role.ADMIN}, "核验经营主体")
    text = inputs.text(reason, "核验依据", max_length=500)
    company = registered_company(session, uscc)
    user = session.get(User, user_id)
    if user is None or user.role is not Role.APPLICANT:
        raise NotFound(f"申请人账号 {user_id} 不存在")
    with transaction(session):
        locked = _locked(session, user.id)
        if company.uscc not in (locked.usccs or []):
            locked.usccs = [*(locked.usccs or []), company.uscc]
            session.add(locked)
    return _verify(session, actor, user.id, company.uscc, f"admin: {text}")


def verify_by_idp(session: Session, actor: Actor, uscc: str, issuer: str) -> User:
    """The identity provider `issuer` asserted that the signed-in person acts for `uscc` (its ID token)."""
    user = _applicant(session, actor)
    company = registered_company(session, uscc)
    with transaction(session):
        locked = _locked(session, user.id)
        if company.uscc not in (locked.usccs or []):
            locked.usccs = [*(locked.usccs or []), company.uscc]
            session.add(locked)
    return _verify(session, actor, user.id, company.uscc, f"oidc: {issuer}")


def holder_facts(session: Session, actor: Actor, uscc: str) -> HolderFacts:
    """What an application for `uscc` by `actor` may rely on. An unverified claim needs the registry to know the
    company (its name and representative replace what was typed); a verified one uses them when the registry
    knows it."""
    verified = is_verified(actor, uscc)
    company = registry.lookup(session, uscc)
    if company is None:
        if not verified:
            raise ValidationFailed([FieldError("uscc", "统一社会信用代码", "市场主体登记中没有该统一社会信用代码")])
        return HolderFacts(True, None, None)
    if not company.active:
        raise ValidationFailed(
            [FieldError("uscc", "统一社会信用代码", f"该经营主体登记状态为“{company.status}”，不能办理")]
        )
    return HolderFacts(verified, company.name, company.legal_representative)


def _verify(session: Session, actor: Actor, user_id: str, uscc: str, method: str) -> User:
    with transaction(session):
        user = _locked(session, user_id)
        if uscc not in (user.verified_usccs or []):
            user.verified_usccs = [*(user.verified_usccs or []), uscc]
            session.add(user)
            audit.record(session, actor, "binding.verify", "user", user.id, None, {"uscc": uscc, "method": method})
    return user


def _applicant(session: Session, actor: Actor) -> User:
    if actor.role is not Role.APPLICANT:
        raise Forbidden("只有申请人账号可以代表经营主体")
    user = session.get(User, actor.user_id)
    if user is None:
        raise InvalidRequest("当前账号不存在")
    return user


def _locked(session: Session, user_id: str) -> User:
    from sqlmodel import select

    user = session.exec(select(User).where(User.id == user_id).with_for_update()).one()
    return user


def _minutes() -> int:
    from onelicense.settings import get_settings

    return int(get_settings().code_minutes)
