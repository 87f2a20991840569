"""Fixtures shared by every test package. Keep this file small: package-specific helpers belong in the
package's own conftest.py.

- `db_url`: the URL of a freshly migrated, empty database. Parametrized: every test using it runs once on SQLite
  (a file in tmp_path) and once on PostgreSQL (a schema of its own at ONELICENSE_TEST_POSTGRES_URL, dropped
  afterwards). The PostgreSQL run carries the `postgres` marker and FAILS when the server is unreachable.
- `session`: a `sqlmodel.Session` on `db_url`, closed afterwards.
- `isolated_settings`: settings with ONELICENSE_DATA_DIR in tmp_path (and no database URL), cache cleared.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from onelicense.settings import Settings, get_settings
from store.db import dispose_engine, get_session, migrate

POSTGRES_URL = os.environ.get("ONELICENSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


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
        url = f"sqlite:///{tmp_path / 'test.db'}"
        migrate(url)
        yield url
        dispose_engine(url)
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # every connection of this URL starts with search_path = the test's own schema
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    try:
        migrate(url_text)
        yield url_text
    finally:
        dispose_engine(url_text)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


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


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[str]:
    """One Prefect API server for the whole run (flows in this process and in the workers the tests start),
    instead of a temporary server started and stopped again by every process and test module."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        url = PREFECT_API_URL.value()
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = url  # subprocesses (CLI, killed workers) use the same server
        try:
            yield url
        finally:
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous
