"""Backups that restore (备份与恢复): a consistent copy of the database, the signing keys, the uploaded materials and
the rendered certificates, taken while the server runs, with a manifest of every file's sha256; and the restore
that refuses a damaged or partial backup, or a target that already holds data, before writing anything.

A backup folder::

    manifest.json               written last: a backup without it is unfinished
    database/onelicense.sqlite3 SQLite's online backup API (one read transaction: a consistent snapshot), or
    database/onelicense.pgdump  pg_dump's custom format, taken in a snapshot exported by the connection that reads
                                the schema revision, so both see the same moment
    keys/                       the signing keys (private: encrypt them at rest, keep them apart from the dump)
    uploads/, licenses/         the material files (by sha256) and the certificates (PDF) of DATA_DIR

The database goes first, then the keys and files: every key and file a committed row refers to existed before the
snapshot, so the copy taken after holds it (a certificate not yet rendered is a pending outbox message in the
snapshot and is rendered after the restore). Names starting with a dot (locks, partial writes) are skipped.
Log lines carry counts, never a file name or a row."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from onelicense.clock import CHINA_TIME
from onelicense.errors import Conflict, InvalidRequest, Unavailable
from onelicense.settings import get_settings
from onelicense.store.db import alembic_config, database_url, dispose_engine

log = logging.getLogger("onelicense.backups")

FORMAT = 1
MANIFEST = "manifest.json"
DATA_FOLDERS = ("keys", "uploads", "licenses")  # what of DATA_DIR a backup holds, keys first
DATABASE_FILES = {"sqlite": "database/onelicense.sqlite3", "postgresql": "database/onelicense.pgdump"}
KIND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# left in a data folder by a start or a check, never by data: restore may write beside them
_LEFT_BY_A_START = frozenset({"prefect", "logs"})
_CHUNK = 1024 * 1024


class BackupDamaged(InvalidRequest):
    """The backup is incomplete or a file in it differs from the manifest: nothing was restored."""


@dataclass(frozen=True)
class Manifest:
    created_at: str  # ISO 8601 with its offset (Beijing time)
    database_kind: str  # sqlite | postgresql
    schema_revision: str | None
    files: dict[str, tuple[str, int]]  # relative path → (sha256, size)

    @property
    def database_file(self) -> str:
        return DATABASE_FILES[self.database_kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "database_kind": self.database_kind,
            "database_file": self.database_file,
            "schema_revision": self.schema_revision,
            "files": [{"path": p, "sha256": h, "size": s} for p, (h, s) in sorted(self.files.items())],
        }


# ------------------------------------------------------------------------------------------------------- backup


def backup(folder: Path, url: str | None = None) -> Manifest:
    """Copy the database (`url`, default the settings') and the keys and files of DATA_DIR into `folder` (absent
    or empty), then write the manifest. Safe while the server runs and writes."""
    url = database_url(url)
    kind = _kind(url)
    _empty_backup_folder(folder)
    files: dict[str, tuple[str, int]] = {}
    database = folder / DATABASE_FILES[kind]
    _private_dir(database.parent)
    revision = _sqlite_backup(_sqlite_path(url), database) if kind == "sqlite" else _pg_dump(url, database)
    files[DATABASE_FILES[kind]] = _digest(database)
    data_dir = get_settings().data_dir
    for name in DATA_FOLDERS:
        for source, relative in _walk(data_dir / name, name):
            copied = _copy_if_present(source, folder / relative)
            if copied is not None:
                files[relative] = copied
    # real time, not the one clock: a moved training clock must not date the backup that retention keeps
    created = datetime.now(CHINA_TIME).replace(microsecond=0).isoformat()
    manifest = Manifest(created, kind, revision, files)
    _write_private(folder / MANIFEST, json.dumps(manifest.as_dict(), ensure_ascii=False, indent=2).encode() + b"\n")
    size = sum(s for _, s in files.values())
    log.info("backup written: %s database at %s, %d files, %d bytes", kind, revision, len(files), size)
    return manifest


def _kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in DATABASE_FILES:
        raise InvalidRequest(f"不支持备份此类数据库（{backend}）：只支持 SQLite 与 PostgreSQL")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database or ""
    if not database or database == ":memory:" or "mode=memory" in database:
        raise InvalidRequest("内存数据库无法备份：请使用数据库文件或 PostgreSQL")
    return Path(database).expanduser()


def _empty_backup_folder(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise Conflict(f"备份目录 {folder} 已存在且不是空目录：请指定一个新的（或空的）目录，不覆盖已有备份")
    _private_dir(folder)


def _sqlite_backup(source: Path, target: Path) -> str | None:
    """SQLite's online backup API in one step: one read transaction, so a consistent snapshot while writers (WAL)
    go on. The copy is made self-contained (no WAL) and checked. Returns its schema revision."""
    if not source.is_file():
        raise Unavailable(f"数据库文件 {source} 不存在")
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    live = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(target)
    try:
        live.backup(copy)  # pages=-1: everything in one step
        copy.execute("PRAGMA journal_mode=DELETE")
        (integrity,) = copy.execute("PRAGMA integrity_check").fetchone()
        if integrity != "ok":
            raise Unavailable(f"数据库副本的完整性检查未通过：{integrity}")
        return _sqlite_revision(copy)
    finally:
        copy.close()
        live.close()


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # never migrated
        return None
    return str(row[0]) if row else None


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL for the PostgreSQL client tools, and their environment: the password travels in PGPASSWORD, never
    on a command line another user can read in the process list."""
    sa_url = make_url(url)
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if sa_url.password is not None:
        env["PGPASSWORD"] = str(sa_url.password)
    plain: URL = sa_url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _client_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Unavailable(f"未找到 {name}：请安装 PostgreSQL 客户端工具（postgresql-client，版本不低于服务器）")
    return found


def _pg_dump(url: str, target: Path) -> str | None:
    """pg_dump (custom format) inside a snapshot exported by the transaction that reads the schema revision."""
    tool = _client_tool("pg_dump")
    conninfo, env = _libpq(url)
    engine = create_engine(url, poolclass=NullPool, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            snapshot = str(connection.scalar(text("SELECT pg_export_snapshot()")))
            revision = _pg_revision(connection)
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            _run([tool, "--format=custom", f"--snapshot={snapshot}", f"--file={target}", f"--dbname={conninfo}"], env)
            connection.rollback()
    except SQLAlchemyError as exc:
        raise Unavailable(f"无法连接数据库：{type(exc).__name__}") from exc
    finally:
        engine.dispose()
    return revision


def _pg_revision(connection: Any) -> str | None:
    present = connection.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
    return connection.scalar(text("SELECT version_num FROM alembic_version")) if present else None


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tool = Path(command[0]).name
        first = next((line for line in done.stderr.splitlines() if line.strip()), "")[:300]
        raise Unavailable(f"{tool} 失败（退出状态 {done.returncode}）：{first}")


def _walk(root: Path, prefix: str) -> Iterator[tuple[Path, str]]:
    """Regular files under `root` with their backup-relative path, skipping dot names (locks, partial writes)."""
    if not root.is_dir():
        return
    for directory, folders, names in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        base = Path(directory)
        for name in sorted(names):
            path = base / name
            if name.startswith(".") or path.is_symlink():
                continue
            yield path, (PurePosixPath(prefix) / path.relative_to(root).as_posix()).as_posix()


def _copy_if_present(source: Path, target: Path) -> tuple[str, int] | None:
    """Copy one file, hashing the bytes written; None when it vanished meanwhile (an orphan upload swept)."""
    try:
        handle = source.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        _private_dir(target.parent)
        return _copy_hashing(handle, target)


def _copy_hashing(handle: Any, target: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _write_private(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.part")
    fd = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


# ------------------------------------------------------------------------------------------------------- verify


def verify_backup(folder: Path) -> Manifest:
    """The manifest of a complete, undamaged backup: every file it lists is there with its sha256, nothing else is,
    and its schema revision is one this release knows. BackupDamaged names the first file that is not."""
    manifest = _read_manifest(folder)
    for relative, (sha256, size) in sorted(manifest.files.items()):
        path = folder / relative
        if not path.is_file():
            raise BackupDamaged(f"备份不完整：缺少文件 {relative}（如密钥已单独加密存放，请先解密放回 keys/）")
        if _digest(path) != (sha256, size):
            raise BackupDamaged(f"备份已损坏：文件 {relative} 的校验值与清单不符")
    listed = set(manifest.files) | {MANIFEST}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative not in listed:
            raise BackupDamaged(f"备份中有清单未列出的文件 {relative}：该备份可能被改动过，不予恢复")
    _known_revision(manifest.schema_revision)
    return manifest


def _read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BackupDamaged(f"备份目录 {folder} 不存在")
    if not path.is_file():
        raise BackupDamaged(f"备份不完整：缺少清单文件 {MANIFEST}（备份未完成，或不是 onelicense 的备份）")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw["format"] != FORMAT:
            raise BackupDamaged(f"备份格式版本 {raw['format']} 不受本程序支持（支持 {FORMAT}）")
        kind = str(raw["database_kind"])
        files = {str(f["path"]): (str(f["sha256"]), int(f["size"])) for f in raw["files"]}
        revision = raw["schema_revision"]
        manifest = Manifest(str(raw["created_at"]), kind, None if revision is None else str(revision), files)
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupDamaged(f"备份已损坏：清单文件 {MANIFEST} 无法解析（{type(exc).__name__}）") from exc
    if kind not in DATABASE_FILES or manifest.database_file not in files:
        raise BackupDamaged(f"备份已损坏：清单文件 {MANIFEST} 未列出数据库文件")
    for relative in files:
        parts = PurePosixPath(relative).parts
        if (
            PurePosixPath(relative).is_absolute()
            or ".." in parts
            or (relative != manifest.database_file and parts[0] not in DATA_FOLDERS)
        ):
            raise BackupDamaged(f"备份已损坏：清单列出了不允许的路径 {relative}")
    return manifest


def _known_revision(revision: str | None) -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {r.revision for r in scripts.walk_revisions()}
    if revision is not None and revision not in known:
        raise Conflict(
            f"备份的数据库结构版本（{revision}）比本程序所知的最新版本（{scripts.get_current_head()}）更新："
            "请用制作该备份的版本（或更新的版本）恢复"
        )


# ------------------------------------------------------------------------------------------------------ restore


def restore(folder: Path, url: str | None = None) -> Manifest:
    """Restore a backup into the configured database and data folder. Refuses, writing nothing, a damaged or partial
    backup, a database of another kind, a database with tables, or a data folder that holds anything but what a
    start leaves (Prefect's home, logs). Stop the server first. The schema is the backup's: the next start (or
    `onelicense db upgrade`) brings it to this release's head."""
    url = database_url(url)
    manifest = verify_backup(folder)
    kind = _kind(url)
    if kind != manifest.database_kind:
        raise Conflict(
            f"该备份的数据库是 {KIND_NAMES[manifest.database_kind]}，当前设置的数据库是 {KIND_NAMES[kind]}："
            "请按备份的数据库类型设置 ONELICENSE_DATABASE_URL"
        )
    data_dir = get_settings().data_dir
    sqlite_target = _sqlite_path(url) if kind == "sqlite" else None
    _refuse_data_in(data_dir, sqlite_target)
    if sqlite_target is not None:
        _refuse_a_filled_sqlite(sqlite_target)
    else:
        _refuse_a_filled_postgres(url)
    _private_dir(data_dir)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
    try:
        for relative in sorted(manifest.files):
            if relative != manifest.database_file:
                _restore_file(folder, relative, manifest.files[relative], staging / relative)
        dispose_engine(url)  # no pooled connection of this process may outlive the database it points at
        if sqlite_target is not None:
            _restore_sqlite(folder, manifest, sqlite_target)
        else:
            _restore_postgres(folder / manifest.database_file, url)
        for name in DATA_FOLDERS:
            if (staging / name).exists():
                os.rename(staging / name, data_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("backup restored: %s database at %s, %d files", kind, manifest.schema_revision, len(manifest.files))
    return manifest


def _refuse_data_in(data_dir: Path, sqlite_target: Path | None) -> None:
    if not data_dir.exists():
        return
    if not data_dir.is_dir():
        raise Conflict(f"数据目录 {data_dir} 不是目录")
    database_files: set[str] = set()
    if sqlite_target is not None and sqlite_target.parent.resolve() == data_dir:
        name = sqlite_target.name
        database_files = {name, f"{name}-wal", f"{name}-shm", f"{name}.migrate.lock"}
    present = sorted(p.name for p in data_dir.iterdir() if p.name not in _LEFT_BY_A_START | database_files)
    if present:
        raise Conflict(
            f"数据目录 {data_dir} 不是空的（含 {'、'.join(present[:5])}）：恢复只写入空的数据目录，"
            "请移走其中的内容或换一个空目录（ONELICENSE_DATA_DIR）"
        )


def _refuse_a_filled_sqlite(path: Path) -> None:
    if not path.exists():
        return
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        connection.close()
    if tables:
        raise Conflict(f"数据库 {path} 不是空的（已有 {tables} 张表）：恢复只写入空数据库，请移走该文件")


def _refuse_a_filled_postgres(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = connection.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"))
    except SQLAlchemyError as exc:
        raise Unavailable(f"无法连接数据库（恢复需要一个已建立的空数据库）：{type(exc).__name__}") from exc
    finally:
        engine.dispose()
    if tables:
        name = make_url(url).database
        raise Conflict(f"数据库 {name} 不是空的（已有 {tables} 张表）：恢复只写入空数据库，请新建一个空数据库")


def _restore_file(folder: Path, relative: str, expected: tuple[str, int], target: Path) -> None:
    """Copy one file owner-only (keys 0600), checking the bytes written against the manifest once more."""
    _private_dir(target.parent)
    with (folder / relative).open("rb") as handle:
        if _copy_hashing(handle, target) != expected:
            raise BackupDamaged(f"备份已损坏：文件 {relative} 在恢复过程中发生了变化")


def _restore_sqlite(folder: Path, manifest: Manifest, target: Path) -> None:
    _private_dir(target.parent)
    for leftover in (target, target.with_name(f"{target.name}-wal"), target.with_name(f"{target.name}-shm")):
        leftover.unlink(missing_ok=True)  # an empty database a check created (refused above when it held tables)
    partial = target.with_name(f".{target.name}.restore")
    partial.unlink(missing_ok=True)
    with (folder / manifest.database_file).open("rb") as handle:
        if _copy_hashing(handle, partial) != manifest.files[manifest.database_file]:
            partial.unlink()
            raise BackupDamaged(f"备份已损坏：文件 {manifest.database_file} 在恢复过程中发生了变化")
    os.replace(partial, target)


def _restore_postgres(dump: Path, url: str) -> None:
    """pg_restore in one transaction: a failure leaves the database as empty as it was. Objects are owned by the
    restoring role (the roles of the machine that made the dump need not exist here)."""
    tool = _client_tool("pg_restore")
    conninfo, env = _libpq(url)
    _run([tool, "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error", f"--dbname={conninfo}",
          str(dump)], env)  # fmt: skip
