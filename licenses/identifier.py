"""证照标识 (GB/T 36904): the national identifier of an electronic license, built, parsed and checked.

Format: ``1.2.156.3005.2.<证照类型代码>.<颁发机构代码>.<流水号>.<版本号>.<校验位>``, e.g. the published 住建部 sample
``1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U``. The type code is assigned when a
license type is registered in the 电子证照目录 (the defining department's USCC plus three digits in real ones), the
issuer code is the issuing authority's 统一社会信用代码, the serial is ours (the license number, unique for every
license), the version is the edition in three digits, and the check character is ISO 7064 MOD 37,36 (hybrid
system, alphabet ``0-9A-Z``) over type code, issuer code, serial and version joined without dots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_36

from onelicense.forms.identifiers import uscc_problem
from onelicense.licenses.errors import InvalidIdentifier, InvalidLicenseNumber
from onelicense.licenses.numbering import parse_number

PREFIX = "1.2.156.3005.2"  # the OID arc of China's electronic licenses (电子证照)
CHECK_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
VERSION_DIGITS = 3
_PART = re.compile(r"[0-9A-Z]+")
_VERSION = re.compile(rf"[0-9]{{{VERSION_DIGITS}}}")


@dataclass(frozen=True)
class LicenseIdentifier:
    """The parts of a 证照标识; `str()` writes it with its check character."""

    type_code: str  # 证照类型代码
    issuer_code: str  # 颁发机构代码 (USCC)
    serial: str  # 流水号
    version: int  # 版本号

    def __str__(self) -> str:
        body = (self.type_code, self.issuer_code, self.serial, f"{self.version:0{VERSION_DIGITS}d}")
        return ".".join((PREFIX, *body, check_character("".join(body))))


def check_character(body: str) -> str:
    """The ISO 7064 MOD 37,36 check character of type code, issuer code, serial and version written together."""
    if not _PART.fullmatch(body):
        raise InvalidIdentifier(body, "校验计算的内容只能含数字和大写字母")
    return mod_37_36.calc_check_digit(body, CHECK_ALPHABET)


def build_identifier(type_code: str, issuer_code: str, serial: str, version: int) -> str:
    """A complete 证照标识; raises InvalidIdentifier when a part cannot be written into one."""
    _check_parts(f"{type_code}.{issuer_code}.{serial}", type_code, issuer_code, serial)
    if not 1 <= version < 10**VERSION_DIGITS:
        raise InvalidIdentifier(str(version), f"版本号应为1至{10**VERSION_DIGITS - 1}")
    return str(LicenseIdentifier(type_code, issuer_code, serial, version))


def parse_identifier(text: str) -> LicenseIdentifier:
    """The parts of a 证照标识 whose format and check character are right; InvalidIdentifier otherwise."""
    if not text.startswith(PREFIX + "."):
        raise InvalidIdentifier(text, f"应以 {PREFIX}. 开头")
    parts = text[len(PREFIX) + 1 :].split(".")
    if len(parts) != 5:
        raise InvalidIdentifier(text, "前缀后应为「证照类型代码.颁发机构代码.流水号.版本号.校验位」五段")
    type_code, issuer_code, serial, version, check = parts
    _check_parts(text, type_code, issuer_code, serial)
    if not _VERSION.fullmatch(version) or version == "000":
        raise InvalidIdentifier(text, f"版本号应为{VERSION_DIGITS}位数字（001起）")
    if len(check) != 1 or check not in CHECK_ALPHABET:
        raise InvalidIdentifier(text, "校验位应为1位数字或大写字母")
    if check_character(type_code + issuer_code + serial + version) != check:
        raise InvalidIdentifier(text, "校验位不符")
    return LicenseIdentifier(type_code, issuer_code, serial, int(version))


def is_valid_identifier(text: str) -> bool:
    try:
        parse_identifier(text)
    except InvalidIdentifier:
        return False
    return True


def looks_like_identifier(text: str) -> bool:
    """Whether `text` is meant as a 证照标识 (it starts with the prefix), valid or not: a lookup key is then read as
    one and a wrong one is refused rather than searched for as a name."""
    return text.strip().startswith(PREFIX + ".")


def _check_parts(text: str, type_code: str, issuer_code: str, serial: str) -> None:
    for name, value in (("证照类型代码", type_code), ("颁发机构代码", issuer_code), ("流水号", serial)):
        if not _PART.fullmatch(value):
            raise InvalidIdentifier(text, f"{name}应由数字和大写字母组成，不能为空")
    problem = uscc_problem(issuer_code)
    if problem:
        raise InvalidIdentifier(text, f"颁发机构代码应为统一社会信用代码：{problem}")


@dataclass(frozen=True)
class IdentifierScheme:
    """What the identifiers of one issuing authority share: the registered type code and the authority's USCC.
    The serial is the license number (unique, never reused), the version the edition."""

    type_code: str
    issuer_code: str

    def __post_init__(self) -> None:
        _check_parts(f"{self.type_code}.{self.issuer_code}", self.type_code, self.issuer_code, "0")

    def identifier(self, license_number: str, edition: int) -> str:
        """The 证照标识 of `edition` of the license numbered `license_number`."""
        parse_number(license_number)
        return build_identifier(self.type_code, self.issuer_code, license_number, edition)

    def license_number(self, text: str) -> tuple[str, int]:
        """(license number, edition) of one of our identifiers; InvalidIdentifier when it is not valid or was not
        issued under this scheme (another type or authority)."""
        parsed = parse_identifier(text)
        if (parsed.type_code, parsed.issuer_code) != (self.type_code, self.issuer_code):
            raise InvalidIdentifier(text, "不是本机关签发的该类证照（证照类型代码或颁发机构代码不符）")
        try:
            parse_number(parsed.serial)
        except InvalidLicenseNumber as exc:
            raise InvalidIdentifier(text, f"流水号不是有效的许可证编号：{exc.reason}") from None
        return parsed.serial, parsed.version
