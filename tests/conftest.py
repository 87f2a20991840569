"""Fixtures shared by every test package. Keep this file small: package-specific helpers belong in the
package's own conftest.py.

- `db_url`: the URL of a migrated, empty database. Parametrized: every test using it runs once on SQLite (a file in
  tmp_path) and once on PostgreSQL (a database of its own at ONELICENSE_TEST_POSTGRES_URL, dropped afterwards), each
  a copy of a template migrated once per process (tests/databases.py). The PostgreSQL run carries the `postgres`
  marker and FAILS when the server is unreachable.
- `session`: a `sqlmodel.Session` on `db_url`, closed afterwards.
- `isolated_settings`: settings with ONELICENSE_DATA_DIR in tmp_path (and no database URL), cache cleared.
- `prefect_api`: the one Prefect server of the run, started on first use (see below).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from onelicense.flows.runtime import PrefectServer, api_url_for, is_healthy
from onelicense.settings import Settings, get_settings
from onelicense.store.db import dispose_engine, get_session
from tests import databases
from tests.databases import POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the test PostgreSQL database, used to create and drop the per-test schemas."""
    engine = create_engine(POSTGRES_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {POSTGRES_URL} ({exc.orig}). Start it, or point "
            "ONELICENSE_TEST_POSTGRES_URL at a server: the PostgreSQL tests must not be skipped.",
            pytrace=False,
        )
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = databases.sqlite_copy(tmp_path / "test.db")
        yield url
        dispose_engine(url)
        return
    request.getfixturevalue("postgres_admin")  # fails, never skips, when the server is unreachable
    with databases.postgres_clone() as url:
        yield url


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    session = get_session(db_url)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ONELICENSE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


# --- one Prefect server for the whole run -------------------------------------------------------------------
# Prefect reads PREFECT_API_URL once, when it is imported, so the address is fixed before any test module loads
# (here, in the controller; pytest-xdist workers inherit the environment). The server itself starts only when a
# test asks for `prefect_api`: a run of the pure suites never starts one, and however many workers run, the
# first one that needs it starts it (under a file lock) and the others find it running. The controller stops it.

_RUN_DIR = "ONELICENSE_TEST_RUN_DIR"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(_RUN_DIR):  # an xdist worker: the controller set everything up
        return
    run_dir = Path(tempfile.mkdtemp(prefix="onelicense-tests-"))
    os.environ[_RUN_DIR] = str(run_dir)
    os.environ["PREFECT_API_URL"] = api_url_for(_free_port())
    os.environ["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] = "false"  # a test that forgets `prefect_api` fails loudly
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def pytest_sessionfinish(session: pytest.Session) -> None:
    databases.drop_templates()  # this process's (each xdist worker has its own)


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    run_dir = Path(os.environ.pop(_RUN_DIR, "") or ".")
    pid_file = run_dir / "prefect.pid"
    if pid_file.is_file():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
    if run_dir.name.startswith("onelicense-tests-"):
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_api() -> str:
    """The run's Prefect API, started on first use (flows, the dispatcher, the CLI and the demo need it)."""
    url = os.environ["PREFECT_API_URL"]
    run_dir = Path(os.environ[_RUN_DIR])
    with (run_dir / "prefect.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_healthy(url):
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            server = PrefectServer(Settings(), port, home=run_dir / "prefect-home", die_with_parent=False)
            server.start()
            assert server.process is not None
            (run_dir / "prefect.pid").write_text(str(server.process.pid))
    return url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
