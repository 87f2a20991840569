"""The API's listener, as `onelicense serve --api-workers N` binds it: accepted connections get TCP_NODELAY.

Without it (uvicorn before 0.55.0, issue #3149) every keep-alive response waits on the client's delayed ACK. What
the event loop sets on an accepted connection is checked directly, not timed."""

from __future__ import annotations

import asyncio
import pickle
import socket
from multiprocessing.reduction import ForkingPickler

from web.serving import api_config


def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection accepted by an asyncio server on `listener`, as uvicorn's workers serve."""

    async def probe() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Report(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Report, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            try:
                return await asyncio.wait_for(seen, 10)
            finally:
                writer.close()

    return asyncio.run(probe())


def _listener() -> socket.socket:
    return api_config("web.app:create_app", host="127.0.0.1", port=0, workers=2).bind_socket()


def test_our_listener_hands_workers_connections_without_nagle() -> None:
    listener = _listener()
    assert listener.proto == socket.IPPROTO_TCP
    # the supervisor hands the socket to its spawned workers by pickling; the protocol survives the trip
    handed = pickle.loads(ForkingPickler.dumps(listener))
    listener.close()
    assert handed.proto == socket.IPPROTO_TCP
    assert _accepted_nodelay(handed) == 1

