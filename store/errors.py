"""Typed errors of the store's service functions, each with a Chinese message a user can act on.

`http_status(exc)` gives the status code the web layer should answer with."""

from __future__ import annotations

from review.transitions import TransitionNotAllowed

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "StoreError",
    "TransitionNotAllowed",
    "http_status",
]


class StoreError(Exception):
    """Base class: `message` is the Chinese text to show."""

    http_status = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class NotFound(StoreError):
    """No such application, review or message."""

    http_status = 404


class Forbidden(StoreError):
    """The actor's role or department does not allow this."""

    http_status = 403


class Conflict(StoreError):
    """Someone else changed the thing first (stale version, already claimed by another reviewer): reload, retry."""

    http_status = 409


class InvalidRequest(StoreError):
    """The input cannot be stored as given (missing opinion, permits without a department, NUL characters...)."""

    http_status = 422


def http_status(exc: BaseException) -> int:
    """The HTTP status for a store or transition error; 500 for anything unexpected."""
    if isinstance(exc, StoreError):
        return exc.http_status
    if isinstance(exc, TransitionNotAllowed):
        return 409  # the state moved on (e.g. already decided): the request conflicts with it
    return 500
