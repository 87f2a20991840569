"""A real server for the browser tests: the app under uvicorn on a free 127.0.0.1 port in a thread, on its own
SQLite database and data folder, and the Chromium flags Debian's Chromium needs here."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

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
