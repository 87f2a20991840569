"""Running the API under uvicorn, with one or more worker processes.

With several workers uvicorn binds the listening socket itself and hands it to its worker processes. Since
uvicorn 0.55.0 (the fix of issue #3149, the floor in pyproject.toml) that listener says ``IPPROTO_TCP``, so the
connections it accepts get ``TCP_NODELAY`` from asyncio; before, Nagle's algorithm held every keep-alive response
behind the client's delayed ACK (~40 ms). tests/web/test_serving.py checks the connections our workers accept.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess


def api_config(target: str, *, host: str, port: int, workers: int = 1, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration `run_api` serves with (`target`: an import string of an app factory)."""
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
