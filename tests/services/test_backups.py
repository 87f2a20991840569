"""The backup drill (issue 22), on SQLite and PostgreSQL: data made through the services, a backup taken while an
applicant keeps submitting, the data folder and the database wiped, the backup restored; then every license
verifies online (the /v/ page) and offline (`onelicense verify` with the public keys only), every file is back
with its hash and keys with their permissions, the pending certificate is rendered by the outbox, nothing is
issued twice. And a backup that is damaged, partial or of another database is refused with nothing written."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from onelicense.cli import app as cli
from onelicense.errors import Conflict
from onelicense.flows.dispatcher import Dispatcher
from onelicense.licenses.keys import load_public_keyset, write_jwks
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import backups, licenses, outbox_work, uploads
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import get_settings
from onelicense.store.db import dispose_engine, get_session, migrate
from onelicense.store.tables import Application, DepartmentReview, OutboxMessage
from onelicense.store.tables.license import License
from onelicense.web.app import create_app
from tests.builders import APPLICANT, OTHER_APPLICANT, approved, submit_valid

PUBLIC_BASE_URL = "https://zwfw.example.gov.cn"
runner = CliRunner()


@pytest.fixture
def data_dir(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The settings on the test database with a data folder of the test's own (keys, uploads, certificates)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", db_url)
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(folder))
    monkeypatch.setenv("ONELICENSE_PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, 40, 90)).save(out, "PNG")
    return out.getvalue()


def issue(session: Session, serial: int) -> License:
    application = approved(session, APPLICANT, serial=serial)
    return licenses.issue_license(session, SYSTEM_ACTOR, application.id)


def render_queue(session: Session, number: str) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage)
            .join(License, col(License.application_id) == col(OutboxMessage.application_id))
            .where(License.number == number, OutboxMessage.kind == outbox_work.RENDER_PDF)
            .execution_options(populate_existing=True)
        )
    )


def files_of(folder: Path) -> dict[str, str]:
    """relative path → sha256 of what a backup holds of a data folder (dot names are locks and partial writes)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for name in backups.DATA_FOLDERS
        for p in sorted((folder / name).rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def wipe(db_url: str, folder: Path) -> None:
    """The disk died: no data folder, an empty database (SQLite: no file; PostgreSQL: an empty schema)."""
    dispose_engine(db_url)
    shutil.rmtree(folder)
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.database}{suffix}").unlink(missing_ok=True)
        return
    engine = create_engine(db_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def keep_submitting(db_url: str, stop: threading.Event, made: list[str]) -> None:
    """Another applicant at the counter: submissions while the backup runs."""
    session = get_session(db_url)
    try:
        serial = 5000
        while not stop.is_set():
            serial += 1
            made.append(submit_valid(session, OTHER_APPLICANT, serial=serial).application.id)
    finally:
        session.close()


def verify_offline(pdf: Path, jwks: Path) -> str:
    result = runner.invoke(cli, ["verify", str(pdf), "--offline", "--keys", str(jwks)])
    assert result.exit_code == 0, result.output
    assert "签名有效" in result.output and "PDF 文档签名有效" in result.output  # the restored root validates it
    return result.output


def test_a_backup_taken_under_load_restores_every_license_file_and_pending_work(
    db_url: str, data_dir: Path, tmp_path: Path
) -> None:
    session = get_session(db_url)
    dispatcher = Dispatcher(pdf_workers=1)
    try:
        stored = [uploads.store_upload(session, APPLICANT, png(n), f"营业场所照片{n}.png") for n in (1, 2)]
        rendered = issue(session, 101)
        dispatcher.dispatch_once(kinds=(outbox_work.RENDER_PDF,))  # its certificate is on disk before the backup
        assert [m.done_at is not None for m in render_queue(session, rendered.number)] == [True]
        pending = issue(session, 102)  # its certificate is still to be rendered when the backup is taken
        assert [m.done_at for m in render_queue(session, pending.number)] == [None]
        issued = {rendered.number: rendered.token, pending.number: pending.token}

        stop, made = threading.Event(), []
        writer = threading.Thread(target=keep_submitting, args=(db_url, stop, made))
        writer.start()
        try:
            while len(made) < 2 and writer.is_alive():
                stop.wait(0.05)
            before = len(made)
            manifest = backups.backup(tmp_path / "backup")
            during = len(made) - before
            while len(made) < before + during + 1 and writer.is_alive():  # and the writer went on afterwards
                stop.wait(0.05)
        finally:
            stop.set()
            writer.join()
        assert before >= 2 and len(made) > before
        session.close()
        kept = files_of(data_dir)
        assert {p for p in manifest.files if not p.startswith("database/")} == set(kept)
        assert {f"uploads/{u.sha256[:2]}/{u.sha256}" for u in stored} <= set(kept)
        assert f"licenses/{rendered.number}.pdf" in kept and f"licenses/{pending.number}.pdf" not in kept

        wipe(db_url, data_dir)
        restored = backups.restore(tmp_path / "backup")
        migrate(db_url)
        session = get_session(db_url)

        assert restored.schema_revision == manifest.schema_revision and restored.files == manifest.files
        assert files_of(data_dir) == kept  # every file back, byte for byte
        keys = LicenseConfig.from_settings().keys_dir
        assert stat.S_IMODE(keys.stat().st_mode) == 0o700
        assert [stat.S_IMODE(p.stat().st_mode) for p in keys.glob("*.pem")] == [0o600]
        # the PDF's document-signing keys and their root come back too, private keys owner-only
        assert {p.name for p in (keys / "document").glob("*.key")} >= {"root.key"}
        assert {stat.S_IMODE(p.stat().st_mode) for p in (keys / "document").glob("*.key")} == {0o600}
        applications = session.exec(select(Application)).all()
        assert 2 + before <= len(applications) <= 2 + len(made)  # a moment of the load, not a torn one
        reviewed = set(session.exec(select(DepartmentReview.application_id)))
        assert {a.id for a in applications} <= reviewed  # each submission whole, with its reviews
        for upload in stored:
            _, path = uploads.open_upload(session, APPLICANT, upload.id)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == upload.sha256

        # the outbox resumes: the certificate not rendered before the backup is rendered now
        assert dispatcher.dispatch_once(kinds=(outbox_work.RENDER_PDF,)) == 1
        assert [m.done_at is not None for m in render_queue(session, pending.number)] == [True]
        # nothing is issued twice: issuing again answers the license already there
        again = licenses.issue_license(session, SYSTEM_ACTOR, pending.application_id or "")
        assert again.id == pending.id
        assert session.exec(select(func.count()).select_from(License)).one() == 2

        jwks = tmp_path / "published-keys.json"
        write_jwks(load_public_keyset(keys), jwks)  # the public keys only
        client = TestClient(create_app())
        for number, token in issued.items():
            answer = client.get(f"/v/{token}", headers={"Accept": "application/json"})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert (body["genuine"], body["registered"], body["number"], body["current"]) == (True, True, number, True)
            license_ = licenses.load_license(session, number)
            assert number in verify_offline(licenses.ensure_pdf(session, license_), jwks)
    finally:
        session.close()
        dispatcher.close()


@pytest.fixture
def sqlite_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SQLite backup with a key, a certificate and an upload; the data folder and database then wiped."""
    folder = tmp_path / "data"
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(folder))
    monkeypatch.delenv("ONELICENSE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    url = get_settings().effective_database_url
    migrate(url)
    session = get_session(url)
    try:
        uploads.store_upload(session, APPLICANT, png(3), "照片.png")
        licenses.ensure_pdf(session, issue(session, 201))
    finally:
        session.close()
    backups.backup(tmp_path / "backup")
    dispose_engine(url)
    shutil.rmtree(folder)
    yield tmp_path / "backup"
    dispose_engine(url)
    get_settings.cache_clear()


def restore_refused(backup: Path, *words: str) -> None:
    """`onelicense restore` says why in Chinese, naming the file, exits non-zero and writes nothing."""
    result = runner.invoke(cli, ["restore", str(backup)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output
    assert not get_settings().data_dir.exists()


def entry(backup: Path, prefix: str) -> Path:
    listed = json.loads((backup / backups.MANIFEST).read_text())["files"]
    return backup / next(f["path"] for f in listed if f["path"].startswith(prefix))


def test_a_backup_with_one_byte_changed_is_refused_naming_the_file(sqlite_backup: Path) -> None:
    pdf = entry(sqlite_backup, "licenses/")
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    restore_refused(sqlite_backup, "备份已损坏", pdf.relative_to(sqlite_backup).as_posix())
    check = runner.invoke(cli, ["restore", "--check", str(sqlite_backup)])
    assert check.exit_code == 1 and "备份已损坏" in check.output


def test_a_backup_missing_a_file_or_its_manifest_is_refused(sqlite_backup: Path) -> None:
    key = entry(sqlite_backup, "keys/")
    key.unlink()
    restore_refused(sqlite_backup, "备份不完整", key.relative_to(sqlite_backup).as_posix())
    (sqlite_backup / backups.MANIFEST).unlink()
    restore_refused(sqlite_backup, "备份不完整", "manifest.json")


def test_a_file_the_manifest_does_not_list_is_refused(sqlite_backup: Path) -> None:
    (sqlite_backup / "keys" / "extra.pem").write_bytes(b"not ours")
    restore_refused(sqlite_backup, "清单未列出", "keys/extra.pem")


def test_restore_refuses_a_data_folder_or_database_that_holds_data(sqlite_backup: Path) -> None:
    assert runner.invoke(cli, ["restore", str(sqlite_backup)]).exit_code == 0
    keys = sorted(p.name for p in LicenseConfig.from_settings().keys_dir.iterdir())

    again = runner.invoke(cli, ["restore", str(sqlite_backup)])
    assert again.exit_code == 1 and "不是空的" in again.output and "keys" in again.output, again.output
    shutil.rmtree(get_settings().data_dir / "keys")
    shutil.rmtree(get_settings().data_dir / "licenses")
    shutil.rmtree(get_settings().data_dir / "uploads")
    filled = runner.invoke(cli, ["restore", str(sqlite_backup)])
    assert filled.exit_code == 1 and "数据库" in filled.output and "不是空的" in filled.output, filled.output
    assert not (get_settings().data_dir / "keys").exists()  # nothing written by the refusals
    assert keys and all(name.endswith(".pem") or name.isupper() or name == "document" for name in keys)


def test_a_sqlite_backup_is_not_restored_into_postgresql(sqlite_backup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/absent")
    get_settings.cache_clear()
    with pytest.raises(Conflict, match="SQLite"):
        backups.restore(sqlite_backup)
    assert not get_settings().data_dir.exists()
