"""Sign-in, registration and sign-out pages (登录、注册、退出)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from onelicense.errors import Conflict, NotFound, TooManyRequests, Unauthenticated
from onelicense.forms.errors import ValidationFailed
from onelicense.services import accounts
from onelicense.services.adapters import identity_provider
from onelicense.settings import get_settings
from onelicense.web.auth import SESSION_COOKIE
from onelicense.web.portal.common import (
    ROLE_HOME,
    CurrentViewer,
    DbSession,
    Viewer,
    check_csrf,
    redirect,
    render,
    safe_next,
    set_cookie,
)

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)


@router.get("/")
def home(request: Request, who: CurrentViewer) -> Response:
    if who.actor is None:
        return redirect("/login")
    return redirect(ROLE_HOME.get(who.actor.role, "/login"))


@router.get("/login")
def login_page(request: Request, who: CurrentViewer, next: str | None = None) -> Response:
    if who.actor is not None:
        return redirect(safe_next(next) or ROLE_HOME.get(who.actor.role, "/"))
    return render(request, who, "login.html.j2", next=safe_next(next) or "", error=None, login="", idp_label=_idp_label())


@router.post("/login", dependencies=[Csrf])
def login(
    request: Request,
    who: CurrentViewer,
    session: DbSession,
    login: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=600)] = "",
) -> Response:
    try:
        signed = accounts.sign_in(session, login, password, client=client_address(request))
    except (Unauthenticated, TooManyRequests) as exc:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else {}
        page = render(request, who, "login.html.j2", status_code=exc.http_status, next=safe_next(next) or "",
                      error=exc.message, login=login, idp_label=_idp_label())  # fmt: skip
        page.headers.update(headers)
        return page
    response = redirect(safe_next(next) or ROLE_HOME.get(signed.actor.role, "/"))
    # a new random id on every sign-in: a session id planted before sign-in is never the one signed in
    set_cookie(response, SESSION_COOKIE, signed.cookie, max_age=int(get_settings().session_hours * 3600))
    return response


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, session: DbSession) -> Response:
    accounts.sign_out(session, request.cookies.get(SESSION_COOKIE))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


OIDC_COOKIE = "ol_oidc"


def _idp_label() -> str | None:
    return get_settings().oidc_label if identity_provider.enabled() else None


def _callback_url() -> str:
    return get_settings().public_base_url.rstrip("/") + "/login/oidc/callback"


@router.get("/login/oidc")
def login_with_idp() -> Response:
    """To the identity provider (统一身份认证); the state, nonce and PKCE verifier wait in a 10-minute cookie."""
    if not identity_provider.enabled():
        raise NotFound("未配置统一身份认证")
    url, pending = identity_provider.begin(_callback_url())
    response = RedirectResponse(url, status_code=303)
    set_cookie(response, OIDC_COOKIE, pending.cookie(), max_age=600)
    return response


@router.get("/login/oidc/callback")
def idp_callback(request: Request, who: CurrentViewer, session: DbSession, code: str = "", state: str = "") -> Response:
    """Back from the identity provider: its code exchanged, its ID token checked, the person signed in."""
    if not identity_provider.enabled():
        raise NotFound("未配置统一身份认证")
    pending = identity_provider.Pending.from_cookie(request.cookies.get(OIDC_COOKIE))
    try:
        asserted = identity_provider.finish(pending, state=state[:200], code=code[:2000], redirect_uri=_callback_url())
        signed = accounts.sign_in_with_idp(session, asserted)
    except (Unauthenticated, ValidationFailed) as exc:
        page = render(request, who, "login.html.j2", status_code=401, next="", error=exc.message, login="",
                      idp_label=_idp_label())  # fmt: skip
        page.delete_cookie(OIDC_COOKIE, path="/")
        return page
    response = redirect("/portal/companies")
    response.delete_cookie(OIDC_COOKIE, path="/")
    set_cookie(response, SESSION_COOKIE, signed.cookie, max_age=int(get_settings().session_hours * 3600))
    return response


def client_address(request: Request) -> str:
    """The client's address as uvicorn reports it: the connection's, or X-Forwarded-For only from the proxies
    ONELICENSE_FORWARDED_ALLOW_IPS names (docs/security.md)."""
    return request.client.host if request.client else "unknown"


def _register_page(request: Request, who: Viewer, status_code: int = 200, **context: object) -> Response:
    context = {"errors": {}, "values": {}, "message": None, "sent": None, "code_minutes": int(get_settings().code_minutes), **context}
    return render(request, who, "register.html.j2", status_code=status_code, **context)


@router.get("/register")
def register_page(request: Request, who: CurrentViewer) -> Response:
    return _register_page(request, who)


@router.post("/register/code", dependencies=[Csrf])
def register_code(
    request: Request,
    who: CurrentViewer,
    session: DbSession,
    phone: Annotated[str, Form(max_length=50)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    uscc: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """Step one: a code to the mobile number (the answer is the same whether it has an account or not)."""
    values = {"name": name, "phone": phone, "uscc": uscc}
    try:
        accounts.limit_registration(session, client_address(request))
        sent = accounts.send_registration_code(session, phone)
    except (ValidationFailed, TooManyRequests) as exc:
        errors = {e["key"]: e["reason"] for e in exc.error_dicts()}
        return _register_page(request, who, exc.http_status, errors=errors, values=values, message=exc.message)
    return _register_page(request, who, values=values, sent=sent)


@router.post("/register", dependencies=[Csrf])
def register(
    request: Request,
    who: CurrentViewer,
    session: DbSession,
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=50)] = "",
    uscc: Annotated[str, Form(max_length=50)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {"name": name, "phone": phone, "uscc": uscc}
    try:
        accounts.limit_registration(session, client_address(request))
        accounts.register_applicant(session, name=name, phone=phone, uscc=uscc, password=password, code=code)
        signed = accounts.sign_in(session, phone, password, client=client_address(request))
    except (ValidationFailed, Conflict, TooManyRequests, Unauthenticated) as exc:
        errors = {e["key"]: e["reason"] for e in exc.error_dicts()}
        return _register_page(request, who, exc.http_status, errors=errors, values=values, message=exc.message)
    response = redirect("/portal/companies")
    set_cookie(response, SESSION_COOKIE, signed.cookie, max_age=int(get_settings().session_hours * 3600))
    return response


__all__ = ["Viewer", "router"]
