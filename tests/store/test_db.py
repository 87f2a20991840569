"""Engine, migrations and column types: the schema Alembic builds is the one the models describe, on SQLite
and PostgreSQL; the audit log is append-only; datetimes are aware UTC."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, StatementError
from sqlmodel import Session

import onelicense.store.tables
from onelicense.clock import CHINA_TIME
from onelicense.settings import Settings
from onelicense.store import audit
from onelicense.store.db import (
    alembic_config,
    dispose_engine,
    get_engine,
    get_session,
    migrate,
    read_scope,
    session_scope,
)
from onelicense.store.tables import Application
from onelicense.store.tables.types import UTCDateTime
from tests.builders import APPLICANT
from tests.store.conftest import SubmitFn

APPLICATION_SIDE_TABLES = {
    "applications",
    "department_reviews",
    "decision_records",
    "audit_events",
    "outbox_messages",
    "users",
}


def test_migrations_create_every_table_of_the_models(db_url: str) -> None:
    tables = set(inspect(get_engine(db_url)).get_table_names())
    assert tables >= APPLICATION_SIDE_TABLES
    assert set(onelicense.store.tables.metadata.tables) <= tables


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    """Nothing for autogenerate to add: whoever changes a table must add a migration."""
    with get_engine(db_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, onelicense.store.tables.metadata)
    assert differences == []


def test_migration_0012_numbers_the_draws_recorded_before_by_beijing_day(db_url: str) -> None:
    """Draws recorded before a redraw needed a reason get their Beijing date and their place in that day; the
    downgrade takes the columns away again."""
    engine = get_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
    draws = sa.table(
        "inspection_draws",
        *(sa.column(name) for name in ("id", "seed", "drawn_by", "population_digest")),
        sa.column("drawn_at", UTCDateTime()),
        *(sa.column(name, sa.JSON()) for name in ("quotas", "population", "selected")),
    )
    late = datetime(2026, 12, 10, 23, 59, tzinfo=CHINA_TIME)
    recorded = {"a": late, "b": late + timedelta(minutes=2), "c": late + timedelta(hours=9), "d": late}
    with engine.begin() as connection:
        common = {
            "drawn_by": "supervisor",
            "population_digest": "0" * 64,
            "quotas": {},
            "population": {},
            "selected": {},
        }
        rows = [{"id": key, "seed": key, "drawn_at": at, **common} for key, at in recorded.items()]
        connection.execute(draws.insert(), rows)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        numbered = connection.execute(text("SELECT id, drawn_on, day_sequence, reason FROM inspection_draws")).all()

    first, second = date(2026, 12, 10), date(2026, 12, 11)  # 00:01 in Beijing is still the 10th in UTC
    assert {row[0]: (str(row[1]), row[2], row[3]) for row in numbered} == {
        "a": (str(first), 1, None),
        "d": (str(first), 2, None),  # drawn at the same instant as "a": ordered by id
        "b": (str(second), 1, None),
        "c": (str(second), 2, None),
    }


def test_a_database_a_newer_release_upgraded_is_refused_and_left_untouched(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22: the code rolled back after an upgrade must not run on (or "upgrade") the newer schema."""
    from typer.testing import CliRunner

    from onelicense.cli import app
    from onelicense.errors import Unavailable
    from onelicense.settings import get_settings
    from onelicense.store.db import require_schema

    with get_engine(db_url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_a_newer_release'"))
    dispose_engine(db_url)  # forget that this process migrated it
    with pytest.raises(Unavailable, match=r"比本程序所知的最新版本.*更新"):
        migrate(db_url)
    with pytest.raises(Unavailable, match="不要用旧版本操作此数据库"):
        require_schema(db_url)
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "0099_from_a_newer_release" in result.output, result.output
    with get_engine(db_url).connect() as connection:
        stamped = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert stamped == "0099_from_a_newer_release"  # nothing was run against it


def test_migrate_twice_is_harmless(db_url: str) -> None:
    dispose_engine(db_url)  # forget that this process migrated already
    migrate(db_url)
    migrate(db_url)


def test_audit_log_refuses_updates_and_deletes(session: Session, submit: SubmitFn) -> None:
    first = submit()
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    (event,) = audit.events_for(session, "application", first.id)
    assert event.actor == APPLICANT.label
    assert len(audit.events_for(session, "application", submit().id)) == 1  # and new events still go in


def test_naive_datetimes_are_refused(session: Session) -> None:
    session.add(
        Application(
            reference="SQ-naive",
            industry_code="x",
            holder_name="x",
            uscc="x",
            submitted_by=APPLICANT.user_id,
            created_at=datetime(2025, 1, 1),
        )
    )
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()
    session.rollback()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(isolated_settings: Settings) -> None:
    url = isolated_settings.effective_database_url
    assert url.startswith("sqlite:///") and str(isolated_settings.data_dir) in url
    try:
        migrate()  # the default database: created in the data folder
        assert (isolated_settings.data_dir / "onelicense.db").exists()
        with session_scope() as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert session.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    finally:
        dispose_engine(url)


def test_one_engine_per_url(db_url: str) -> None:
    assert get_engine(db_url) is get_engine(db_url)
    with get_session(db_url) as one, get_session(db_url) as two:
        assert one is not two and one.get_bind() is two.get_bind()


def test_read_scope_reads_committed_rows_without_holding_a_transaction(db_url: str, submit: SubmitFn) -> None:
    """The public verification's session: it sees what was committed, and leaves no transaction open on the server
    (on PostgreSQL: no BEGIN and no ROLLBACK round trips around its one statement)."""
    stored = submit()
    with read_scope(db_url) as session:
        found = session.execute(text("SELECT id FROM applications")).scalars().all()
        raw = session.connection().connection.dbapi_connection
        if get_engine(db_url).dialect.name == "postgresql":
            assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        else:
            assert not raw.in_transaction
    assert found == [stored.id]
