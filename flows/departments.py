"""Outbound calls to the departments' own systems over httpx (the edge we do not own)."""

from __future__ import annotations

from typing import Any

import httpx

from onelicense.settings import get_settings


class DepartmentUnreachable(Exception):
    """The department's endpoint did not accept the push; the outbox keeps the message for a later retry."""


def endpoint_for(department_code: str) -> str | None:
    return get_settings().department_endpoints.get(department_code)


def push(endpoint: str, payload: dict[str, Any], *, idempotency_key: str, timeout: float = 5.0) -> None:
    """POST the department's key fields; the idempotency key lets the department drop a repeated push."""
    try:
        response = httpx.post(endpoint, json=payload, timeout=timeout, headers={"Idempotency-Key": idempotency_key})
    except httpx.HTTPError as exc:
        raise DepartmentUnreachable(f"{endpoint}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise DepartmentUnreachable(f"{endpoint}: HTTP {response.status_code}")
