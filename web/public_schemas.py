"""The JSON the public pages answer (`Accept: application/json`) and the published keys, as typed models: the
OpenAPI document states them, so a generated client reads /v/<token> and the JWKS without guessing. The pages
build plain dicts (`web.public.public_view`); the tests check every answer against these models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StatusOut(BaseModel):
    code: str = Field(description="01 有效 | 02 暂扣 | 03 撤销 | 04 注销 | 05 吊销 | 06 过期")
    label: str


class PublicPermit(BaseModel):
    code: str
    name: str
    number: str
    department: str
    issued_on: str | None = Field(description="YYYY-MM-DD")
    valid_until: str | None = Field(description="YYYY-MM-DD；无期限为 null")
    mandatory: bool
    status: StatusOut = Field(description="实际状态：许可事项与许可证状态中更严格者")
    by_license: bool = Field(description="状态是否来自整个许可证（如随许可证注销）")
    status_note: str | None
    pending_inspection: bool = Field(description="告知承诺制：先予许可、待核查")


class PublicEvent(BaseModel):
    date: str
    event: str
    permit: str | None


class VerifiedLicense(BaseModel):
    """200: the code is genuine and the license is registered: its public facts and live status."""

    model_config = ConfigDict(extra="forbid")

    genuine: Literal[True]
    registered: Literal[True]
    number: str
    identifier: str = Field(description="证照标识（GB/T 36904），最新版次的")
    holder_name: str
    uscc: str
    legal_representative: str = Field(description="已脱敏")
    business_address: str
    industry_code: str
    industry_name: str
    authority_name: str
    issued_on: str | None
    status: StatusOut = Field(description="综合状态")
    license_status: StatusOut = Field(description="许可证本身的状态")
    blocking: list[PublicPermit] = Field(description="使综合状态不为有效的许可事项")
    permits: list[PublicPermit]
    checked_at: str = Field(description="核验时间，ISO 8601，北京时间带时区偏移")
    key_id: str
    edition: int
    edition_on: str | None
    current: bool = Field(description="是否为最新版；false 时 current_url 为最新版的核验网址")
    current_url: str | None = None
    document_key_revoked: bool = Field(
        description="该许可证当前电子文件（PDF）的文档签名密钥是否已停用；许可证状态不受影响，持证人应重新获取电子文件"
    )
    document_notice: str | None = Field(
        description="给核验人的提示，文档签名密钥已停用时为「该许可证电子文件的签名密钥已停用，请向发证机关重新获取」"
    )
    history: list[PublicEvent]


class NotGenuine(BaseModel):
    """400: the code is not genuine."""

    genuine: Literal[False]
    reason: Literal["malformed", "unknown_key", "signature_invalid", "key_revoked", "invalid"]
    message: str


class Unregistered(BaseModel):
    """404: genuinely signed, but no such license in the register."""

    genuine: Literal[True]
    registered: Literal[False]
    number: str
    holder_name: str
    uscc: str
    issued_on: str | None
    checked_at: str
    message: str


class PublicJwk(BaseModel):
    """An Ed25519 public key (RFC 8037) that verifies tokens."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    kid: str
    x: str = Field(description="公钥，base64url")
    alg: Literal["EdDSA"]
    use: Literal["sig"]
    status: Literal["active", "retired"]


class RevokedJwk(BaseModel):
    """A key that no longer verifies: tokens signed with it are 签名密钥已停用."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    kid: str
    x: str
    status: Literal["revoked"]
    revoked_at: str = Field(description="停用时间，ISO 8601")


class PublishedKeys(BaseModel):
    """The JWKS: `keys` is a standard JSON Web Key Set; `revoked_keys` an extension listing the revoked keys."""

    keys: list[PublicJwk]
    revoked_keys: list[RevokedJwk]
    updated_at: str | None
