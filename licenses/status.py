"""Status vocabulary (电子证照状态) and the rules deriving a permit's and the composite license's status.

Stored statuses change only through lifecycle operations; 失效 (expired) is never stored, it is computed from
``valid_until`` and the date of the check, so a license turns 失效 at midnight without any job running.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from onelicense.errors import TransitionNotAllowed


class LicenseStatus(StrEnum):
    VALID = "01"  # 有效
    SUSPENDED = "02"  # 暂扣
    WITHDRAWN = "03"  # 撤销
    CANCELLED = "04"  # 注销
    EXPIRED = "05"  # 失效 (computed, never stored)
    REVOKED = "07"  # 吊销

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[LicenseStatus, str] = {
    LicenseStatus.VALID: "有效",
    LicenseStatus.SUSPENDED: "暂扣",
    LicenseStatus.WITHDRAWN: "撤销",
    LicenseStatus.CANCELLED: "注销",
    LicenseStatus.EXPIRED: "失效",
    LicenseStatus.REVOKED: "吊销",
}

# When several mandatory permits are not valid, the composite shows the most lasting reason first.
_SEVERITY: tuple[LicenseStatus, ...] = (
    LicenseStatus.REVOKED,
    LicenseStatus.WITHDRAWN,
    LicenseStatus.CANCELLED,
    LicenseStatus.EXPIRED,
    LicenseStatus.SUSPENDED,
)


class Operation(StrEnum):
    """Lifecycle operations on a permit or a whole license."""

    ISSUE = "issue"  # 新发
    RENEW = "renew"  # 延续
    SUSPEND = "suspend"  # 暂扣
    RESTORE = "restore"  # 发还
    WITHDRAW = "withdraw"  # 撤销
    CANCEL = "cancel"  # 注销
    REVOKE = "revoke"  # 吊销

    @property
    def label(self) -> str:
        return OPERATION_LABELS[self]


OPERATION_LABELS: dict[Operation, str] = {
    Operation.ISSUE: "新发",
    Operation.RENEW: "延续",
    Operation.SUSPEND: "暂扣",
    Operation.RESTORE: "发还",
    Operation.WITHDRAW: "撤销",
    Operation.CANCEL: "注销",
    Operation.REVOKE: "吊销",
}

_ACTIVE = frozenset({LicenseStatus.VALID, LicenseStatus.SUSPENDED})

# operation → (stored statuses it may start from, stored status it leaves); renew keeps the status.
TRANSITIONS: dict[Operation, tuple[frozenset[LicenseStatus], LicenseStatus | None]] = {
    Operation.SUSPEND: (frozenset({LicenseStatus.VALID}), LicenseStatus.SUSPENDED),
    Operation.RESTORE: (frozenset({LicenseStatus.SUSPENDED}), LicenseStatus.VALID),
    Operation.WITHDRAW: (_ACTIVE, LicenseStatus.WITHDRAWN),
    Operation.CANCEL: (_ACTIVE, LicenseStatus.CANCELLED),
    Operation.REVOKE: (_ACTIVE, LicenseStatus.REVOKED),
    Operation.RENEW: (_ACTIVE, None),
}


def next_status(operation: Operation, stored: LicenseStatus, target: str) -> LicenseStatus:
    """The stored status after `operation`; raises TransitionNotAllowed naming `target` (e.g. the permit)."""
    allowed_from, to = TRANSITIONS[operation]
    if stored not in allowed_from:
        raise TransitionNotAllowed(
            f"{target} 当前状态为「{stored.label}」，不能执行「{operation.label}」", current=stored, target=operation
        )
    return stored if to is None else to


def permit_status(stored: LicenseStatus, valid_until: date | None, today: date) -> LicenseStatus:
    """A permit's status on `today`: its stored status, or 失效 once a valid permit is past its last valid day."""
    if stored is LicenseStatus.VALID and valid_until is not None and today > valid_until:
        return LicenseStatus.EXPIRED
    return stored


TERMINAL = frozenset({LicenseStatus.WITHDRAWN, LicenseStatus.CANCELLED, LicenseStatus.REVOKED})


@dataclass(frozen=True)
class EffectiveStatus:
    """A permit's status as every reader shows it (`status`), and the permit's own (`own`: its stored status, or 失效
    by its dates). The stored permit row keeps what its department decided, so a restored license shows its permits
    as they were."""

    status: LicenseStatus
    own: LicenseStatus

    @property
    def label(self) -> str:
        return self.status.label

    @property
    def by_license(self) -> bool:
        """True when the status comes from the whole license (e.g. 随许可证注销), not from the permit itself."""
        return self.status is not self.own

    @property
    def note(self) -> str | None:
        return f"随许可证{self.status.label}" if self.by_license else None


def effective_permit_status(
    license_stored: LicenseStatus, permit_stored: LicenseStatus, valid_until: date | None, today: date
) -> EffectiveStatus:
    """The more restrictive of the permit's own status on `today` and its license's stored status: a permit of a
    暂扣 license reads 暂扣, of a 注销, 撤销 or 吊销 license that status; of two restrictions the more lasting one
    (吊销 > 撤销 > 注销 > 失效 > 暂扣), the permit's own on a tie."""
    own = permit_status(permit_stored, valid_until, today)
    if license_stored is LicenseStatus.VALID or license_stored is LicenseStatus.EXPIRED:
        return EffectiveStatus(own, own)
    if own is LicenseStatus.VALID or _SEVERITY.index(license_stored) < _SEVERITY.index(own):
        return EffectiveStatus(license_stored, own)
    return EffectiveStatus(own, own)


@dataclass(frozen=True)
class PermitState:
    """What the composite derivation needs to know about one permit."""

    code: str
    status: LicenseStatus  # already derived with permit_status
    mandatory: bool = True


@dataclass(frozen=True)
class CompositeStatus:
    status: LicenseStatus
    blocking: tuple[str, ...]  # codes of the mandatory permits that make the composite not valid

    @property
    def label(self) -> str:
        return self.status.label


def composite_status(license_stored: LicenseStatus, permits: Iterable[PermitState]) -> CompositeStatus:
    """The composite license status (综合状态): 有效 only while the license and every mandatory permit is."""
    blocking = [p for p in permits if p.mandatory and p.status is not LicenseStatus.VALID]
    if license_stored is not LicenseStatus.VALID:
        return CompositeStatus(license_stored, tuple(p.code for p in blocking))
    if not blocking:
        return CompositeStatus(LicenseStatus.VALID, ())
    worst = min(blocking, key=lambda p: _SEVERITY.index(p.status))
    return CompositeStatus(worst.status, tuple(p.code for p in blocking))


def validity_end(issued_on: date, years: int | None) -> date | None:
    """The last valid day of a permit valid `years` years from `issued_on` (None: does not expire)."""
    if years is None:
        return None
    try:
        anniversary = issued_on.replace(year=issued_on.year + years)
    except ValueError:  # issued on 29 February, anniversary in a common year
        anniversary = date(issued_on.year + years, 3, 1)
    return anniversary - timedelta(days=1)
