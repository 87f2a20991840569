"""Typed errors of the license domain: numbering, identifiers, tokens, keys and QR decoding, under the one root in
`onelicense.errors` (lifecycle operations the status table refuses raise its `TransitionNotAllowed`)."""

from __future__ import annotations

from onelicense.errors import InvalidRequest, Unavailable


class LicenseError(InvalidRequest):
    """Base of the license domain's input errors; the message is Chinese, for users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class InvalidLicenseNumber(LicenseError):
    """A license number that does not follow the scheme or whose check character is wrong."""

    def __init__(self, number: str, reason: str) -> None:
        super().__init__(f"许可证编号 {number!r} 无效：{reason}")
        self.number = number
        self.reason = reason


class InvalidIdentifier(LicenseError):
    """A 证照标识 (GB/T 36904) that does not follow the format or whose check character is wrong."""

    def __init__(self, identifier: str, reason: str) -> None:
        super().__init__(f"证照标识 {identifier!r} 无效：{reason}")
        self.identifier = identifier
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


class KeyRevoked(TokenError):
    """The token names a key that was revoked (it leaked): whatever it signed can no longer be trusted."""

    def __init__(self, kid: str, at: str) -> None:
        when = f"（{at[:10]} 起）" if at else ""
        super().__init__(f"签名密钥已停用{when}：密钥 {kid} 签发的核验码不再可信，请向持证人索取重新签发的许可证")
        self.kid = kid
        self.at = at


class SignatureInvalid(TokenError):
    """The signature does not match the content: the token was altered or forged."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"签名校验失败（密钥 {kid}）：内容被篡改或伪造")
        self.kid = kid


KEYS_UNAVAILABLE = "核验服务暂时不可用，请稍后再试或向发证机关核实"


class KeyStoreError(Unavailable):
    """The key folder is unreadable, inconsistent or has unsafe permissions: an outage, whose cause (paths, file
    modes) is for the log, not for the caller."""

    @property
    def public_message(self) -> str:
        return KEYS_UNAVAILABLE


class NoQRCodeFound(LicenseError):
    """An image or PDF page in which no QR code could be decoded."""

    def __init__(self, source: str) -> None:
        super().__init__(f"未能在 {source} 中识别出二维码")
        self.source = source


class DocumentSignatureError(LicenseError):
    """The certificate PDF's own signature (PAdES) does not hold; subclasses say which check failed."""


class DocumentSignatureMissing(DocumentSignatureError):
    """The PDF carries no document signature at all."""

    def __init__(self) -> None:
        super().__init__("PDF 没有文档签名：不是发证机关签发的电子证照文件，或签名已被移除")


class DocumentModified(DocumentSignatureError):
    """The signed bytes no longer match their digest, or the file was changed after it was signed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"PDF 文档签名校验失败：{reason}，文件在签名后被修改")
        self.reason = reason


class DocumentUntrusted(DocumentSignatureError):
    """The signature is intact but its certificate does not chain to a trusted root (or is not valid now)."""

    def __init__(self, signer: str, reason: str) -> None:
        super().__init__(f"PDF 文档签名的证书不受信任（签名者：{signer}）：{reason}")
        self.signer = signer
        self.reason = reason


class DocumentKeyRevoked(DocumentSignatureError):
    """The document was signed with a document-signing key that was revoked (it leaked)."""

    def __init__(self, kid: str, at: str) -> None:
        when = f"（{at[:10]} 起）" if at else ""
        super().__init__(f"PDF 文档签名密钥已停用{when}：密钥 {kid} 签名的文件不再可信，请向持证人索取重新签发的许可证")
        self.kid = kid
        self.at = at


class CertificateFontMissing(Unavailable):
    """A font the certificate must print with is not installed (Debian's fonts-noto-cjk): without it, it would print
    boxes or nothing. An outage of the machine's setup, whose cause is for the log."""

    def __init__(self, family: str) -> None:
        super().__init__(f"证照字体缺失：{family}（请安装 fonts-noto-cjk）")
        self.family = family
