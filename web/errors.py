"""JSON error answers for the API: every typed error of the domain becomes a 4xx with a Chinese message.

Every error body has the same shape, `ErrorBody` in web/api/schemas.py: `detail` (the message to show), and when
the problem is with named fields, `errors` (key, label, reason, message per field) and `findings` (预审 results).
Call `install_error_handlers(app)` once from the app factory."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from forms.errors import UnknownIndustry, ValidationFailed
from licenses.errors import KeyStoreError, LicenseError
from licenses.errors import TransitionNotAllowed as LicenseTransitionNotAllowed
from review.transitions import TransitionNotAllowed
from store.errors import StoreError

log = logging.getLogger("onelicense.web")

KEYS_UNAVAILABLE = "核验服务暂时不可用，请稍后再试或向发证机关核实"

# where a request value came from, as the applicant reads it
_LOCATIONS = {"body": "请求体", "query": "查询参数", "path": "路径参数", "header": "请求头", "cookie": "Cookie"}


class SubmissionRefused(Exception):
    """The application flow refused a submission (校验未通过或预审阻断): nothing was stored."""

    def __init__(self, errors: Sequence[dict[str, Any]], findings: Sequence[dict[str, Any]]) -> None:
        self.errors = list(errors)
        self.findings = list(findings)
        if self.errors:
            message = "申请未通过校验：" + "；".join(str(e.get("message") or e.get("reason")) for e in self.errors)
        else:
            message = "申请未通过预审：" + "；".join(str(f.get("message")) for f in self.findings)
        super().__init__(message)
        self.message = message


def error_body(
    detail: str, errors: Sequence[dict[str, Any]] = (), findings: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    return {"detail": detail, "errors": list(errors), "findings": list(findings)}


def json_error(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content=jsonable_encoder(error_body(detail, **extra)))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers below on `app`."""
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(TransitionNotAllowed, _transition_not_allowed)
    app.add_exception_handler(LicenseTransitionNotAllowed, _transition_not_allowed)
    app.add_exception_handler(LicenseError, _license_error)
    app.add_exception_handler(KeyStoreError, _key_store_error)
    app.add_exception_handler(ValidationFailed, _validation_failed)
    app.add_exception_handler(SubmissionRefused, _submission_refused)
    app.add_exception_handler(UnknownIndustry, _unknown_industry)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)


async def _store_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoreError)
    return json_error(exc.http_status, exc.message)


async def _transition_not_allowed(_: Request, exc: Exception) -> JSONResponse:
    # the state moved on (already decided, already amended...): the request conflicts with it
    return json_error(409, f"操作与当前状态冲突：{exc}，请刷新后重试")


async def _license_error(_: Request, exc: Exception) -> JSONResponse:
    return json_error(422, str(exc))


async def _key_store_error(request: Request, exc: Exception) -> JSONResponse:
    # the signing/verification keys are missing or unreadable: an outage, and its cause (paths, file modes) is
    # for the log, not for the caller
    log.error("key store unavailable on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        status_code=503,
        content=error_body(KEYS_UNAVAILABLE),
        headers={"Retry-After": "60", "Cache-Control": "no-store"},
    )


async def _validation_failed(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationFailed)
    return json_error(422, str(exc), errors=[e.as_dict() for e in exc.errors])


async def _submission_refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SubmissionRefused)
    return json_error(422, exc.message, errors=exc.errors, findings=exc.findings)


async def _unknown_industry(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnknownIndustry)
    error = {"key": "industry_code", "label": "行业", "reason": str(exc), "message": f"行业（industry_code）：{exc}"}
    return json_error(404, str(exc), errors=[error])


async def _http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _HTTP_MESSAGES.get(exc.status_code, "请求无法处理")
    detail = _HTTP_MESSAGES.get(exc.status_code, detail) if detail in _STARLETTE_DEFAULTS else detail
    return JSONResponse(status_code=exc.status_code, content=error_body(detail), headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # a bug, not bad input: logged with its traceback, answered without internals
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_error(500, "服务器内部错误，请稍后重试")


async def _request_invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors(), located=True)
    detail = "请求内容有误：" + "；".join(e["message"] for e in errors)
    return json_error(422, detail, errors=errors)


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
        return f"不是有效的 JSON（{ctx.get('error', '格式错误')}）"
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
