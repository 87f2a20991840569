"""What every response and every request body goes through, before any route: security headers (and
`Cache-Control: no-store` unless an answer says otherwise), HEAD answered for every GET, and limits on the size of
the request line and body (refused early, in Chinese, before a byte of an oversized body is held).

Pure ASGI middleware, so a refused request never reaches the app, and nothing is parsed before it is allowed."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import IO, Any

import anyio

from onelicense.web.public import refusal_html

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# pages and answers are never framed, never sniffed, and never leak the token-bearing /v/ URL as a referrer
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# the interactive API documentation (web.docs): its scripts are files of ours, but Swagger UI and ReDoc style their
# elements inline and ReDoc searches in a worker it starts from a blob
_DOCS_CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    b"worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_DOCS = ("/docs", "/redoc")
SPOOL_MEMORY = 1 << 20  # an upload's body beyond this much goes to a temporary file, not memory
SPOOL_CHUNK = 1 << 16


# files that are the same for everyone may be kept by a cache; every other answer may carry personal data
_CACHEABLE = ("/static/",)


class Guard:
    """Security headers on every response, `Cache-Control: no-store` on every answer that does not set its own
    (an application answer holds ID numbers, phones, addresses); HEAD answered as GET without the body (routes
    declare GET only); 414 for an over-long URL, 413 for an oversized body, 401 for a body without credentials on
    the API (so an anonymous client cannot make the server read megabytes)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_url_bytes: int = 8192,
        larger_bodies: Sequence[tuple[re.Pattern[str], int]] = (),
        credentials: Callable[[Mapping[bytes, bytes]], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_url_bytes = max_url_bytes
        self.larger_bodies = list(larger_bodies)  # (path pattern, limit): file uploads
        # asked (in a worker thread: it reads the database) before an upload's body is read
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        send = self._with_headers(scope, send)
        url_bytes = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
        if url_bytes > self.max_url_bytes:
            await _refuse(send, 414, f"请求网址过长（最多 {self.max_url_bytes} 字节）", page=_page_request(scope))
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            limit = self._limit(scope["path"])
            headers = dict(scope.get("headers") or [])
            declared = headers.get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                await _refuse(send, 413, self._too_large(limit), page=_page_request(scope))
                return
            has_body = declared not in (None, b"0") or b"chunked" in headers.get(b"transfer-encoding", b"")
            if has_body and scope["path"].startswith("/api/") and not headers.get(b"authorization"):
                await _refuse(
                    send,
                    401,
                    "未认证：请在 Authorization 请求头中提供访问令牌（Bearer）",
                    {"www-authenticate": "Bearer"},
                )
                return
            if limit > self.max_body_bytes:  # an upload: who sends it is known before a byte of it is read
                if self.credentials is not None and not await anyio.to_thread.run_sync(self.credentials, headers):
                    if scope["path"].startswith("/api/"):
                        await _refuse(
                            send,
                            401,
                            "未认证：请在 Authorization 请求头中提供有效的访问令牌（Bearer）后再上传文件",
                            {"www-authenticate": "Bearer"},
                        )
                    else:
                        await _refuse(send, 401, "未认证：请先登录后再上传文件", page=_page_request(scope))
                    return
                spooled = await self._spool(receive, limit)
                if spooled is None:
                    await _refuse(send, 413, self._too_large(limit), page=_page_request(scope))
                    return
                receive = _replay_file(spooled, receive)
            else:
                body = await self._read(receive, limit)
                if body is None:
                    await _refuse(send, 413, self._too_large(limit), page=_page_request(scope))
                    return
                receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _limit(self, path: str) -> int:
        return next((limit for pattern, limit in self.larger_bodies if pattern.fullmatch(path)), self.max_body_bytes)

    @staticmethod
    def _too_large(limit: int) -> str:
        return f"请求内容过大（最多 {limit // 1024} KB）"

    async def _read(self, receive: Receive, limit: int) -> bytes | None:
        """The whole body, or None as soon as it passes the limit (a chunked body declares no length)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    async def _spool(self, receive: Receive, limit: int) -> IO[bytes] | None:
        """The whole body in a temporary file (memory up to SPOOL_MEMORY, disk beyond), or None past the limit."""
        spooled: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 (replayed later)
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                spooled.close()
                return None
            spooled.write(chunk)
            if not message.get("more_body"):
                break
        spooled.seek(0)
        return spooled

    def _with_headers(self, scope: Scope, send: Send) -> Send:
        csp = _DOCS_CSP if scope["path"] in _DOCS else _CSP

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in [*_HEADERS, (b"content-security-policy", csp)] if n not in present]
                if b"cache-control" not in present and not scope["path"].startswith(_CACHEABLE):
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        return sending


class Admission:
    """At most `limit` requests worked on at once in this process; one more waits up to `wait` seconds for a slot,
    then gets a clean 503 with Retry-After. A busy morning slows the server down, it never breaks it."""

    def __init__(self, app: ASGIApp, *, limit: int, wait: float = 5.0) -> None:
        self.app = app
        self.limit = limit
        self.wait = wait
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made in the server's own event loop
            self._slots = asyncio.Semaphore(self.limit)
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.wait)
        except TimeoutError:
            await _refuse(send, 503, "服务繁忙，请稍后重试", {"retry-after": "2"})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


def _without_body(send: Send) -> Send:
    """The answer to GET with its headers (Content-Length included, as RFC 9110 allows for HEAD) and no body."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return sending


def _replay(body: bytes, original: Receive) -> Receive:
    """The body read ahead, then the connection's own messages (a later disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _replay_file(body: IO[bytes], original: Receive) -> Receive:
    """A spooled body in chunks, closed once sent, then the connection's own messages."""

    async def receive() -> Message:
        if body.closed:
            return await original()
        chunk = body.read(SPOOL_CHUNK)
        more = bool(chunk) and body.tell() < _size(body)
        if not more:
            body.close()
        return {"type": "http.request", "body": chunk, "more_body": more}

    return receive


def _size(body: IO[bytes]) -> int:
    here = body.tell()
    end = body.seek(0, 2)
    body.seek(here)
    return end


async def _refuse(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None, *, page: str | None = None
) -> None:
    """Answer `status` with `detail`: JSON, or a page when `page` is the path of a browser's page request."""
    if page is not None:
        body = refusal_html(_TITLES.get(status, "请求未被接受"), detail, page).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"detail": detail, "errors": [], "findings": []}, ensure_ascii=False).encode()
        content_type = b"application/json; charset=utf-8"
    raw = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


_TITLES = {413: "文件或内容过大", 414: "网址过长", 401: "请先登录"}


def _page_request(scope: Scope) -> str | None:
    """The path, when a browser asked for a page (not the API, not JSON; htmx reads the page too), else None."""
    if scope["path"].startswith("/api/"):
        return None
    headers = dict(scope.get("headers") or [])
    if b"text/html" in headers.get(b"accept", b"") or b"hx-request" in headers:
        return str(scope["path"])
    return None
