"""The QR code of a license: the verify URL ``<public base URL>/v/<token>`` as a PNG.

The URL is written as two segments: the prefix in byte mode and the all-digit token in numeric mode, which packs
3.3 bits per character instead of 8; that is what keeps a signed token at QR version ≤ 10 (see docs/licenses.md).
"""

from __future__ import annotations

import io
import re

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import MODE_8BIT_BYTE, MODE_NUMBER, QRData

VERIFY_PATH = "/v/"
MASK_PATTERN = 0
_TRAILING_DIGITS = re.compile(r"^(.*?)(\d*)$", re.DOTALL)


def verify_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}{VERIFY_PATH}{token}"


def build_qr(url: str, *, box_size: int = 10, border: int = 4) -> qrcode.QRCode:
    """A fitted QR code (error correction M) for `url`, with a trailing run of digits in numeric mode.

    The mask is fixed: every mask pattern is valid and decodes alike; trying all eight for the lowest penalty
    costs three times the whole encoding, on the path of every certificate."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border, mask_pattern=MASK_PATTERN)
    match = _TRAILING_DIGITS.match(url)
    assert match is not None  # the pattern matches every string
    prefix, digits = match.groups()
    if prefix:
        code.add_data(QRData(prefix.encode("utf-8"), mode=MODE_8BIT_BYTE))
    if digits:
        code.add_data(QRData(digits, mode=MODE_NUMBER))
    code.make(fit=True)
    return code


def qr_version(url: str) -> int:
    return int(build_qr(url).version)


def qr_png(url: str, *, box_size: int = 10, border: int = 4) -> bytes:
    """PNG bytes of the QR code; at the default box size one module is 10 px."""
    image = build_qr(url, box_size=box_size, border=border).make_image()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
