"""One log line per request, and a request id in every log line it causes.

`X-Request-ID` is taken from the request when it is a sane token (what a proxy or a caller sets, so one id follows
a request across systems) or made here, and echoed in the response. The id sits in a context variable that a
logging filter copies into every record of the `onelicense` loggers — the request's line, the errors, the
notifications sent on its behalf. The request line names the method, the route's template, the status and the
time: no body, no query string, no value typed into the path, so nothing personal. JSON lines when
ONELICENSE_LOG_JSON is set (`logging_config`, applied by uvicorn in every worker process)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onelicense.correlation import REQUEST_ID

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
log = logging.getLogger("onelicense.web.request")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's id when it is a sane token, else a new one."""
    for name, value in headers:
        if name.lower() == HEADER.encode():
            text = value.decode("latin-1")
            if _SANE.match(text):
                return text
    return uuid.uuid4().hex


class RequestId:
    """ASGI middleware: the id in the context and the response header, and the request's one log line."""

    def __init__(
        self,
        app: ASGIApp,
        observe: Callable[[str, str, int, float], None] | None = None,
        templates: RouteTemplates | None = None,
    ) -> None:
        self.app = app
        self.observe = observe  # (method, route template, status, seconds): the request histogram of /metrics
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope.get("headers", []))
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER.encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            millis = (time.perf_counter() - started) * 1000
            # the route's template (/v/{token}, /api/applications/{application_id}), never the path as typed nor
            # its query: what a caller types there (a phone number in a search) stays out of the log
            found = (self.templates.of(scope) if self.templates else None) or getattr(scope.get("route"), "path", None)
            path = str(found or "-")
            if self.observe is not None:
                self.observe(scope["method"], path, status, millis / 1000)
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                path,
                status,
                millis,
                extra={"method": scope["method"], "path": path, "status": status, "ms": round(millis, 1)},
            )
            REQUEST_ID.reset(token)


class RouteTemplates:
    """The documented route template a request matched (/api/applications/{application_id}), from the OpenAPI
    document's paths: a route of a router included under a prefix knows only its own part of the path. Pages left
    out of the document (the portal's) fall back to their route's own path, which is whole there."""

    def __init__(self, paths: Callable[[], Iterable[str]]) -> None:
        self._paths = paths
        self._compiled: list[tuple[re.Pattern[str], str]] | None = None

    def of(self, scope: Scope) -> str | None:
        if scope.get("route") is None:
            return None  # nothing matched (a 404): no template, and the typed path is not logged
        if self._compiled is None:
            self._compiled = [(compile_path(p)[0], p) for p in self._paths()]
        path = scope["path"]
        return next((template for pattern, template in self._compiled if pattern.match(path)), None)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (or "-") to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, and the request line's fields."""

    FIELDS = ("method", "path", "status", "ms")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        entry.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(*, as_json: bool) -> dict[str, Any]:
    """The dictConfig uvicorn applies in the server and in each of its worker processes: uvicorn's own loggers as
    it ships them (its access log off: the request line here replaces it), and the `onelicense` loggers to stderr
    with the request id, as text or JSON."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = json.loads(json.dumps(LOGGING_CONFIG))  # a deep copy
    config["filters"] = {"request_id": {"()": RequestIdFilter}}
    config["formatters"]["onelicense"] = {"()": JsonFormatter} if as_json else {"format": TEXT_FORMAT}
    config["handlers"]["onelicense"] = {
        "class": "logging.StreamHandler",
        "formatter": "onelicense",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["onelicense"] = {"handlers": ["onelicense"], "level": "INFO", "propagate": False}
    return config
