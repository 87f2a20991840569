"""One parser per field type: turns submitted JSON into a clean value or a reason in Chinese.

Normalization is limited to what cannot change meaning (docs/catalog.md, "What is normalized"):
- identifiers (USCC, ID number, phone, e-mail): Unicode NFKC (full-width ０-９ and Ａ-Ｚ become ASCII), surrounding
  whitespace removed, USCC and ID number upper-cased; then they must be plain ASCII of their exact shape, so
  digits of other scripts (Arabic-Indic, Devanagari ...) and embedded line breaks are refused, not converted;
- text: surrounding whitespace removed; invisible characters are refused (control characters, bidirectional
  controls, zero-width characters, unassigned and private-use code points), since what is stored must read the
  same as what is displayed, searched and printed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from onelicense.forms.identifiers import id_number_problem, uscc_problem
from onelicense.forms.model import FieldSpec, FieldType

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[0-9]{2,3}-?[0-9]{7,8}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,63}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,15}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# categories never shown yet changing how the text around them reads: controls, format characters (bidi
# embeddings, overrides, isolates and marks; zero-width characters; tags), line and paragraph separators
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})
# and what is never visible text in a field of the form: those, surrogates, private use, unassigned
_INVISIBLE = _HIDDEN | {"Cs", "Co", "Cn"}
_ALLOWED_CONTROLS = "\n\r\t"
EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(2099, 12, 31)


def invisible_characters(value: str) -> list[str]:
    """The characters of `value` that are not visible text (line breaks and tabs are allowed), as U+XXXX."""
    return _found(value, _INVISIBLE)


def hidden_characters(value: str) -> list[str]:
    """The control and format characters of `value` (line breaks and tabs are allowed), as U+XXXX: the rule for
    free text (opinions, notes, reasons). Private-use and not yet assigned code points are let through there: a
    rare character typed with a 造字 font, or one newer than this Python's Unicode tables, is still text."""
    return _found(value, _HIDDEN)


def hidden_character_class() -> str:
    """The characters `hidden_characters` refuses in the Basic Multilingual Plane, as the body of a regular
    expression character class (\\uXXXX ranges: the same in JSON Schema, Python and Rust), for a published schema
    to state the rule."""
    ranges: list[list[int]] = []
    for point in range(0x10000):
        char = chr(point)
        if char in _ALLOWED_CONTROLS or 0xD800 <= point <= 0xDFFF or unicodedata.category(char) not in _HIDDEN:
            continue
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


def _found(value: str, categories: frozenset[str]) -> list[str]:
    found = dict.fromkeys(
        f"U+{ord(c):04X}" for c in value if c not in _ALLOWED_CONTROLS and unicodedata.category(c) in categories
    )
    return list(found)


class Invalid(ValueError):
    """A value does not fit its field; the message is the reason shown to the applicant."""


def parse_value(spec: FieldSpec, value: Any) -> Any:
    """Clean `value` for `spec` or raise Invalid with a Chinese reason."""
    return _PARSERS[spec.type](spec, value)


def _text(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid("应为文本")
    value = value.strip()
    if not value:
        raise Invalid("不能为空")
    if len(value) > spec.length_cap:
        raise Invalid(f"长度不能超过{spec.length_cap}个字符（当前{len(value)}个）")
    if hidden := invisible_characters(value):
        raise Invalid(f"含有不可见的控制字符（如双向文字控制符、零宽字符）：{'、'.join(hidden[:5])}")
    return str(value)  # otherwise kept as typed: rare characters included


def _number(spec: FieldSpec, value: Any, integer: bool) -> int | float:
    if isinstance(value, bool):
        raise Invalid("应为数字")
    if isinstance(value, str):
        text = value.strip()
        if integer and not _INTEGER.fullmatch(text):
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
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise Invalid("应为日期，格式 YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid("不是有效的日期") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise Invalid(f"日期超出合理范围（{EARLIEST_DATE.isoformat()} 至 {LATEST_DATE.isoformat()}）")
    return day.isoformat()


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


def _checked(
    problem: Callable[[str], str | None], what: str, *, upper: bool = False
) -> Callable[[FieldSpec, Any], str]:
    def parse(spec: FieldSpec, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"应为{what}")
        value = unicodedata.normalize("NFKC", value).strip()
        if upper:
            value = value.upper()
        reason = problem(value)
        if reason:
            raise Invalid(reason)
        return str(value)

    return parse


def _phone_problem(value: str) -> str | None:
    if _MOBILE.fullmatch(value) or _LANDLINE.fullmatch(value):
        return None
    return "不是有效的电话号码（手机号11位，或固定电话如 023-12345678）"


def _email_problem(value: str) -> str | None:
    return None if len(value) <= 254 and _EMAIL.fullmatch(value) else "不是有效的电子邮箱地址"


_PARSERS: dict[FieldType, Callable[[FieldSpec, Any], Any]] = {
    FieldType.TEXT: _text,
    FieldType.ADDRESS: _text,
    FieldType.INTEGER: lambda s, v: _number(s, v, integer=True),
    FieldType.DECIMAL: lambda s, v: _number(s, v, integer=False),
    FieldType.DATE: _date,
    FieldType.ENUM: _enum,
    FieldType.BOOLEAN: _boolean,
    FieldType.PHONE: _checked(_phone_problem, "电话号码"),
    FieldType.USCC: _checked(uscc_problem, "统一社会信用代码", upper=True),
    FieldType.ID_NUMBER: _checked(id_number_problem, "身份证件号码", upper=True),
    FieldType.EMAIL: _checked(_email_problem, "电子邮箱地址"),
}
