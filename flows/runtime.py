"""One Prefect, owned: point the Prefect client at exactly one API before Prefect is imported, and start and stop
the Prefect server that the embedded deployment (`onelicense serve`, `onelicense demo`) runs beside itself.

Prefect reads its settings once, when it is first imported, so `configure` must run before anything imports
`prefect` (the CLI calls it first thing). Ephemeral mode is switched off: a process that has no API to talk to
fails with a clear message instead of quietly starting a temporary server of its own.

This module does not import Prefect."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from onelicense.errors import Unavailable
from onelicense.settings import Settings, get_settings

_PR_SET_PDEATHSIG = 1  # Linux prctl: the child gets this signal when its parent dies, even by SIGKILL
# The server we start runs what shows our runs (event persister, task run recorder) and what workers need; the
# services for schedules, automations and the like are off: nothing here uses them, and on a small machine their
# loops take CPU from the work.
LEAN_SERVER = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_LOGGER_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


class PrefectUnavailable(Unavailable):
    """Prefect's server could not be started or reached; the message names the setting to change."""

    @property
    def public_message(self) -> str:
        return self.message


def spawn_child(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A helper process of ours (a dispatcher, a Prefect worker) that dies with us, even if we are killed."""
    log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env if env is not None else dict(os.environ),
            preexec_fn=_die_with_parent,
        )


def stop_children(children: list[subprocess.Popen[bytes]], timeout: float = 15) -> None:
    """Interrupt every child (SIGINT: a Prefect worker shuts down on it, not on SIGTERM), wait for them, SIGKILL
    the ones that do not stop."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def configure(settings: Settings, api_url: str | None = None) -> None:
    """Set Prefect's environment: its home in our data folder, no telemetry, no ephemeral servers, and the API
    to use (`api_url`, else ONELICENSE_PREFECT_API_URL, else what PREFECT_API_URL already says)."""
    if "prefect" in sys.modules and api_url and os.environ.get("PREFECT_API_URL") != api_url:
        raise RuntimeError("configure() must run before Prefect is imported: its settings are read once")
    home = Path(os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home)))
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] = "false"
    os.environ.setdefault(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(int(settings.prefect_startup_timeout_seconds))
    )
    url = api_url or settings.prefect_api_url
    if url:
        os.environ["PREFECT_API_URL"] = url


def api_url_for(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def is_healthy(api_url: str, timeout: float = 1.0) -> bool:
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def configured_api_reachable(timeout: float = 2.0) -> bool | None:
    """Whether the Prefect API this process is configured with (the settings, else PREFECT_API_URL) answers; None
    when none is configured (`serve --api-only`, a process that starts no flow). For /readyz and `doctor`."""
    url = get_settings().prefect_api_url or os.environ.get("PREFECT_API_URL")
    return None if not url else is_healthy(url, timeout=timeout)


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class PrefectServer:
    """`prefect server start` as a child process that stops when we stop (SIGTERM, SIGINT, or our own death)."""

    def __init__(
        self,
        settings: Settings,
        port: int | None = None,
        *,
        database_url: str | None = None,
        home: Path | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.settings = settings
        self.port = port if port is not None else settings.prefect_port
        self.api_url = api_url_for(self.port)
        self.database_url = database_url
        self.home = home
        self.die_with_parent = die_with_parent  # False: a server shared by several processes outlives its starter
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, progress: Callable[[str], None] = lambda _: None) -> str:
        """Start the server and wait until it answers; returns its API URL. Refuses a port held by another
        process (a stale server from a run that was killed) instead of pretending to own it."""
        timeout = self.settings.prefect_startup_timeout_seconds
        if _port_taken(self.port):
            what = "一个 Prefect 服务器（可能是上次被强制结束时遗留的进程）" if is_healthy(self.api_url) else "其他程序"
            raise PrefectUnavailable(
                f"端口 {self.port} 已被{what}占用，本次不会使用它。请结束该进程（如 `fuser -k {self.port}/tcp`），"
                f"或用 ONELICENSE_PREFECT_PORT 指定其他端口，或用 ONELICENSE_PREFECT_API_URL 指向要使用的 Prefect 服务器。"
            )
        env = dict(os.environ)
        env.pop("PREFECT_API_URL", None)  # the server itself serves, it is no client of another
        env["PREFECT_HOME"] = str(self.home or os.environ.get("PREFECT_HOME", self.settings.prefect_home))
        for name, value in LEAN_SERVER.items():
            env.setdefault(name, value)
        env.setdefault("PREFECT_UI_ENABLED", "true")
        # the UI asks its browser to call this API: without it the UI names port 4200, whatever port it runs on
        env["PREFECT_SERVER_UI_API_URL"] = self.api_url
        env["PREFECT_SERVER_API_PORT"] = str(self.port)
        env.setdefault("PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT", "false")  # nothing fetched from outside
        database_url = self.database_url or self.settings.prefect_database_url
        if database_url:
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
        log_path = Path(env["PREFECT_HOME"]) / f"server-{self.port}.log"
        log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
                start_new_session=not self.die_with_parent,
            )
        from onelicense.services.priority import yield_to_requests

        yield_to_requests(self.process.pid)  # its runs' reports wait a moment behind the API's requests
        started = time.monotonic()
        announced = 0.0
        while time.monotonic() - started < timeout:
            if is_healthy(self.api_url):
                return self.api_url
            if self.process.poll() is not None:
                break
            waited = time.monotonic() - started
            if waited - announced >= 5:
                progress(f"正在启动 Prefect 服务器（已等待 {waited:.0f} 秒，最长 {timeout:.0f} 秒）…")
                announced = waited
            time.sleep(0.25)
        self.stop()
        raise PrefectUnavailable(
            f"Prefect 服务器在 {timeout:.0f} 秒内未能启动（日志：{log_path}）。"
            "机器较慢时可调大 ONELICENSE_PREFECT_STARTUP_TIMEOUT_SECONDS，"
            "或用 ONELICENSE_PREFECT_API_URL 指向已运行的 Prefect 服务器。"
        )

    def stop(self, timeout: float = 20) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def owned_prefect(settings: Settings, progress: Callable[[str], None] = lambda _: None) -> Iterator[str]:
    """The Prefect API this process uses: the one the settings or PREFECT_API_URL name, else a server started
    here for the duration of the block (stopped on the way out, also on SIGTERM). Call before importing Prefect."""
    named = settings.prefect_api_url or os.environ.get("PREFECT_API_URL")
    if named:
        configure(settings, named)
        yield named
        return
    configure(settings)
    server = PrefectServer(settings)
    url = server.start(progress)
    configure(settings, url)
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # unwind through the finally below
    try:
        yield url
    finally:
        signal.signal(signal.SIGTERM, previous)
        drain_prefect()
        server.stop()


def drain_prefect(timeout: float = 10) -> None:
    """Send Prefect's buffered logs and events before its server goes away (else they fail at exit)."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=timeout)


@contextlib.contextmanager
def without_heartbeats() -> Iterator[None]:
    """Flow runs started in this block (this thread) send no heartbeats. A heartbeat lets Prefect's server notice
    a crashed run; ours are driven by the outbox, whose leases already bring crashed work back, and the heartbeat
    thread costs up to a second at the end of every run while it is joined."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _raise_keyboard_interrupt(*_: object) -> None:
    raise KeyboardInterrupt
