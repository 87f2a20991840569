"""Authentication: `Authorization: Bearer <token>` → the Actor every service function checks.

Tokens are created by `onelicense users create`; only their hash is stored (services/users.py). This module only
says *who* is calling; *what* they may do is decided server-side by the service functions."""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from onelicense.review.roles import Actor
from onelicense.services import accounts, users
from onelicense.store.db import read_scope, session_scope

# auto_error=False: a missing header gets our Chinese 401 rather than FastAPI's English 403
bearer_scheme = HTTPBearer(
    auto_error=False,
    # OpenAPI 3.1 allows only [a-zA-Z0-9._-] in a component's name: the Chinese name goes in the description
    scheme_name="bearerAuth",
    description="访问令牌：由 `onelicense users create` 创建，放在 `Authorization: Bearer <令牌>` 请求头中",
)

MISSING_TOKEN = "未认证：请在 Authorization 请求头中提供访问令牌（Bearer）"
UNKNOWN_TOKEN = "未认证：访问令牌无效或已被停用"


def actor_for_token(token: str | None) -> Actor | None:
    """The Actor a presented token belongs to, or None."""
    if not token:
        return None
    # one read, no transaction: on PostgreSQL no BEGIN and ROLLBACK around it (the route's own session does the work)
    with read_scope() as session:
        return users.authenticate(session, token)


def current_actor(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Actor:
    """FastAPI dependency: the authenticated caller, or 401."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized(MISSING_TOKEN)
    actor = actor_for_token(credentials.credentials)
    if actor is None:
        raise _unauthorized(UNKNOWN_TOKEN)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]

SESSION_COOKIE = "ol_session"  # the portal's session cookie (web.portal.common names the same)


def has_credentials(headers: Mapping[bytes, bytes]) -> bool:
    """Whether the raw request headers carry a live API token or portal session: asked before an upload's body is
    read, so an anonymous client cannot make the server take megabytes."""
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if authorization.lower().startswith("bearer "):
        return actor_for_token(authorization[7:].strip()) is not None
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get(b"cookie", b"").decode("latin-1"))
    except CookieError:
        return False
    morsel = cookies.get(SESSION_COOKIE)
    if morsel is None:
        return False
    with session_scope() as session:
        return accounts.session_actor(session, morsel.value) is not None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )
