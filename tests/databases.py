"""Migrated databases for tests at the price of a copy.

Running the migrations costs ~0.4 s per database; a test starts instead from a copy of a database migrated once
per test process: a file copy for SQLite (~1 ms), `CREATE DATABASE … TEMPLATE` for PostgreSQL (~50 ms). The
product's own `migrate()` still runs on every copy (a no-op at head), so a template that fell behind would show.

Each process (pytest-xdist worker) keeps its own templates: PostgreSQL refuses to copy a template another session
is connected to, and a worker's template is never in use while it clones it. They are dropped at the end of the
process's session (`drop_templates`, called from tests/conftest.py)."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from onelicense.store.db import dispose_engine, migrate

POSTGRES_URL = os.environ.get("ONELICENSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_PROCESS = uuid.uuid4().hex[:10]  # names this process's template databases


@functools.cache
def sqlite_template() -> Path:
    """A SQLite file at the head migration, made once per process."""
    path = Path(tempfile.mkdtemp(prefix="onelicense-template-")) / "migrated.db"
    url = f"sqlite:///{path}"
    migrate(url)
    dispose_engine(url)  # the last connection closed: the WAL is checkpointed into the file
    return path


def sqlite_copy(target: Path) -> str:
    """A migrated SQLite database at `target` (created owner-only, as the product creates its own); its URL."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    shutil.copyfile(sqlite_template(), target)
    url = f"sqlite:///{target}"
    migrate(url)
    return url


def postgres_admin_engine() -> Engine:
    return create_engine(POSTGRES_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _database_url(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@functools.cache
def postgres_template() -> str:
    """The name of a PostgreSQL database at the head migration, made once per process."""
    name = f"onelicense_template_{_PROCESS}"
    admin = postgres_admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = _database_url(name)
    migrate(url)
    dispose_engine(url)  # no session may stay connected to a template
    return name


@contextmanager
def postgres_clone() -> Iterator[str]:
    """A migrated PostgreSQL database of the test's own, dropped afterwards; yields its URL."""
    template = postgres_template()
    name = f"onelicense_test_{uuid.uuid4().hex[:16]}"
    admin = postgres_admin_engine()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = _database_url(name)
        try:
            migrate(url)
            yield url
        finally:
            dispose_engine(url)
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def drop_templates() -> None:
    """Remove this process's templates (the SQLite folder, the PostgreSQL database) if it made any."""
    if sqlite_template.cache_info().currsize:
        shutil.rmtree(sqlite_template().parent, ignore_errors=True)
        sqlite_template.cache_clear()
    if postgres_template.cache_info().currsize:
        name = postgres_template()
        admin = postgres_admin_engine()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        postgres_template.cache_clear()
