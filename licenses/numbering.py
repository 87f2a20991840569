"""License numbers (许可证编号): region code + year + serial + an ISO 7064 MOD 11-2 check character.

Scheme (see docs/licenses.md): ``RRRRRR YYYY SSSSSSS C`` written without spaces, 18 characters, e.g.
``500107202500001231`` (region 500107, 2025, serial 123, check ``1``). ``RRRRRR`` is the GB/T 2260
administrative division code of the issuing authority, ``YYYY`` the year of issue, ``SSSSSSS`` the serial within
that region and year, and ``C`` the check character over the 17 digits (``0``-``9`` or ``X``, the same system as the
resident identity card number), which catches every single-digit error and every swap of adjacent digits. Constituent permits are numbered ``<license number>-NN`` in the order
they appear on the license, so the signed token need not repeat them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from onelicense.forms.identifiers import id_number_check_char
from onelicense.licenses.errors import InvalidLicenseNumber

CHECK_ALPHABET = "0123456789X"
SERIAL_DIGITS = 7
NUMBER_LENGTH = 6 + 4 + SERIAL_DIGITS + 1
_NUMBER_RE = re.compile(rf"([0-9]{{6}})([0-9]{{4}})([0-9]{{{SERIAL_DIGITS}}})([0-9X])")
_PERMIT_RE = re.compile(r"(.+)-([0-9]{2})")


@dataclass(frozen=True)
class LicenseNumber:
    region_code: str
    year: int
    serial: int

    def __str__(self) -> str:
        return format_number(self.region_code, self.year, self.serial)


def check_character(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the 17 digits before it (GB 11643's, hence reused)."""
    if len(body) != NUMBER_LENGTH - 1 or not body.isascii() or not body.isdigit():
        raise InvalidLicenseNumber(body, f"校验前的部分应为{NUMBER_LENGTH - 1}位数字")
    return id_number_check_char(body)


def number_prefix(region_code: str, year: int) -> str:
    """The first ten characters shared by every number of one region and year (for serial allocation)."""
    if not re.fullmatch(r"[0-9]{6}", region_code):
        raise InvalidLicenseNumber(region_code, "行政区划代码应为6位数字")
    if not 1000 <= year <= 9999:
        raise InvalidLicenseNumber(str(year), "年份应为4位数字")
    return f"{region_code}{year:04d}"


def format_number(region_code: str, year: int, serial: int) -> str:
    """A complete license number with its check character."""
    if not 0 < serial < 10**SERIAL_DIGITS:
        raise InvalidLicenseNumber(str(serial), f"流水号应为1至{10**SERIAL_DIGITS - 1}")
    body = f"{number_prefix(region_code, year)}{serial:0{SERIAL_DIGITS}d}"
    return body + check_character(body)


def parse_number(number: str) -> LicenseNumber:
    """Split a license number into its parts; raises InvalidLicenseNumber if the format or check fails."""
    match = _NUMBER_RE.fullmatch(number)
    if not match:
        raise InvalidLicenseNumber(
            number, f"应为{NUMBER_LENGTH}位：6位行政区划代码、4位年份、{SERIAL_DIGITS}位流水号和1位校验码（数字或X）"
        )
    if check_character(number[:-1]) != number[-1]:
        raise InvalidLicenseNumber(number, "校验码不符")
    region, year, serial, _ = match.groups()
    return LicenseNumber(region, int(year), int(serial))


def is_valid_number(number: str) -> bool:
    try:
        parse_number(number)
    except InvalidLicenseNumber:
        return False
    return True


def permit_number(license_number: str, position: int) -> str:
    """The number of the constituent permit at `position` (1-based) on a license: ``<license number>-NN``."""
    if not 1 <= position <= 99:
        raise InvalidLicenseNumber(license_number, "一证最多包含99项许可")
    return f"{license_number}-{position:02d}"


def split_permit_number(number: str) -> tuple[str, int]:
    """(license number, position) of a permit number; raises InvalidLicenseNumber when it is not one."""
    match = _PERMIT_RE.fullmatch(number)
    if not match:
        raise InvalidLicenseNumber(number, "许可编号应为「许可证编号-序号」")
    parse_number(match.group(1))
    return match.group(1), int(match.group(2))
