"""The signed verification token carried in the QR code: what a license says, signed with Ed25519.

Binary layout (all integers big-endian), then written as one decimal number so the QR code can use its numeric
mode (3.3 bits per digit, the densest; see docs/licenses.md for measured sizes)::

    u8 format version (1) | 4 bytes kid | u32 issued_at (Unix seconds, UTC)
    packed number | packed USCC | packed industry code | GB 18030 holder name
    u8 permit count | per permit: packed permit code, u16 valid-until (days since 1970-01-01, 0 = no expiry)
    64 bytes Ed25519 signature over everything before it

Permit numbers are ``<license number>-NN`` by position (licenses.numbering), so they are implied, not repeated.
No personal ID numbers and no legal representative are ever put in a token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.exceptions import InvalidSignature

from onelicense.licenses.codec import Reader, Writer
from onelicense.licenses.errors import LicenseError, MalformedToken, SignatureInvalid
from onelicense.licenses.keys import KID_BYTES, KeySet
from onelicense.licenses.numbering import permit_number

FORMAT_VERSION = 1
SIGNATURE_BYTES = 64
MAX_TOKEN_DIGITS = 3000  # far above any real token (19 permits: ~1100); bounds the parse of hostile input
_DIGITS = re.compile(r"[1-9][0-9]*")


@dataclass(frozen=True)
class SignedPermit:
    code: str
    number: str
    valid_until: date | None


@dataclass(frozen=True)
class SignedContent:
    """What the issuing authority vouches for, as of the issue time."""

    number: str
    uscc: str
    holder_name: str
    industry_code: str
    issued_at: datetime  # UTC, whole seconds
    permits: tuple[SignedPermit, ...]


@dataclass(frozen=True)
class VerifiedToken:
    kid: str
    content: SignedContent


def _encode_body(content: SignedContent) -> bytes:
    out = Writer()
    out.u32(int(content.issued_at.timestamp()))
    out.packed(content.number)
    out.packed(content.uscc)
    out.packed(content.industry_code)
    out.text(content.holder_name)
    out.u8(len(content.permits))
    for position, permit in enumerate(content.permits, start=1):
        if permit.number != permit_number(content.number, position):
            raise LicenseError(f"许可编号 {permit.number} 应为 {permit_number(content.number, position)}")
        out.packed(permit.code)
        out.day(permit.valid_until)
    return out.getvalue()


def _decode_body(data: bytes) -> SignedContent:
    reader = Reader(data)
    issued_at = datetime.fromtimestamp(reader.u32(), UTC)
    number = reader.packed()
    uscc = reader.packed()
    industry = reader.packed()
    holder = reader.text()
    permits = []
    for position in range(1, reader.u8() + 1):
        code = reader.packed()
        permits.append(SignedPermit(code, permit_number(number, position), reader.day()))
    reader.end()
    return SignedContent(number, uscc, holder, industry, issued_at, tuple(permits))


def sign_token(content: SignedContent, keyset: KeySet) -> str:
    """The token for `content`, signed with the key set's active key."""
    kid, private = keyset.signing_key()
    if content.issued_at.tzinfo is None:
        raise LicenseError("签发时间必须带时区")
    head = bytes([FORMAT_VERSION]) + bytes.fromhex(kid)
    message = head + _encode_body(content)
    blob = message + private.sign(message)
    return str(int.from_bytes(blob, "big"))


def verify_token(token: str, keyset: KeySet) -> VerifiedToken:
    """The signed content of a genuine token; raises MalformedToken, UnknownKey or SignatureInvalid otherwise."""
    if len(token) > MAX_TOKEN_DIGITS:
        raise MalformedToken(f"核验码过长（{len(token)} 位，真实核验码不超过 {MAX_TOKEN_DIGITS} 位）")
    if not _DIGITS.fullmatch(token):
        raise MalformedToken("核验码应为一串数字")
    value = int(token)
    blob = value.to_bytes((value.bit_length() + 7) // 8, "big")
    if blob[0] != FORMAT_VERSION:
        raise MalformedToken(f"不支持的格式版本 {blob[0]}")
    if len(blob) < 1 + KID_BYTES + SIGNATURE_BYTES:
        raise MalformedToken("核验码过短")
    kid = blob[1 : 1 + KID_BYTES].hex()
    public = keyset.public_key(kid)
    message, signature = blob[:-SIGNATURE_BYTES], blob[-SIGNATURE_BYTES:]
    try:
        public.verify(signature, message)
    except InvalidSignature:
        raise SignatureInvalid(kid) from None
    # Signed by us, so the body is our own encoding; decoding errors here would mean a bug, still typed.
    return VerifiedToken(kid, _decode_body(message[1 + KID_BYTES :]))
