"""One parser per field type: turns submitted JSON into a clean value or a reason in Chinese."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from forms.identifiers import id_number_problem, uscc_problem
from forms.model import FieldSpec, FieldType

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_INTEGER = re.compile(r"^[+-]?\d{1,15}$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Invalid(ValueError):
    """A value does not fit its field; the message is the reason shown to the applicant."""


def parse_value(spec: FieldSpec, value: Any) -> Any:
    """Clean `value` for `spec` or raise Invalid with a Chinese reason."""
    return _PARSERS[spec.type](spec, value)


def _text(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid("应为文本")
    if not value.strip():
        raise Invalid("不能为空")
    if len(value) > spec.length_cap:
        raise Invalid(f"长度不能超过{spec.length_cap}个字符（当前{len(value)}个）")
    if CONTROL_CHARACTERS.search(value):
        raise Invalid("含有不可见的控制字符")
    return value  # kept exactly as typed: rare characters and emoji included


def _number(spec: FieldSpec, value: Any, integer: bool) -> int | float:
    if isinstance(value, bool):
        raise Invalid("应为数字")
    if isinstance(value, str):
        text = value.strip()
        if integer and not _INTEGER.match(text):
            raise Invalid("应为整数")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise Invalid("应为数字") from None
    elif isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        raise Invalid("应为整数" if integer else "应为数字")
    if not number.is_finite():
        raise Invalid("应为有限的数字")
    if integer and number != number.to_integral_value():
        raise Invalid("应为整数")
    if spec.min is not None and number < Decimal(str(spec.min)):
        raise Invalid(f"不能小于{_show(spec.min)}")
    if spec.max is not None and number > Decimal(str(spec.max)):
        raise Invalid(f"不能大于{_show(spec.max)}")
    if abs(number) > Decimal("1e15"):
        raise Invalid("数值过大")
    result = int(number) if integer else float(number)
    if not integer and math.isinf(result):
        raise Invalid("数值过大")
    return result


def _show(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def _date(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise Invalid("应为日期，格式 YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise Invalid("不是有效的日期") from None


def _enum(spec: FieldSpec, value: Any) -> str:
    choices = spec.choices or ()
    if not isinstance(value, str) or value not in choices:
        raise Invalid("应为以下选项之一：" + "、".join(choices))
    return value


def _boolean(spec: FieldSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false", "是", "否"):
        return value in ("true", "是")
    raise Invalid("应为“是”或“否”")


def _checked(problem: Callable[[str], str | None], what: str) -> Callable[[FieldSpec, Any], str]:
    def parse(spec: FieldSpec, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"应为{what}")
        reason = problem(value)
        if reason:
            raise Invalid(reason)
        return value

    return parse


def _phone_problem(value: str) -> str | None:
    if _MOBILE.match(value) or _LANDLINE.match(value):
        return None
    return "不是有效的电话号码（手机号11位，或固定电话如 023-12345678）"


def _email_problem(value: str) -> str | None:
    return None if len(value) <= 254 and _EMAIL.match(value) else "不是有效的电子邮箱地址"


_PARSERS: dict[FieldType, Callable[[FieldSpec, Any], Any]] = {
    FieldType.TEXT: _text,
    FieldType.ADDRESS: _text,
    FieldType.INTEGER: lambda s, v: _number(s, v, integer=True),
    FieldType.DECIMAL: lambda s, v: _number(s, v, integer=False),
    FieldType.DATE: _date,
    FieldType.ENUM: _enum,
    FieldType.BOOLEAN: _boolean,
    FieldType.PHONE: _checked(_phone_problem, "电话号码"),
    FieldType.USCC: _checked(uscc_problem, "统一社会信用代码"),
    FieldType.ID_NUMBER: _checked(id_number_problem, "身份证件号码"),
    FieldType.EMAIL: _checked(_email_problem, "电子邮箱地址"),
}
