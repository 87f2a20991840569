"""Typed errors of the license domain: numbering, tokens, keys, QR decoding and lifecycle operations."""

from __future__ import annotations


class LicenseError(Exception):
    """Base of every error raised by `licenses` and `store.licenses`; `str()` is a Chinese message for users."""


class InvalidLicenseNumber(LicenseError):
    """A license number that does not follow the scheme or whose check character is wrong."""

    def __init__(self, number: str, reason: str) -> None:
        super().__init__(f"许可证编号 {number!r} 无效：{reason}")
        self.number = number
        self.reason = reason


class TokenError(LicenseError):
    """A verification token that is not genuine; subclasses say why."""


class MalformedToken(TokenError):
    """Not a token at all: wrong characters, wrong length, unknown format version, unreadable content."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"核验码格式错误：{reason}")
        self.reason = reason


class UnknownKey(TokenError):
    """The token names a key id that is not in the published key set."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"签名密钥 {kid} 不在公布的密钥集中")
        self.kid = kid


class SignatureInvalid(TokenError):
    """The signature does not match the content: the token was altered or forged."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"签名校验失败（密钥 {kid}）：内容被篡改或伪造")
        self.kid = kid


class KeyStoreError(LicenseError):
    """The key folder is unreadable, inconsistent or has unsafe permissions."""


class NoQRCodeFound(LicenseError):
    """An image or PDF page in which no QR code could be decoded."""

    def __init__(self, source: str) -> None:
        super().__init__(f"未能在 {source} 中识别出二维码")
        self.source = source


class TransitionNotAllowed(LicenseError):
    """A lifecycle operation that the current status does not allow (e.g. restoring a permit that is valid)."""

    def __init__(self, operation: str, status: str, target: str) -> None:
        super().__init__(f"{target} 当前状态为「{status}」，不能执行「{operation}」")
        self.operation = operation
        self.status = status
        self.target = target
