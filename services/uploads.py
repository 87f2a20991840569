"""Material files (申请材料) uploaded in the portal: checked by content (PDF, JPG or PNG by their magic bytes, not
their name), capped in size, stored once under the data folder by sha256; the name the applicant gave is kept as
metadata only, never used as a path. An application's materials refer to them as "upload:<id>".

Who may read a file: the applicant who uploaded it; a reviewer whose department reviews an application whose
materials (the department's part of them) refer to it; admins."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path, PurePosixPath, PureWindowsPath

import filetype
from sqlmodel import Session, col, func, select

from onelicense.clock import utcnow
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.forms.errors import FieldError, ValidationFailed
from onelicense.forms.validation import MATERIAL_PREFIX
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role
from onelicense.services import catalog as catalogs
from onelicense.settings import get_settings
from onelicense.store import audit
from onelicense.store.access import OVERSEERS, department_items
from onelicense.store.db import transaction
from onelicense.store.tables.application import Application, DepartmentReview
from onelicense.store.tables.lifecycle import Obligation
from onelicense.store.tables.portal import Draft, Upload

REFERENCE_PREFIX = "upload:"
ALLOWED = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG"}
_NOT_YOURS = "无权查看该文件"
_FOREIGN = "引用的文件不存在或不属于当前账号：只能引用本账号上传的文件"


def reference(upload: Upload) -> str:
    return f"{REFERENCE_PREFIX}{upload.id}"


def upload_id_of(value: object) -> str | None:
    """The upload id a material value refers to, or None for any other value."""
    if isinstance(value, str) and value.startswith(REFERENCE_PREFIX):
        rest = value[len(REFERENCE_PREFIX) :]
        if len(rest) == 32 and all(c in "0123456789abcdef" for c in rest):
            return rest
    return None


def store_upload(session: Session, actor: Actor, data: bytes, original_name: str, *, what: str = "材料") -> Upload:
    """Check and keep one file for `actor` (applicants only). InvalidRequest says why a file is refused."""
    if actor.role is not Role.APPLICANT:
        raise Forbidden("只有申请人可以上传申请材料")
    name = _clean_name(original_name)
    limit = get_settings().upload_max_bytes
    if not data:
        raise InvalidRequest(f"{what}：文件为空")
    if len(data) > limit:
        raise InvalidRequest(f"{what}：文件过大（最多 {limit // (1024 * 1024)} MB）")
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in ALLOWED:
        found = f"（识别为 {kind.extension}）" if kind is not None else ""
        raise InvalidRequest(f"{what}：只接受 PDF、JPG、PNG 文件，按文件内容判断{found}，与文件名无关")
    quota = get_settings().upload_quota_bytes
    held = session.exec(select(func.coalesce(func.sum(Upload.size), 0)).where(Upload.owner_id == actor.user_id)).one()
    if int(held) + len(data) > quota:
        raise Conflict(f"{what}：您上传的文件总量已达上限（{quota // (1024 * 1024)} MB），未被使用的文件会在 "
                       f"{get_settings().upload_orphan_days} 天后自动清理")  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
    _write_once(blob_path(digest), data)
    upload = Upload(owner_id=actor.user_id, sha256=digest, original_name=name, content_type=kind.mime, size=len(data))
    with transaction(session):
        session.add(upload)
        session.flush()
        audit.record(
            session,
            actor,
            "upload.store",
            "upload",
            upload.id,
            None,
            {"sha256": digest, "content_type": kind.mime, "size": len(data)},
        )
    return upload


def open_upload(session: Session, actor: Actor, upload_id: str) -> tuple[Upload, Path]:
    """The file and where its bytes are, if `actor` may read it; 403 alike for a missing and a foreign file."""
    upload = session.get(Upload, upload_id) if isinstance(upload_id, str) and len(upload_id) == 32 else None
    if upload is None or not _may_read(session, actor, upload):
        raise Forbidden(_NOT_YOURS)
    path = blob_path(upload.sha256)
    if not path.is_file():
        raise NotFound("文件已不存在")
    return upload, path


def owned_uploads(session: Session, actor: Actor, upload_ids: list[str]) -> dict[str, Upload]:
    """The uploads among `upload_ids` that belong to `actor` (to show names beside a draft's materials)."""
    if not upload_ids:
        return {}
    rows = session.exec(select(Upload).where(col(Upload.id).in_(upload_ids), Upload.owner_id == actor.user_id))
    return {u.id: u for u in rows}


def check_owned(session: Session, actor: Actor, materials: Mapping[str, object]) -> None:
    """Every upload that `materials` (material code → reference) refer to must be `actor`'s own: a guessed or
    copied id of another account's file, or a malformed "upload:" reference, is refused with ValidationFailed (422)
    naming each material, before anything is stored. The one check of every door that takes material references:
    submitting and amending an application, a change or renewal of a license, a commitment's hand-in."""
    claimed = {str(code): v for code, v in materials.items() if isinstance(v, str) and v.startswith(REFERENCE_PREFIX)}
    ids = {code: upload_id_of(v) for code, v in claimed.items()}
    owned = owned_uploads(session, actor, sorted({i for i in ids.values() if i is not None}))
    foreign = [code for code, i in ids.items() if i not in owned]
    if foreign:
        raise ValidationFailed(
            [FieldError(f"{MATERIAL_PREFIX}{code}", catalogs.item_label(code), _FOREIGN) for code in foreign],
            prefix="申请材料有误",
        )


def remove_orphans(session: Session, *, older_than_days: int | None = None) -> int:
    """Delete uploads no draft, application or commitment hand-in refers to, older than UPLOAD_ORPHAN_DAYS, and the
    stored bytes no upload refers to any more (the daily sweep; commits). Returns how many uploads went."""
    days = get_settings().upload_orphan_days if older_than_days is None else older_than_days
    cutoff = utcnow() - timedelta(days=days)
    with transaction(session):
        candidates = list(session.exec(select(Upload).where(col(Upload.created_at) < cutoff)))
        if not candidates:
            return 0
        owners = sorted({u.owner_id for u in candidates})
        used: set[str] = set()
        for materials in (
            *session.exec(select(Draft.materials).where(col(Draft.user_id).in_(owners))),
            *session.exec(select(Application.materials).where(col(Application.submitted_by).in_(owners))),
            *session.exec(select(Obligation.submitted).where(col(Obligation.holder_user_id).in_(owners))),
        ):
            used |= {i for v in (materials or {}).values() if isinstance(v, str) and (i := upload_id_of(v))}
        orphans = [u for u in candidates if u.id not in used]
        for upload in orphans:
            session.delete(upload)
            audit.record(session, SYSTEM_ACTOR, "upload.remove", "upload", upload.id, None, {"reason": "未被引用"})
        session.flush()
        digests = {u.sha256 for u in orphans}
        kept = set(session.exec(select(Upload.sha256).where(col(Upload.sha256).in_(sorted(digests)))))
    for digest in digests - kept:
        with contextlib.suppress(FileNotFoundError):
            blob_path(digest).unlink()
    return len(orphans)


def blob_path(digest: str) -> Path:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidRequest("文件摘要无效")
    return get_settings().data_dir / "uploads" / digest[:2] / digest


def _may_read(session: Session, actor: Actor, upload: Upload) -> bool:
    if actor.role in OVERSEERS or upload.owner_id == actor.user_id:
        return True
    if actor.role is not Role.REVIEWER or not actor.department_code:
        return False
    ref = reference(upload)
    # the applications of this owner that this department reviews, and whose department part refers to the file
    rows = session.exec(
        select(Application, DepartmentReview)
        .join(DepartmentReview, col(DepartmentReview.application_id) == col(Application.id))
        .where(Application.submitted_by == upload.owner_id, DepartmentReview.department_code == actor.department_code)
    )
    catalog = catalogs.catalog()
    for application, review in rows:
        _fields, materials = department_items(catalog, [review], actor.department_code)
        if any(application.materials.get(code) == ref for code in materials):
            return True
    # or a commitment's hand-in (履约材料) to this department
    handed = session.exec(
        select(Obligation.submitted).where(
            Obligation.holder_user_id == upload.owner_id,
            Obligation.department_code == actor.department_code,
            col(Obligation.submitted).is_not(None),
        )
    )
    return any(ref in (submitted or {}).values() for submitted in handed)


def _clean_name(original_name: str) -> str:
    """The last part of whatever path a browser sent, without control characters, at most 200 characters."""
    raw = str(original_name or "")
    base = PureWindowsPath(PurePosixPath(raw).name).name
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    if not base or base in (".", ".."):
        base = "未命名文件"
    return base[:200]


def _write_once(path: Path, data: bytes) -> None:
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
