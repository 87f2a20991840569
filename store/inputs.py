"""Checks on raw input that the database would otherwise reject with an unhelpful error (a 500): NUL
characters, lone surrogates, values JSON cannot hold; and, for the free text people type (opinions, notes,
reasons, comments), the invisible characters that would make it read differently from what is stored.
Business validation of a form belongs to `forms`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from onelicense.errors import InvalidRequest
from onelicense.forms.fieldtypes import hidden_characters

E = TypeVar("E", bound=StrEnum)


def storable_problem(value: str) -> str | None:
    """Why the databases could not hold `value` faithfully (NUL, a lone surrogate), or None. The one check of
    raw text shared by the service layer and the API's request schemas."""
    if "\x00" in value:
        return "不能包含空字符（NUL）"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "包含无效的字符（不成对的代理字符）"
    return None


def text(value: object, label: str, *, required: bool = True, max_length: int = 10_000) -> str:
    """A storable string: UTF-8 encodable, no NUL, not blank when required, and no hidden character but line
    breaks and tabs: a bidirectional override (U+202E) or isolate, a zero-width character, a control character
    would let an opinion or a reason read otherwise on screen, in print and in the audit than it was typed
    (`forms.fieldtypes.hidden_characters`, which the API's schema states as a pattern). Returns it stripped."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{label}必须是文本")
    if problem := storable_problem(value):
        raise InvalidRequest(f"{label}{problem}")
    if hidden := hidden_characters(value):
        raise InvalidRequest(f"{label}含有不可见的控制字符（如双向文字控制符、零宽字符）：{'、'.join(hidden[:5])}")
    value = value.strip()
    if required and not value:
        raise InvalidRequest(f"{label}不能为空")
    if len(value) > max_length:
        raise InvalidRequest(f"{label}过长（最多 {max_length} 个字符）")
    return value


def json_object(value: object, label: str) -> dict[str, Any]:
    """A JSON object with string keys, storable as it is (Unicode kept exactly)."""
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{label}必须是键值对象")
    value = dict(value)
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"{label}包含无法保存的值：{exc}") from exc
    if problem := storable_problem(encoded):
        raise InvalidRequest(f"{label}{problem}")
    return value


def code_list(value: object, label: str) -> list[str]:
    """A non-empty list of distinct codes, order kept."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidRequest(f"{label}必须是列表")
    codes = [text(v, label, max_length=200) for v in value]
    if not codes:
        raise InvalidRequest(f"{label}不能为空")
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise InvalidRequest(f"{label}重复：{'、'.join(duplicates)}")
    return codes


def enum_value(enum: type[E], value: object, label: str) -> E:
    """`value` as a member of `enum`, or InvalidRequest naming the allowed values."""
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return enum(value)
    except ValueError:
        allowed = "、".join(m.value for m in enum)
        raise InvalidRequest(f"未知的{label}：{value}（可选：{allowed}）") from None


def page_size(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500:
        raise InvalidRequest("每页条数必须在 1 到 500 之间")
    return limit


def offset(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidRequest("偏移量不能为负数")
    return value
