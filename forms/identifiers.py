"""Check digits of Chinese identifiers: the USCC (GB 32100-2015) and the resident ID number (GB 11643-1999)."""

from __future__ import annotations

import datetime as dt
import re

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
# 登记管理部门代码, the first character: 1 机构编制 2 外交 3 司法行政 4 文化 5 民政 6 旅游 7 宗教 8 工会 9 市场监管
# A 中央军委改革和编制办公室 N 农业 Y 其他
USCC_AUTHORITIES = "123456789ANY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(rf"[{USCC_ALPHABET}]{{18}}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_EARLIEST_BIRTH = dt.date(1900, 1, 1)


def uscc_check_char(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 for its first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    """None when `value` is a well-formed USCC, else the reason in Chinese."""
    if len(value) != 18:
        return f"应为18位，实际为{len(value)}位"
    if not _USCC_SHAPE.fullmatch(value):
        return "含有不允许的字符（只能使用数字和除 I、O、S、V、Z 外的大写字母）"
    if value[0] not in USCC_AUTHORITIES:
        return f"第1位登记管理部门代码应为 {'、'.join(USCC_AUTHORITIES)} 之一"
    if value[2:8] == "000000":
        return "第3-8位登记管理机关行政区划码不能全为0"
    if uscc_check_char(value[:17]) != value[17]:
        return "校验码错误（GB 32100-2015）"
    return None


def id_number_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_problem(value: str, today: dt.date | None = None) -> str | None:
    if not _ID_SHAPE.fullmatch(value):
        return "应为18位，前17位为数字，末位为数字或X"
    if not "11" <= value[:2] <= "91":
        return "前2位省级行政区划代码无效"
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "第7-14位出生日期不是有效的日期"
    if not _EARLIEST_BIRTH <= born <= (today or dt.date.today()):
        return "第7-14位出生日期超出合理范围"
    if id_number_check_char(value[:17]) != value[17]:
        return "校验码错误（GB 11643）"
    return None


_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def mobile_problem(value: str) -> str | None:
    """Why `value` is not a mainland mobile number (11 digits starting 13–19), or None."""
    return None if _MOBILE.fullmatch(value) else "不是有效的手机号码（11 位数字，以 1 开头）"
