"""The API's listener, as `onelicense serve --api-workers N` binds it: accepted connections get TCP_NODELAY.

Without it (uvicorn before 0.55.0, issue #3149) every keep-alive response waits on the client's delayed ACK. What
the event loop sets on an accepted connection is checked directly, not timed."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import pickle
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.reduction import ForkingPickler

import httpx
import pytest

from onelicense.web.serving import api_config


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
    return api_config("onelicense.web.app:create_app", host="127.0.0.1", port=0, workers=2).bind_socket()


def test_our_listener_hands_workers_connections_without_nagle() -> None:
    listener = _listener()
    assert listener.proto == socket.IPPROTO_TCP
    # the supervisor hands the socket to its spawned workers by pickling; the protocol survives the trip
    handed = pickle.loads(ForkingPickler.dumps(listener))
    listener.close()
    assert handed.proto == socket.IPPROTO_TCP
    assert _accepted_nodelay(handed) == 1



def test_serve_api_only_answers_without_a_prefect_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The split topology's API (docs/durability.md): `serve --api-only` starts no Prefect server and no dispatcher."""
    def free() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    port, prefect_port = free(), free()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONELICENSE_", "PREFECT_"))}
    env.update(ONELICENSE_DATA_DIR=str(tmp_path / "data"), ONELICENSE_PREFECT_PORT=str(prefect_port))
    server = subprocess.Popen(
        [sys.executable, "-m", "onelicense", "serve", "--api-only", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve --api-only did not start"
            time.sleep(0.3)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{prefect_port}/api/health", timeout=2)
        assert not (tmp_path / "data" / "logs" / "dispatcher.log").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextlib.contextmanager
def _served() -> Iterator[int]:
    """The app under uvicorn with our configuration (web.serving.api_config), in a thread; yields its port."""
    import threading

    import uvicorn

    from onelicense.web import serving

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = serving.api_config("onelicense.web.app:create_app", host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _ask(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    return response.status


def test_a_request_head_that_never_completes_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slowloris: a connection that sends half a request head is closed after the head timeout; a whole request
    on the same server is answered."""
    from onelicense.web import serving

    monkeypatch.setattr(serving, "HEAD_TIMEOUT_SECONDS", 1.0)
    with _served() as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            started = time.monotonic()
            assert slow.recv(1024) == b""  # closed by the server, without an answer
            assert 0.5 < time.monotonic() - started < 5
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10).status_code == 200


def test_the_next_request_head_on_a_kept_connection_is_timed_from_its_first_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After an answer the connection may idle (keep-alive); once the next head begins it has the head timeout to
    complete, and a head that never completes is cut off there too."""
    from onelicense.web import serving

    monkeypatch.setattr(serving, "HEAD_TIMEOUT_SECONDS", 1.0)
    with _served() as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        assert _ask(connection) == 200
        time.sleep(1.5)  # idle past the head timeout: still open
        assert connection.sock is not None
        connection.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        assert connection.sock.recv(1024) == b""
        assert 0.5 < time.monotonic() - started < 5
        connection.close()


def test_a_client_idle_longer_than_uvicorns_default_keep_alive_reuses_its_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The keep-alive race: uvicorn closes an idle connection after 5 s by default, the very time httpx keeps one,
    so a client could send its next request on a connection the server was closing (a transport error, no answer).
    Our server keeps idle connections longer than clients and proxies do; a client idle 6 s gets its answer on the
    same connection."""
    from onelicense.web import serving

    monkeypatch.setattr(serving, "HEAD_TIMEOUT_SECONDS", 1.0)  # nor does the head timeout close an idle connection
    config = serving.api_config("onelicense.web.app:create_app", host="127.0.0.1", port=0)
    assert config.timeout_keep_alive > httpx.Limits().keepalive_expiry + 60  # httpx 5 s, nginx upstream 60 s
    with _served() as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        assert _ask(connection) == 200
        assert connection.sock is not None
        first = connection.sock.getsockname()
        time.sleep(6)
        assert _ask(connection) == 200
        assert connection.sock is not None and connection.sock.getsockname() == first  # the same connection
        connection.close()


def test_an_idle_connection_closes_after_the_keep_alive_setting(
    monkeypatch: pytest.MonkeyPatch, isolated_settings: object
) -> None:
    """The setting is what the server applies: past ONELICENSE_KEEP_ALIVE_SECONDS idle, the server closes."""
    from onelicense.settings import get_settings

    monkeypatch.setenv("ONELICENSE_KEEP_ALIVE_SECONDS", "1")
    get_settings.cache_clear()
    with _served() as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        assert _ask(connection) == 200
        assert connection.sock is not None
        started = time.monotonic()
        assert connection.sock.recv(1024) == b""  # closed by the server
        assert 0.5 < time.monotonic() - started < 5
        connection.close()
