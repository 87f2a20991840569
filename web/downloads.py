"""Downloads: the license PDF, the same for the API and the portal (who may fetch it is decided by the service
layer; before issuance 409, while it is being rendered 503 with Retry-After), and CSV exports."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import FileResponse, Response
from sqlmodel import Session

from onelicense.errors import Conflict, NotReady
from onelicense.review.roles import Actor
from onelicense.services import applications, licenses


def license_pdf(session: Session, actor: Actor, application_id: str) -> FileResponse:
    license_ = licenses.license_of_application(session, actor, application_id)
    if license_ is None:
        application = applications.get_application(session, actor, application_id)
        raise Conflict(f"尚未发证（当前状态：{application.status.label}）")
    path = licenses.pdf_when_ready(session, license_)
    if path is None:
        raise NotReady("许可证 PDF 正在生成，请稍后重试")
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=f"行业综合许可证-{license_.number}.pdf",
        headers={"Cache-Control": "private, no-store"},
    )


def csv_download(body: bytes, filename: str, ascii_name: str) -> Response:
    """A CSV export as an attachment, never cached: the Chinese file name in UTF-8 and an ASCII one for old clients
    (RFC 6266)."""
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
