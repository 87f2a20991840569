"""The id of the request being served (X-Request-ID), for whatever it causes: log lines and audit events. Set by
the web layer's middleware (web.requestlog) for each request; None in the worker, the CLI and the flows."""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
