"""OpenAPI documentation of the error answers (all share the ErrorBody shape, see web/errors.py)."""

from __future__ import annotations

from typing import Any

from onelicense.web.api.schemas import ErrorBody

_DESCRIPTIONS = {
    400: "请求格式错误：上传内容不是可解析的 multipart/form-data",
    401: "未认证：缺少或无效的访问令牌",
    403: "无权执行此操作：角色不符，或不是自己的申请，或是其他部门的审查任务",
    404: "不存在",
    409: "状态冲突：已被他人处理或当前状态不允许，请刷新后重试",
    422: "请求内容有误，errors 逐项列出字段与原因",
    413: "文件过大：超过配置的上限（默认 10 MB），未保存任何内容",
    503: "服务繁忙或暂时不可用（或许可证 PDF 正在生成）：按 Retry-After 稍后重试；未写入任何内容",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the listed status codes with the error body schema, and 503 (any route may be
    asked to come back when the server is at capacity)."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in (*codes, 503)}
