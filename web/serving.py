"""Running the API under uvicorn, with one or more worker processes.

uvicorn's multi-worker path binds the listening socket itself with ``proto`` left at 0; the connections it accepts
inherit that, and asyncio only turns ``TCP_NODELAY`` on for sockets that say ``IPPROTO_TCP``. Nagle's algorithm then
holds every keep-alive response behind the client's delayed ACK (~40 ms on Linux): two workers served a tenth of
what one did (uvicorn issue #3149). With several workers, the listener is bound here with the protocol set.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess


class TcpConfig(uvicorn.Config):
    """uvicorn's configuration whose listener says IPPROTO_TCP, so that accepted connections get TCP_NODELAY."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
            tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            tcp.set_inheritable(True)
            return tcp
        return sock


def run_api(target: str, *, host: str, port: int, workers: int = 1, **options: Any) -> None:
    """Serve `target` (an import string of an app factory) on host:port with `workers` processes until stopped."""
    config = TcpConfig(target, factory=True, host=host, port=port, workers=workers, **options)
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
