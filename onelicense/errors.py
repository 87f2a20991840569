"""The one root of every error onelicense raises on purpose, and the one table that turns it into an answer.

Every error a user can cause or meet is a `OneLicenseError` whose `kind` says what happened; `ErrorKind` is the
only place that maps a kind to an HTTP status and a Chinese title, used alike by the API, the portal and the CLI.

    OneLicenseError                         kind            status
    ├── InvalidRequest                      INVALID         422   input that cannot be used as given
    │   ├── forms.errors.ValidationFailed   INVALID         422   `errors` names every bad field
    │   │   └── forms.errors.SubmissionRefused                    pre-review (预审) blocked it: `findings`
    │   └── licenses.errors.LicenseError    INVALID         422   numbering, tokens (MalformedToken ...)
    ├── Unauthenticated                     UNAUTHENTICATED 401   wrong password, locked account, expired session
    ├── NotFound                            NOT_FOUND       404   (forms.errors.UnknownIndustry ...)
    ├── Forbidden                           FORBIDDEN       403   the actor's role or department does not allow it
    ├── Conflict                            CONFLICT        409   someone changed it first; reload and retry
    │   └── TransitionNotAllowed            CONFLICT        409   the state table does not allow the change
    ├── TooManyRequests                     TOO_MANY        429   a rate limit: `retry_after` seconds
    ├── Unavailable                         UNAVAILABLE     503   (licenses.errors.KeyStoreError ...) try later
    │   └── NotReady                                              work in progress (a certificate being rendered)
    └── Broken                              BROKEN          500   our own data is wrong (forms.errors.CatalogError)

Importing this module has no side effects and it imports nothing of ours, so every layer may raise these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, ClassVar


class ErrorKind(Enum):
    """What went wrong, as the caller needs to know it: the HTTP status and a Chinese title for each."""

    INVALID = (422, "请求内容有误")
    UNAUTHENTICATED = (401, "未认证")
    FORBIDDEN = (403, "无权执行此操作")
    NOT_FOUND = (404, "请求的资源不存在")
    CONFLICT = (409, "操作与当前状态冲突")
    TOO_LARGE = (413, "请求内容过大")
    TOO_MANY = (429, "请求过于频繁，请稍后再试")
    UNAVAILABLE = (503, "服务暂时不可用，请稍后重试")
    BROKEN = (500, "服务器内部错误，请稍后重试")

    def __init__(self, http_status: int, title: str) -> None:
        self.http_status = http_status
        self.title = title


class OneLicenseError(Exception):
    """Root of our errors. `message` is the Chinese text a user reads; subclasses set `kind`.

    `errors` (per field: key, label, reason, message) and `findings` (预审 results) are plain dicts so that every
    entry point can show them without importing the domain that raised them."""

    kind: ClassVar[ErrorKind] = ErrorKind.INVALID

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        findings: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self._errors = [dict(e) for e in errors]
        self._findings = [dict(f) for f in findings]

    @property
    def http_status(self) -> int:
        return self.kind.http_status

    @property
    def public_message(self) -> str:
        """What may be shown to the caller; an outage hides its cause (paths, permissions) behind its title."""
        return self.message

    @property
    def for_person(self) -> str:
        """The message as a page shows it to a person (no field keys: those are for API clients)."""
        return self.public_message

    def error_dicts(self) -> list[dict[str, Any]]:
        return list(self._errors)

    def finding_dicts(self) -> list[dict[str, Any]]:
        return list(self._findings)

    def __str__(self) -> str:
        return self.message


class InvalidRequest(OneLicenseError):
    """The input cannot be used as given (missing opinion, NUL characters, an unknown status ...)."""

    kind = ErrorKind.INVALID


class Unauthenticated(OneLicenseError):
    """Wrong account or password, a locked account, a signed-out or expired session."""

    kind = ErrorKind.UNAUTHENTICATED


class NotFound(OneLicenseError):
    """No such application, review, license or message."""

    kind = ErrorKind.NOT_FOUND


class Forbidden(OneLicenseError):
    """The actor's role or department does not allow this."""

    kind = ErrorKind.FORBIDDEN


class Conflict(OneLicenseError):
    """Someone else changed the thing first (stale version, already claimed by another reviewer): reload, retry."""

    kind = ErrorKind.CONFLICT


class TransitionNotAllowed(Conflict):
    """A state change that a transition table does not allow (deciding a decided review, restoring a valid
    permit): the state moved on, so the request conflicts with it."""

    def __init__(self, message: str, *, current: object, target: object) -> None:
        super().__init__(message)
        self.current = current
        self.target = target

    @property
    def public_message(self) -> str:
        return f"操作与当前状态冲突：{self.message}，请刷新后重试"


class TooManyRequests(OneLicenseError):
    """A rate limit was reached (sign-ins, registrations, SMS codes): try again after `retry_after` seconds."""

    kind = ErrorKind.TOO_MANY

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class Unavailable(OneLicenseError):
    """A part we depend on is down or unreadable; the caller may try again later."""

    kind = ErrorKind.UNAVAILABLE

    @property
    def public_message(self) -> str:
        return self.kind.title


class NotReady(Unavailable):
    """Work still in progress (a certificate being rendered): come back in a moment. The message says what."""

    @property
    def public_message(self) -> str:
        return self.message


class Broken(OneLicenseError):
    """Our own data or configuration is wrong (a broken catalog file): not the caller's fault."""

    kind = ErrorKind.BROKEN
