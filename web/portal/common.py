"""What every portal page shares: the signed-in user from the session cookie, CSRF tokens on every form, and
rendering a template from templates/portal/ with them.

CSRF: a signed-in browser's forms carry the token stored with its session; the anonymous forms (sign-in,
registration) use a double-submit cookie. htmx requests send the same token in the X-CSRF-Token header (set once
on <body hx-headers>). A state-changing request without the right token is refused with 403 before any work."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from onelicense.errors import Forbidden, InvalidRequest, OneLicenseError
from onelicense.review.roles import Actor, Role
from onelicense.review.sla import SlaLevel
from onelicense.services import accounts
from onelicense.services import catalog as catalogs
from onelicense.settings import get_settings
from onelicense.store.db import session_scope
from onelicense.store.tables.portal import WebSession
from onelicense.store.tables.user import User
from onelicense.templating import environment
from onelicense.web.auth import SESSION_COOKIE  # one name for the cookie: web.auth reads it before an upload's body

ANON_CSRF_COOKIE = "ol_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_REFUSED = "请求缺少有效的安全令牌（CSRF），请刷新页面后重试"
ROLE_HOME = {Role.APPLICANT: "/portal", Role.REVIEWER: "/desk", Role.SUPERVISOR: "/board", Role.ADMIN: "/board"}

# the CSS class of each colour (the dot and the tag beside a review)
LEVEL_CLASS = {SlaLevel.GREEN: "green", SlaLevel.YELLOW: "yellow", SlaLevel.RED: "red", SlaLevel.PAST_STATUTORY: "red"}
# a record id in a page URL (uuid4 hex): anything else is a 422 before the route runs
Id = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@dataclass
class Viewer:
    """Who is looking at a page: an Actor with its user row and session, or nobody."""

    actor: Actor | None
    user: User | None
    web_session: WebSession | None
    anon_csrf: str | None = None  # the double-submit token of an anonymous browser, new or from its cookie

    @property
    def csrf_token(self) -> str:
        if self.web_session is not None:
            return self.web_session.csrf_token
        return self.anon_csrf or ""


class SignInRequired(Exception):
    """Raised by `signed_in`: the portal answers with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def db_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]


def viewer(request: Request, session: DbSession) -> Viewer:
    found = accounts.session_actor(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        cookie = request.cookies.get(ANON_CSRF_COOKIE)
        token = cookie if cookie and 20 <= len(cookie) <= 100 else secrets.token_urlsafe(32)
        return Viewer(None, None, None, anon_csrf=token)
    actor, web_session, user = found
    return Viewer(actor, user, web_session)


CurrentViewer = Annotated[Viewer, Depends(viewer)]


def signed_in(request: Request, who: CurrentViewer) -> Viewer:
    if who.actor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return who


SignedInViewer = Annotated[Viewer, Depends(signed_in)]


async def check_csrf(request: Request, who: CurrentViewer) -> None:
    """Dependency of every state-changing portal route."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
    expected = who.csrf_token
    if who.web_session is None:  # anonymous: the token must also be the one in its cookie
        expected = request.cookies.get(ANON_CSRF_COOKIE) or ""
    if not presented or not expected or not hmac.compare_digest(presented, expected):
        raise Forbidden(CSRF_REFUSED)


def render(request: Request, who: Viewer, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render templates/portal/<name> with the viewer, its CSRF token and the catalog's names at hand."""
    template = environment(catalogs.templates_dir()).get_template(f"portal/{name}")
    html = template.render(
        request=request,
        viewer=who,
        actor=who.actor,
        csrf_token=who.csrf_token,
        csrf_field=CSRF_FIELD,
        department_name=catalogs.department_name,
        industry_name=catalogs.industry_name,
        provisional=catalogs.calendar().provisional,  # deadlines counted past the calendar's years say so
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
    if who.web_session is None and who.anon_csrf and request.cookies.get(ANON_CSRF_COOKIE) != who.anon_csrf:
        set_cookie(response, ANON_CSRF_COOKIE, who.anon_csrf, max_age=3600 * 4)
    return response


def set_cookie(response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=get_settings().secure_cookies, path="/"
    )


def redirect(url: str, request: Request | None = None) -> Response:
    """303 to `url`; for an htmx request an HX-Redirect header instead (htmx follows it as a full page load)."""
    if request is not None and request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: OneLicenseError) -> HTMLResponse:
    """A portal request that failed with one of our errors: the same status, the message in a page."""
    with session_scope() as session:
        who = viewer(request, session)
    if who.actor is None:
        who = Viewer(None, None, None)  # an error page has no form: no anonymous CSRF cookie is handed out
    return render(
        request, who, "error.html.j2", status_code=exc.http_status, title=exc.kind.title, message=exc.for_person
    )


def form_version(value: object) -> int | None:
    """The optimistic-lock version a form sent back (hidden `expected_version`), or None when it sent none."""
    text = str(value or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        raise InvalidRequest("版本号必须是整数")
    return int(text)


def safe_next(url: str | None) -> str | None:
    """A same-site path to return to after sign-in; anything else (another host, //evil) is dropped."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url or len(url) > 500:
        return None
    return url
