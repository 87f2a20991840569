"""JSON error answers for the API: every typed error becomes the status and Chinese message that its kind says.

Every error body has the same shape, `ErrorBody` in web/api/schemas.py: `detail` (the message to show), and when
the problem is with named fields, `errors` (key, label, reason, message per field) and `findings` (预审 results).
The status of each kind of error is decided once, in `onelicense.errors.ErrorKind`; the portal and the CLI read
the same table. Call `install_error_handlers(app)` once from the app factory."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from onelicense.errors import ErrorKind, InvalidRequest, NotFound, NotReady, OneLicenseError, TooManyRequests

log = logging.getLogger("onelicense.web")

# where a request value came from, as the applicant reads it
_LOCATIONS = {"body": "请求体", "query": "查询参数", "path": "路径参数", "header": "请求头", "cookie": "Cookie"}


def error_body(
    detail: str, errors: Sequence[dict[str, Any]] = (), findings: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    return {"detail": detail, "errors": list(errors), "findings": list(findings)}


def json_error(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content=jsonable_encoder(error_body(detail, **extra)), headers=headers)


def error_response(exc: OneLicenseError, request: Request | None = None) -> JSONResponse:
    """The answer to one of our errors: its kind's status, its public message, its field errors and findings."""
    headers = None
    if isinstance(exc, NotReady):
        headers = {"Retry-After": "2", "Cache-Control": "no-store"}
    elif isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"}
    elif exc.kind is ErrorKind.UNAVAILABLE:
        # an outage: its cause (paths, file modes) is for the log, not for the caller
        where = f" on {request.method} {request.url.path}" if request is not None else ""
        log.error("unavailable%s: %s", where, exc.message)
        headers = {"Retry-After": "60", "Cache-Control": "no-store"}
    elif exc.kind is ErrorKind.BROKEN:
        log.error("broken data: %s", exc.message)
    message = exc.public_message if exc.kind is not ErrorKind.BROKEN else exc.kind.title
    return json_error(exc.http_status, message, headers=headers, errors=exc.error_dicts(), findings=exc.finding_dicts())


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers below on `app`."""
    app.add_exception_handler(OneLicenseError, _onelicense_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(SQLAlchemyTimeout, _overloaded)
    app.add_exception_handler(OperationalError, _overloaded)
    app.add_exception_handler(Exception, _unexpected)


PageErrors = Callable[[Request, OneLicenseError], Response | None]


def _as_page(request: Request, exc: OneLicenseError) -> Response | None:
    """A page route's error as a page (the portal registers `app.state.page_errors`), else None for JSON."""
    pages: PageErrors | None = getattr(request.app.state, "page_errors", None)
    return pages(request, exc) if pages is not None else None


async def _onelicense_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OneLicenseError)
    return _as_page(request, exc) or error_response(exc, request)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and (page := _as_page(request, NotFound(_HTTP_MESSAGES[404]))) is not None:
        return page
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # a body that is not what the route reads (not JSON, a broken form): the request content is wrong
        return json_error(422, "请求体无法解析：应为 JSON 对象（Content-Type: application/json）")
    if exc.status_code == 405:
        # the router names only the methods of one route; a path served by several routes allows them all
        allowed = sorted(_allowed_methods(request))
        return json_error(405, f"不支持该请求方法（可用：{'、'.join(allowed)}）", headers={"Allow": ", ".join(allowed)})
    detail = exc.detail if isinstance(exc.detail, str) else _HTTP_MESSAGES.get(exc.status_code, "请求无法处理")
    detail = _HTTP_MESSAGES.get(exc.status_code, detail) if detail in _STARLETTE_DEFAULTS else detail
    return JSONResponse(status_code=exc.status_code, content=error_body(detail), headers=getattr(exc, "headers", None))


def _allowed_methods(request: Request) -> set[str]:
    """The methods some route serves at this path. Each method is tried against the app's routes as the router
    would (a route knows its own methods only, and an included router none), so `Allow` lists them all."""
    allowed = set()
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        for route in request.app.routes:
            match, _ = route.matches(probe)
            if isinstance(route, Mount) and match is not Match.NONE:
                allowed |= {"GET"}  # the one mounted app serves files: GET (and HEAD), whatever it is asked
            elif match is Match.FULL:
                allowed.add(method)
    if "GET" in allowed:
        allowed.add("HEAD")  # web.middleware.Guard answers HEAD for every GET
    return allowed


async def _overloaded(request: Request, exc: Exception) -> JSONResponse:
    # no database connection free in time, or the database busy past its timeout: capacity, not a bug; nothing
    # was committed (the session rolled back), so the client may simply try again
    log.warning("overloaded on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return json_error(503, "服务繁忙，请稍后重试", headers={"Retry-After": "2"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # a bug, not bad input: logged with its traceback, answered without internals
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_error(500, ErrorKind.BROKEN.title)


async def _request_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors(), located=True)
    detail = "请求内容有误：" + "；".join(e["message"] for e in errors)
    return _as_page(request, InvalidRequest(detail)) or json_error(422, detail, errors=errors)


def field_errors(errors: Sequence[Any], *, located: bool = False) -> list[dict[str, str]]:
    """Pydantic errors as FieldError-shaped dicts with Chinese reasons; `key` is the dotted field path.

    `located`: the first part of each location says where the value came from (body, query, path...)."""
    return [_field_error(e, located) for e in errors]


def _field_error(error: Any, located: bool) -> dict[str, str]:
    loc = [str(part) for part in error.get("loc", ())]
    if error.get("type") == "json_invalid":
        loc = loc[:1]  # the second part is a character position, not a field
    where = ""
    if located and loc:
        where, loc = _LOCATIONS.get(loc[0], loc[0]), loc[1:]
    key = ".".join(loc) or "body"
    label = f"{where} {key}".strip() if loc or not where else where
    reason = _reason(error)
    return {"key": key, "label": label, "reason": reason, "message": f"{label}：{reason}"}


def _reason(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        # the parser's own text is English ("Expecting ',' delimiter"): only where it stopped is passed on
        position = next((part for part in error.get("loc", ())[1:] if isinstance(part, int)), None)
        return "不是有效的 JSON" + (f"（第 {position + 1} 个字符处格式错误）" if position is not None else "")
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == r"\S":
        return "不能为空"
    if kind in ("too_long", "too_short") and isinstance(error.get("input"), str):
        kind = f"string_{kind}"  # a length constraint after a validator is reported as a collection's
        ctx = {"max_length": ctx.get("max_length"), "min_length": ctx.get("min_length")}
    if kind in _CTX_REASONS:
        return _CTX_REASONS[kind].format(**ctx)
    if kind in _REASONS:
        return _REASONS[kind]
    if kind == "value_error":  # our own validators raise ValueError with a Chinese message
        return str(ctx.get("error", error.get("msg", "")))
    return f"格式不正确（{error.get('msg', kind)}）"


_REASONS = {
    "missing": "必填项未填写",
    "extra_forbidden": "未知字段",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "dict_type": "应为键值对象",
    "list_type": "应为列表",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "string_pattern_mismatch": "格式不正确",
    "finite_number": "应为有限的数字",
}

_CTX_REASONS = {
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "string_too_short": "过短（至少 {min_length} 个字符）",
    "too_long": "项数过多（最多 {max_length} 项）",
    "too_short": "项数过少（至少 {min_length} 项）",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "应小于 {lt}",
    "enum": "应为以下之一：{expected}",
    "literal_error": "应为以下之一：{expected}",
}

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # what a route of ours may serve; HEAD follows GET
_HTTP_MESSAGES = {
    400: "请求体无法解析",
    401: "未认证：请提供有效的访问令牌",
    403: "无权执行此操作",
    404: "请求的资源不存在",
    405: "不支持该请求方法",
    413: "请求内容过大",
    415: "不支持的内容类型",
}
_STARLETTE_DEFAULTS = {
    "Not Found",
    "Method Not Allowed",
    "Unauthorized",
    "Forbidden",
    "Not authenticated",
    "There was an error parsing the body",
}
