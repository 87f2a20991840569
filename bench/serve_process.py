"""A real `onelicense serve` in a child process for the benchmarks that drive the server over HTTP (load.py,
portal.py): its own free ports (API and Prefect), the caller's ONELICENSE_ settings, stopped with SIGINT."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

READY = re.compile(r"API process \d+ ready")  # onelicense.web.app.READY, one line per API process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_serve(log_folder: Path, api_workers: int = 1, startup_seconds: float = 240) -> Iterator[str]:
    """The base URL of a `serve` whose API processes all answer; its output goes to `log_folder/serve.log`."""
    port = free_port()
    log = log_folder / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(ONELICENSE_PREFECT_PORT=str(free_port()), PREFECT_LOGGING_LEVEL="WARNING")
    server = subprocess.Popen(
        [sys.executable, "-m", "onelicense", "serve", "--port", str(port), "--api-workers", str(api_workers)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while time.monotonic() < deadline:
            try:
                # every API process ready (web.app logs it when it starts accepting): with one of two ready, the
                # first burst of a benchmark would all land on that one
                ready = len(READY.findall(log.read_text(errors="replace")))
                if ready >= api_workers and httpx.get(f"{base}/api/industries", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
