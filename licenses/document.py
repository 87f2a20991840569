"""The composite license as printed (行业综合许可证): holder, industry, constituent permits, authority.

A plain value object built by the store from its rows (or by tests directly); the PDF, the signed token and the
public page are all rendered from it, so they cannot disagree.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime

from onelicense.licenses.numbering import permit_number
from onelicense.licenses.token import SignedContent, SignedPermit


@dataclass(frozen=True)
class PermitEntry:
    """One constituent permit (分项许可) of a composite license."""

    code: str
    name: str
    department_code: str
    department_name: str
    number: str
    issued_on: date
    valid_until: date | None
    mandatory: bool = True


@dataclass(frozen=True)
class IssuingAuthority:
    """Who issues composite licenses: the name printed on the certificate and the region code in the number."""

    name: str
    region_code: str


@dataclass(frozen=True)
class LicenseDocument:
    number: str
    identifier: str  # 证照标识 (licenses.identifier): of this edition, printed and in the PDF's metadata
    holder_name: str
    uscc: str
    legal_representative: str
    business_address: str
    industry_code: str
    industry_name: str
    issued_at: datetime  # timezone-aware
    authority_name: str
    permits: tuple[PermitEntry, ...]

    def signed_content(self) -> SignedContent:
        """What goes into the QR token: no legal representative, no address, nothing personal."""
        return SignedContent(
            number=self.number,
            uscc=self.uscc,
            holder_name=self.holder_name,
            industry_code=self.industry_code,
            issued_at=self.issued_at.replace(microsecond=0),
            permits=tuple(SignedPermit(p.code, p.number, p.valid_until) for p in self.permits),
        )


def numbered_permits(license_number: str, permits: list[PermitEntry]) -> tuple[PermitEntry, ...]:
    """The permits with their numbers set by position, as the token expects."""
    return tuple(replace(p, number=permit_number(license_number, i)) for i, p in enumerate(permits, start=1))


def mask_name(name: str) -> str:
    """A person's name for public pages: first and last visible character kept (张三明 → 张*明, 李四 → 李*).

    Counted in visible characters: a combining accent stays with its letter, and characters that show nothing
    (zero-width, bidirectional controls; refused at input anyway) are dropped, so they cannot defeat the mask."""
    chars = _visible_characters(name.strip())
    if len(chars) <= 1:
        return "".join(chars)
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def _visible_characters(text: str) -> list[str]:
    clusters: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            continue
        if category in ("Mn", "Mc", "Me") and clusters:
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters
