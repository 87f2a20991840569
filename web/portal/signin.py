"""Sign-in, registration and sign-out pages (登录、注册、退出)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from forms.errors import ValidationFailed
from onelicense.errors import Conflict, Unauthenticated
from onelicense.settings import get_settings
from services import accounts
from web.portal.common import (
    ROLE_HOME,
    SESSION_COOKIE,
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
    return render(request, who, "login.html.j2", next=safe_next(next) or "", error=None, login="")


@router.post("/login", dependencies=[Csrf])
def login(
    request: Request,
    who: CurrentViewer,
    session: DbSession,
    login: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=600)] = "",
) -> Response:
    client = request.client.host if request.client else "unknown"
    try:
        signed = accounts.sign_in(session, login, password, client=client)
    except Unauthenticated as exc:
        return render(
            request, who, "login.html.j2", status_code=401, next=safe_next(next) or "", error=exc.message, login=login
        )
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


@router.get("/register")
def register_page(request: Request, who: CurrentViewer) -> Response:
    return render(request, who, "register.html.j2", errors={}, values={}, message=None)


@router.post("/register", dependencies=[Csrf])
def register(
    request: Request,
    who: CurrentViewer,
    session: DbSession,
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=50)] = "",
    uscc: Annotated[str, Form(max_length=50)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {"name": name, "phone": phone, "uscc": uscc}
    try:
        accounts.register_applicant(session, name=name, phone=phone, uscc=uscc, password=password)
        signed = accounts.sign_in(session, phone, password, client=request.client.host if request.client else "-")
    except (ValidationFailed, Conflict) as exc:
        errors = {e["key"]: e["reason"] for e in exc.error_dicts()}
        return render(
            request,
            who,
            "register.html.j2",
            status_code=exc.http_status,
            errors=errors,
            values=values,
            message=exc.message,
        )
    response = redirect("/portal")
    set_cookie(response, SESSION_COOKIE, signed.cookie, max_age=int(get_settings().session_hours * 3600))
    return response


__all__ = ["Viewer", "router"]
