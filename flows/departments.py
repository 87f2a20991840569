"""Outbound calls to the departments' own systems (the edge we do not own), over one shared `httpx.Client`.

The client is made once per process from the settings (endpoints, timeout); tests hand it an
`httpx.MockTransport` through `use_transport`, or point the endpoints at a real local server."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from onelicense.errors import Unavailable
from onelicense.settings import get_settings


class DepartmentUnreachable(Unavailable):
    """The department's endpoint did not accept the push; the outbox keeps the message for a later retry."""


class DepartmentSystems:
    """The departments' endpoints and the one connection pool that reaches them."""

    def __init__(
        self,
        endpoints: Mapping[str, str],
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoints = dict(endpoints)
        self.client = httpx.Client(timeout=timeout, transport=transport)

    def endpoint_for(self, department_code: str) -> str | None:
        return self.endpoints.get(department_code)

    def push(self, department_code: str, payload: Mapping[str, Any], *, idempotency_key: str) -> None:
        """POST the department's key fields; the idempotency key lets the department drop a repeated push."""
        endpoint = self.endpoints[department_code]
        try:
            response = self.client.post(endpoint, json=dict(payload), headers={"Idempotency-Key": idempotency_key})
        except httpx.HTTPError as exc:
            raise DepartmentUnreachable(f"{endpoint}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise DepartmentUnreachable(f"{endpoint}: HTTP {response.status_code}")

    def close(self) -> None:
        self.client.close()


_lock = threading.Lock()
_current: tuple[tuple[object, ...], DepartmentSystems] | None = None
_transport: httpx.BaseTransport | None = None


def department_systems() -> DepartmentSystems:
    """The process's client for the current endpoints (rebuilt when they, the timeout or the transport change)."""
    global _current
    settings = get_settings()
    key = (tuple(sorted(settings.department_endpoints.items())), settings.department_push_timeout_seconds, _transport)
    with _lock:
        if _current is None or _current[0] != key:
            # the previous client is left to the garbage collector: another thread may still be pushing with it
            systems = DepartmentSystems(
                settings.department_endpoints,
                timeout=settings.department_push_timeout_seconds,
                transport=_transport,
            )
            _current = (key, systems)
        return _current[1]


@contextlib.contextmanager
def use_transport(transport: httpx.BaseTransport) -> Iterator[None]:
    """Within the block every push goes through `transport` (an `httpx.MockTransport` in tests)."""
    global _transport
    previous, _transport = _transport, transport
    try:
        yield
    finally:
        _transport = previous
