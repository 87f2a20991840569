"""A real server for the browser tests: the app under uvicorn on a free 127.0.0.1 port in a thread, on its own
SQLite database and data folder, and the Chromium flags Debian's Chromium needs here."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from onelicense.flows.dispatcher import dispatch_once
from onelicense.review.roles import Actor, Role
from onelicense.services.adapters import registry
from onelicense.settings import get_settings
from onelicense.store.db import dispose_engine, migrate, session_scope
from onelicense.web.app import create_app
from tests.web.sample import REGISTERED

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def live_server(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of a started server; settings point the test's own code at the same database."""
    url = f"sqlite:///{folder / 'live.db'}"
    port = free_port()
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", url)
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(folder / "data"))
    monkeypatch.setenv("ONELICENSE_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("ONELICENSE_DEPARTMENT_ENDPOINTS", raising=False)
    get_settings.cache_clear()
    migrate(url)
    with session_scope(url) as session:  # the business the sample answers name, in the registry's stand-in
        registry.import_entries(session, Actor("test-setup", Role.ADMIN), [REGISTERED])
    uv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", url
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        dispose_engine(url)
        get_settings.cache_clear()


def wait_until_answering(
    url: str, process: subprocess.Popen[bytes], seconds: float = 90, headers: dict[str, str] | None = None
) -> None:
    """Poll `url` until it answers 200 (a served process starting); fail if `process` ends first or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2, headers=headers).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process.poll() is None, f"the server ended with {process.returncode} before {url} answered"
        assert time.monotonic() < deadline, f"{url} did not answer within {seconds} s"
        time.sleep(0.3)


def run_dispatcher_until(predicate: Callable[[], bool], seconds: float = 120) -> None:
    """Run the outbox dispatcher (what `onelicense worker` does) until `predicate` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        dispatch_once()
        time.sleep(0.1)
    assert predicate(), "the dispatcher did not get there"
