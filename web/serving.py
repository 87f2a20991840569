"""Running the API under uvicorn, with one or more worker processes.

With several workers uvicorn binds the listening socket itself and hands it to its worker processes. Since
uvicorn 0.55.0 (the fix of issue #3149, the floor in pyproject.toml) that listener says ``IPPROTO_TCP``, so the
connections it accepts get ``TCP_NODELAY`` from asyncio; before, Nagle's algorithm held every keep-alive response
behind the client's delayed ACK (~40 ms). tests/web/test_serving.py checks the connections our workers accept.

No connection is closed under a client that is using it (docs/operations.md, "Connections"): an idle keep-alive
connection stays open ONELICENSE_KEEP_ALIVE_SECONDS (75), longer than clients and reverse proxies keep theirs, so
it is always the client that closes an idle one (with uvicorn's 5 s, the same as httpx's, a client could send its
next request on a connection the server was closing that instant); a worker busy for seconds is not taken for a
hung one and killed with its connections; uvicorn's own concurrency limit stays off (our Admission answers 503).

Request heads are bounded in size (h11's incomplete-event limit, above the 8 KB URL limit of web.middleware) and in
time: uvicorn times out idle keep-alive connections only, so a client that opens a connection and sends its head a
byte at a time would hold it for ever; `HeadLimitedH11` closes it after HEAD_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

from onelicense.settings import get_settings
from onelicense.web.requestlog import logging_config

HEAD_TIMEOUT_SECONDS = 10.0
HEAD_MAX_BYTES = 64 * 1024
WORKER_HEALTHCHECK_SECONDS = 30
LISTEN_BACKLOG = 2048


class HeadLimitedH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head has not arrived within HEAD_TIMEOUT_SECONDS:
    of the connection, for its first request; of the head's first bytes, for the next ones. Between requests the
    connection is idle, and uvicorn's keep-alive timeout alone decides when it closes."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # the head arrived: the request's own time is the application's business
        elif self.conn.their_state is h11.IDLE and not self.conn.trailing_data[0]:
            self._disarm()  # nothing of a next request yet: an idle keep-alive connection
        elif self._head_timer is None:
            self._arm()  # part of a head (or of a refused body) waits in the buffer: the clock runs from now

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


def share_metrics(folder: Path) -> None:
    """Make the worker processes about to start keep their request metrics in `folder` (emptied first: the files
    of a previous run would add its counts), where any worker's /metrics reads them all."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def api_config(target: str, *, host: str, port: int, workers: int = 1, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration `run_api` serves with (`target`: an import string of an app factory)."""
    options.setdefault("http", HeadLimitedH11)
    # uvicorn applies it in each worker process too: the request id in every line of ours, JSON by setting
    options.setdefault("log_config", logging_config(as_json=get_settings().log_json))
    options.setdefault("access_log", False)  # web.requestlog writes the one line per request
    options.setdefault("h11_max_incomplete_event_size", HEAD_MAX_BYTES)
    # the server keeps an idle connection longer than any client or proxy does: they close it, never we under them
    options.setdefault("timeout_keep_alive", get_settings().keep_alive_seconds)
    # uvicorn kills a worker whose supervisor ping goes unanswered this long, and every connection with it: on a
    # machine busy with renders, 5 s (its default) is a slow worker, not a hung one
    options.setdefault("timeout_worker_healthcheck", WORKER_HEALTHCHECK_SECONDS)
    # connections waiting to be accepted (the kernel caps it at net.core.somaxconn): a burst of clients connecting
    # at once waits there instead of being refused; uvicorn's limit_concurrency stays unset, web.middleware's
    # Admission limits the requests worked on (idle keep-alive connections would count against uvicorn's)
    options.setdefault("backlog", LISTEN_BACKLOG)
    return uvicorn.Config(target, factory=True, host=host, port=port, workers=workers, **options)


def run_api(target: str, *, host: str, port: int, workers: int = 1, **options: Any) -> None:
    """Serve `target` (an import string of an app factory) on host:port with `workers` processes until stopped."""
    config = api_config(target, host=host, port=port, workers=workers, **options)
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()  # asyncio binds host:port itself, with the protocol set
    except KeyboardInterrupt:
        pass
    if workers == 1 and not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE: the reason is already in the log
