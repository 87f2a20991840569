"""Byte-level codec of the signed token: a tiny writer/reader, radix-40 packing of code-like strings, GB 18030 text.

Every byte in a token costs ~2.4 decimal digits in the QR code, so code-like ASCII (license numbers, USCC, catalog
codes: ``0-9 A-Z _ - .``) is packed three characters into two bytes, DEC RADIX-50 style, and names are written in
GB 18030 (the national character set: every Unicode character, two bytes for common Chinese characters instead
of UTF-8's three).
"""

from __future__ import annotations

import struct
from datetime import date

from onelicense.licenses.errors import LicenseError, MalformedToken

PACK_ALPHABET = "\x000123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-."  # index 0 pads the last group
_RADIX = len(PACK_ALPHABET)
# every 16-bit group value below 40³ decoded once, so reading a token is a table lookup per three characters
_TRIPLETS = [a + b + c for a in PACK_ALPHABET for b in PACK_ALPHABET for c in PACK_ALPHABET]
_EPOCH = date(1970, 1, 1)
TEXT_ENCODING = "gb18030"
MAX_TEXT_BYTES = 255  # one length byte


def text_problem(value: str) -> str | None:
    """Why `value` cannot be written into a token as text, or None: a Chinese reason naming the limit."""
    try:
        size = len(value.encode(TEXT_ENCODING))
    except UnicodeEncodeError:
        return "含有无法编码的字符"
    if size > MAX_TEXT_BYTES:
        return (
            f"过长，无法写入许可证核验码：最多 {MAX_TEXT_BYTES} 字节（GB 18030 编码，常用汉字每字 2 字节，"
            f"生僻字和表情符号每字 4 字节），当前 {size} 字节"
        )
    return None


class Writer:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, value: int) -> None:
        self._parts.append(struct.pack(">B", value))

    def u16(self, value: int) -> None:
        self._parts.append(struct.pack(">H", value))

    def u32(self, value: int) -> None:
        self._parts.append(struct.pack(">I", value))

    def raw(self, data: bytes) -> None:
        self._parts.append(data)

    def text(self, value: str) -> None:
        if problem := text_problem(value):
            raise LicenseError(f"「{value[:20]}」{problem}")
        data = value.encode(TEXT_ENCODING)
        self.u8(len(data))
        self.raw(data)

    def packed(self, value: str) -> None:
        if len(value) > 255 or any(ch not in PACK_ALPHABET[1:] for ch in value):
            raise LicenseError(f"「{value}」只能包含数字、大写字母和 _-. 才能写入核验码")
        self.u8(len(value))
        codes = [PACK_ALPHABET.index(ch) for ch in value]
        codes += [0] * (-len(codes) % 3)
        for i in range(0, len(codes), 3):
            self.u16((codes[i] * _RADIX + codes[i + 1]) * _RADIX + codes[i + 2])

    def day(self, value: date | None) -> None:
        """A date as days since 1970-01-01; 0 means none (no real date in a license is that day)."""
        self.u16(0 if value is None else (value - _EPOCH).days)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise MalformedToken("内容不完整")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def u8(self) -> int:
        return self._take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self._take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self._take(4))[0])

    def raw(self, n: int) -> bytes:
        return self._take(n)

    def text(self) -> str:
        try:
            return self._take(self.u8()).decode(TEXT_ENCODING)
        except UnicodeDecodeError as exc:
            raise MalformedToken("文字编码错误") from exc

    def packed(self) -> str:
        length = self.u8()
        groups = (length + 2) // 3
        try:
            text = "".join([_TRIPLETS[value] for value in struct.unpack(f">{groups}H", self._take(2 * groups))])
        except IndexError:
            raise MalformedToken("编码超出范围") from None
        if "\x00" in text[:length] or text[length:].strip("\x00"):
            raise MalformedToken("编码填充错误")
        return text[:length]

    def day(self) -> date | None:
        days = self.u16()
        return None if days == 0 else date.fromordinal(_EPOCH.toordinal() + days)

    def end(self) -> None:
        if self._pos != len(self._data):
            raise MalformedToken("内容末尾有多余数据")
