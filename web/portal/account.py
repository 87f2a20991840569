"""The applicant's companies (我代表的经营主体) and everyone's own password: claim a USCC, have a code texted to the
registered legal representative, confirm it; change the password (other sessions end). Glue around
services.bindings and services.accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from onelicense.errors import Conflict, InvalidRequest, NotFound, OneLicenseError, TooManyRequests, Unavailable
from onelicense.forms.errors import ValidationFailed
from onelicense.review.roles import Role, require_role
from onelicense.services import accounts, bindings
from onelicense.services.codes import Sent, mask_phone
from onelicense.settings import get_settings
from onelicense.store.tables.user import User
from onelicense.web.auth import SESSION_COOKIE
from onelicense.web.portal.common import DbSession, SignedInViewer, Viewer, check_csrf, redirect, render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(check_csrf)]
Uscc = Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$")]
_REFUSALS = (ValidationFailed, Conflict, NotFound, InvalidRequest, TooManyRequests, Unavailable)


def _companies_page(
    request: Request, who: Viewer, session: DbSession, status_code: int = 200, **context: object
) -> Response:
    assert who.actor is not None
    require_role(who.actor, {Role.APPLICANT}, "核验经营主体")
    context = {"message": None, "notice": None, "sent": None, "sent_for": None, "errors": {}, "value": "", **context}
    return render(request, who, "applicant/companies.html.j2", status_code=status_code,
                  bindings=bindings.bindings(session, who.actor), code_minutes=int(get_settings().code_minutes),
                  **context)  # fmt: skip


@router.get("/portal/companies")
def companies(request: Request, who: SignedInViewer, session: DbSession) -> Response:
    return _companies_page(request, who, session)


@router.post("/portal/companies", dependencies=Csrf)
def add_company(
    request: Request, who: SignedInViewer, session: DbSession, uscc: Annotated[str, Form(max_length=50)] = ""
) -> Response:
    assert who.actor is not None
    try:
        company = bindings.claim(session, who.actor, uscc)
    except _REFUSALS as exc:
        errors = {e["key"]: e["reason"] for e in exc.error_dicts()}
        return _companies_page(request, who, session, exc.http_status, message=exc.message, errors=errors, value=uscc)
    return _companies_page(request, who, session, notice=f"已添加：{company.name}，请核验")


@router.post("/portal/companies/{uscc}/code", dependencies=Csrf)
def send_code(request: Request, who: SignedInViewer, session: DbSession, uscc: Uscc) -> Response:
    assert who.actor is not None
    try:
        sent: Sent = bindings.send_code(session, who.actor, uscc)
    except _REFUSALS as exc:
        return _companies_page(request, who, session, exc.http_status, message=exc.message)
    return _companies_page(request, who, session, sent=sent, sent_for=uscc)


@router.post("/portal/companies/{uscc}/confirm", dependencies=Csrf)
def confirm(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    uscc: Uscc,
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    assert who.actor is not None
    try:
        bindings.confirm(session, who.actor, uscc, code)
    except _REFUSALS as exc:
        return _companies_page(request, who, session, exc.http_status, message=exc.message, sent_for=uscc)
    return _companies_page(
        request, who, session, notice="核验成功：您现在可以代表该经营主体办理，符合条件的许可可以秒批"
    )


@router.get("/account/password")
def password_page(request: Request, who: SignedInViewer) -> Response:
    return render(request, who, "password.html.j2", message=None, notice=None, errors={})


@router.post("/account/password", dependencies=Csrf)
def change_password(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    current: Annotated[str, Form(max_length=200)] = "",
    new: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    assert who.actor is not None
    try:
        accounts.change_password(session, who.actor, current, new, keep=request.cookies.get(SESSION_COOKIE))
    except (InvalidRequest, TooManyRequests, Unavailable) as exc:
        errors = _field_errors(exc)
        return render(request, who, "password.html.j2", status_code=exc.http_status, message=exc.message,
                      notice=None, errors=errors)  # fmt: skip
    return render(request, who, "password.html.j2", message=None, errors={},
                  notice="密码已修改，其他设备上的登录已退出")  # fmt: skip


def _phone_page(
    request: Request, who: Viewer, session: DbSession, status_code: int = 200, **context: object
) -> Response:
    assert who.actor is not None
    user = session.get(User, who.actor.user_id) if who.actor.user_id else None
    current = mask_phone(user.phone) if user and user.phone and user.phone_verified_at else None
    context = {"message": None, "notice": None, "errors": {}, "sent": None, "phone": "", **context}
    return render(request, who, "phone.html.j2", status_code=status_code, current=current,
                  code_minutes=int(get_settings().code_minutes), **context)  # fmt: skip


@router.get("/account/phone")
def phone_page(request: Request, who: SignedInViewer, session: DbSession) -> Response:
    """The mobile number notices are texted to: set with a code sent to it."""
    return _phone_page(request, who, session)


@router.post("/account/phone/code", dependencies=Csrf)
def phone_code(
    request: Request, who: SignedInViewer, session: DbSession, phone: Annotated[str, Form(max_length=20)] = ""
) -> Response:
    assert who.actor is not None
    try:
        sent = accounts.send_phone_code(session, who.actor, phone)
    except _REFUSALS as exc:
        errors = _field_errors(exc)
        return _phone_page(request, who, session, status_code=exc.http_status, message=exc.message, errors=errors,
                           phone=phone)  # fmt: skip
    return _phone_page(request, who, session, sent=sent, phone=phone.strip())


@router.post("/account/phone", dependencies=Csrf)
def phone_confirm(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    phone: Annotated[str, Form(max_length=20)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    assert who.actor is not None
    try:
        accounts.confirm_phone(session, who.actor, phone, code)
    except _REFUSALS as exc:
        errors = _field_errors(exc)
        placeholder = Sent(mask_phone(phone.strip()), None)  # keep the code form on the page
        return _phone_page(request, who, session, status_code=exc.http_status, message=exc.message, errors=errors,
                           sent=placeholder, phone=phone.strip())  # fmt: skip
    return _phone_page(request, who, session, notice="手机号码已确认，此后的短信通知发往该号码")


def _field_errors(exc: OneLicenseError) -> dict[str, object]:
    """Each refused field's message by its key, for the page to show beside the field."""
    return {e["key"]: e.get("message") or e.get("reason") for e in exc.error_dicts()}


__all__ = ["redirect", "router"]
