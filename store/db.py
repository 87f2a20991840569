"""Engines, sessions and schema migrations for the store.

SQLite in `settings.data_dir` is the embedded default; `ONELICENSE_DATABASE_URL` selects PostgreSQL. Service
functions run their unit of work inside `transaction(session)` so a failure leaves nothing half-written."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from onelicense.errors import Broken, Unavailable
from onelicense.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK_ID = 0x0E1C  # any constant: serialises concurrent `migrate` calls on one PostgreSQL database

_engines: dict[str, Engine] = {}
_readers: dict[str, Engine] = {}  # the autocommit view of each engine, for read_scope
_migrated: set[str] = set()
_lock = threading.Lock()


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else ONELICENSE_DATABASE_URL, else the SQLite file in the data folder."""
    return url or get_settings().effective_database_url


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url`, created once per URL and process."""
    url = database_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
        return engine


def dispose_engine(url: str | None = None) -> None:
    """Close the pooled connections of one URL and forget its engine (tests drop their database afterwards)."""
    url = database_url(url)
    with _lock:
        engine = _engines.pop(url, None)
        _readers.pop(url, None)
        _migrated.discard(url)
    if engine is not None:
        engine.dispose()


def get_session(url: str | None = None) -> Session:
    """A new session; the caller closes it. Objects stay readable after the commit a service function makes."""
    return Session(get_engine(url), expire_on_commit=False)


@contextlib.contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """`with session_scope() as session:` a session closed at the end, rolled back if the block raises."""
    session = get_session(url)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextlib.contextmanager
def read_scope(url: str | None = None) -> Iterator[Session]:
    """A session for one read that needs no transaction (the public verification's single statement). On
    PostgreSQL it runs in autocommit: no BEGIN and no ROLLBACK round trips, which halves the lookup. Never write
    through it."""
    url = database_url(url)
    with _lock:
        reader = _readers.get(url)
    if reader is None:
        engine = get_engine(url)
        # SQLite opens no transaction for a lone SELECT anyway, and its in-memory connection is shared
        reader = engine if engine.dialect.name == "sqlite" else engine.execution_options(isolation_level="AUTOCOMMIT")
        with _lock:
            _readers[url] = reader
    with Session(reader) as session:
        yield session


@contextlib.contextmanager
def transaction(session: Session, *, commit: bool = True) -> Iterator[Session]:
    """One unit of work: commit at the end, roll back everything on any error.

    `commit=False` lets another service include this work in its own transaction (it commits, or rolls back)."""
    try:
        yield session
        if commit:
            session.commit()
    except BaseException:
        session.rollback()
        raise


def migrate(url: str | None = None) -> None:
    """Bring the database schema to the latest Alembic revision (idempotent; cheap when already done)."""
    url = database_url(url)
    if url in _migrated:
        return
    engine = get_engine(url)
    with _migration_lock(engine), engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # batch mode rebuilds a table (copy, drop, rename): with foreign keys on, dropping a table other rows
            # refer to fails once there are rows. Off before the transaction begins, checked before it commits
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK_ID})")
                config = alembic_config()
                _refuse_a_newer_schema(connection, ScriptDirectory.from_config(config))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                from onelicense.store.calendar import seed_shipped_years  # a release's newly shipped calendar years

                seed_shipped_years(connection)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise Broken("数据库升级后有记录引用了不存在的记录（外键检查未通过）：升级已撤销")
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    with _lock:
        _migrated.add(url)


def _refuse_a_newer_schema(connection: Any, scripts: ScriptDirectory) -> None:
    """A database that a newer release upgraded is not touched by an older one (a rollback of the code after an
    upgrade): its revision is unknown here, and running on it would read and write columns this code does not know."""
    current = MigrationContext.configure(connection).get_current_revision()
    known = {revision.revision for revision in scripts.walk_revisions()}
    if current is not None and current not in known:
        raise Unavailable(
            f"数据库结构版本（{current}）比本程序所知的最新版本（{scripts.get_current_head()}）更新："
            "它已由更新版本的 onelicense 升级。请运行该版本（或更新的版本），不要用旧版本操作此数据库"
        )


def require_schema(url: str | None = None) -> None:
    """Unavailable unless the database is at the latest schema revision (read commands check, never migrate)."""
    url = database_url(url)
    if url in _migrated:
        return
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        with get_engine(url).connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise Unavailable(f"无法连接数据库：{type(exc).__name__}") from exc
    if current != head:
        with get_engine(url).connect() as connection:
            _refuse_a_newer_schema(connection, ScriptDirectory.from_config(alembic_config()))
        state = "尚未初始化" if current is None else f"结构版本（{current}）不是最新（{head}）"
        raise Unavailable(f"数据库{state}：请先运行 onelicense db upgrade")
    with _lock:
        _migrated.add(url)


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration built in code, so migrations run from any working directory and installed package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _create_engine(url: str) -> Engine:
    sa_url = make_url(url)
    settings = get_settings()
    # sized for the server's concurrency (the API's thread pool, the dispatcher's threads): a request never waits
    # for a connection another request holds idle; a short timeout turns a real shortage into a clean 503
    pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_pool_size // 2, "pool_timeout": 10}
    if sa_url.get_backend_name() != "sqlite":
        return create_engine(sa_url, pool_pre_ping=True, json_serializer=_json_dumps, **pool)
    database = sa_url.database or ":memory:"
    in_memory = database == ":memory:" or "mode=memory" in database
    if not in_memory:
        _private_file(Path(database).expanduser())
    engine = create_engine(
        sa_url,
        json_serializer=_json_dumps,
        # pooled connections move between threads (web workers, flow tasks)
        connect_args={"check_same_thread": False},
        # an in-memory database lives in one connection, which must then be shared
        poolclass=StaticPool if in_memory else None,
        **({} if in_memory else pool),
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _private_file(path: Path) -> None:
    """Create the database file (and its folder) readable by the owner only: it holds personal data. SQLite gives
    its -wal and -shm files the same permissions."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA busy_timeout=30000")  # writers queue instead of failing with "database is locked"
    cursor.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode, much faster than FULL
    cursor.close()


def _json_dumps(value: Any) -> str:
    # keep Chinese text readable in the database; json escapes control characters either way
    return json.dumps(value, ensure_ascii=False)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations of one SQLite file across processes (PostgreSQL uses an advisory lock instead)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).expanduser().with_name(Path(database).name + ".migrate.lock")
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
