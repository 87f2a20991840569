"""Upgrades keep the data (issue 22), on SQLite and PostgreSQL: a database at the oldest migration (0001) holding
what a real office had — users, an issued application with its reviews, decisions, audit trail and outbox, an
application still in review with its push pending — and at 0002 its license and permits, written with SQL on the
columns those revisions had; the product's `migrate()` brings it to the head. Then every row reads through the
models as it was written, the services answer for it, the license verifies (the /v/ page and offline), the pending
push is leased, and the next license number follows the old one (0006 counted it).

The rows come from the current services on a scratch database, cut to the columns the old revision had: realistic
values, not hand-made ones. The refusal of a schema newer than this release lives in tests/store/test_db.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import SQLModel, select

from onelicense.licenses.keys import load_public_keyset
from onelicense.licenses.token import verify_token
from onelicense.review.roles import SYSTEM_ACTOR, Role
from onelicense.review.transitions import ApplicationStatus
from onelicense.services import applications, licenses, outbox_work, users
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import get_settings
from onelicense.store import license_queries
from onelicense.store.db import alembic_config, dispose_engine, get_engine, get_session, migrate
from onelicense.store.tables import Application, AuditEvent, DecisionRecord, DepartmentReview, OutboxMessage, User
from onelicense.store.tables.license import License, LicensePermit
from onelicense.web.app import create_app
from tests import databases
from tests.builders import ADMIN, APPLICANT, approved, submit_valid

AT_0001: list[type[SQLModel]] = [User, Application, DepartmentReview, DecisionRecord, AuditEvent, OutboxMessage]
AT_0002: list[type[SQLModel]] = [License, LicensePermit]
Rows = dict[str, list[dict[str, Any]]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no migration run), dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        yield url
        dispose_engine(url)
        return
    request.getfixturevalue("postgres_admin")
    name = f"onelicense_upgrade_{uuid.uuid4().hex[:12]}"
    admin = databases.postgres_admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = databases._database_url(name)
    try:
        yield url
    finally:
        dispose_engine(url)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`settings_on(url)`: the settings on `url`, with the test's data folder (the signing keys)."""
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONELICENSE_PUBLIC_BASE_URL", "https://zwfw.example.gov.cn")

    def switch(url: str) -> None:
        monkeypatch.setenv("ONELICENSE_DATABASE_URL", url)
        get_settings.cache_clear()

    yield switch
    get_settings.cache_clear()


def office_rows(scratch_url: str) -> tuple[Rows, dict[str, str]]:
    """What an office had, made through today's services on a scratch database: rows by table, and names."""
    session = get_session(scratch_url)
    try:
        admin, admin_token = users.create_user(session, "系统管理员", Role.ADMIN)
        users.create_user(session, "市场监管审批员", Role.REVIEWER, "SCJG")
        issued = licenses.issue_license(session, SYSTEM_ACTOR, approved(session, APPLICANT, serial=7001).id)
        waiting = submit_valid(session, APPLICANT, serial=7002).application
        rows = {
            model.__tablename__: [dict(r) for r in session.execute(sa.select(model.__table__)).mappings()]  # type: ignore[attr-defined]
            for model in AT_0001 + AT_0002
        }
    finally:
        session.close()
        dispose_engine(scratch_url)
    names = {"admin_id": admin.id, "admin_token": admin_token, "number": issued.number, "token": issued.token,
             "issued": issued.application_id or "", "waiting": waiting.id}  # fmt: skip
    return rows, names


def insert_as_of(url: str, revision: str, rows: Rows, models: list[type[SQLModel]]) -> dict[str, list[str]]:
    """Upgrade to `revision`, then INSERT the rows on the columns each table has there (the others are later).
    The audit log's numbers are left to the database, as the old release did (its sequence must move on).
    Returns the columns written, by table."""
    engine = get_engine(url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    inspector = sa.inspect(engine)
    written: dict[str, list[str]] = {}
    with engine.begin() as connection:
        for model in models:
            name = model.__tablename__  # type: ignore[attr-defined]
            present = {c["name"] for c in inspector.get_columns(name)} - ({"id"} if model is AuditEvent else set())
            table = model.__table__  # type: ignore[attr-defined]
            written[name] = [c.name for c in table.columns if c.name in present]
            old = sa.table(name, *(sa.column(c, table.columns[c].type) for c in written[name]))
            ordered = sorted(rows[name], key=lambda row: str(row["id"]).zfill(12))
            connection.execute(old.insert(), [{c: row[c] for c in written[name]} for row in ordered])
    return written


def test_a_database_from_the_first_migration_upgrades_with_its_rows_readable_and_its_license_valid(
    empty_url: str, settings_on: Any, tmp_path: Path
) -> None:
    scratch = databases.sqlite_copy(tmp_path / "scratch.db")
    settings_on(scratch)
    rows, names = office_rows(scratch)
    settings_on(empty_url)
    columns = insert_as_of(empty_url, "0001", rows, AT_0001) | insert_as_of(empty_url, "0002", rows, AT_0002)
    dispose_engine(empty_url)

    migrate(empty_url)  # what every start and `onelicense db upgrade` run

    session = get_session(empty_url)
    try:
        # every row reads through the models with the values written before the upgrade
        for model in AT_0001 + AT_0002:
            name = model.__tablename__  # type: ignore[attr-defined]
            read = session.exec(select(model)).all()
            assert sorted(({c: getattr(r, c) for c in columns[name]} for r in read), key=repr) == sorted(
                ({c: row[c] for c in columns[name]} for row in rows[name]), key=repr
            ), name
        # the services answer for them
        actor = users.authenticate(session, names["admin_token"])
        assert actor is not None and actor.role is Role.ADMIN and actor.user_id == names["admin_id"]
        progress = applications.list_progress(session, ADMIN, names["waiting"])
        assert progress.reviews and all(r.due_on is not None for r in progress.reviews)  # 0007 dated them
        assert session.get(Application, names["issued"]).status is ApplicationStatus.ISSUED  # type: ignore[union-attr]
        now = license_queries.current_status(session, names["number"])
        assert now.license.number == names["number"] and now.composite.status.value == "01"
        # the license verifies: offline with the public keys, and on the /v/ page
        verified = verify_token(names["token"], load_public_keyset(LicenseConfig.from_settings().keys_dir))
        document = licenses.license_document(now.license, licenses.permits_of(session, now.license.id))
        assert verified.content == document.signed_content()  # the rows still say what was signed
        page = TestClient(create_app()).get(f"/v/{names['token']}", headers={"Accept": "application/json"})
        assert page.status_code == 200, page.text
        assert (page.json()["genuine"], page.json()["registered"], page.json()["current"]) == (True, True, True)
        # the pushes pending before the upgrade are taken after it
        lease = timedelta(seconds=30)
        leased = outbox_work.lease_due(session, outbox_work.DEPARTMENT_PUSH, limit=50, lease=lease, owner="test")
        pending = {m["id"] for m in rows["outbox_messages"] if m["kind"] == "department_push" and not m["done_at"]}
        assert {m.id for m in leased} == pending and names["waiting"] in {m.application_id for m in leased}
        # the next license continues the numbering the old one started (no number issued twice)
        following = licenses.issue_license(session, SYSTEM_ACTOR, approved(session, APPLICANT, serial=7003).id)
        old, new = names["number"], following.number  # region (6) + year (4) + serial (7) + check (1)
        assert new[:10] == old[:10] and int(new[10:17]) == int(old[10:17]) + 1
        assert len(session.exec(select(License)).all()) == 2
    finally:
        session.close()
