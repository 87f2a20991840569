"""Material files (/files/<id>): shown to whom services.uploads allows (the applicant, the reviewing department,
admins), inline for a preview, never guessable into someone else's."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse, Response

from onelicense.services import uploads
from onelicense.services.queries import samples
from onelicense.web.portal.common import DbSession, SignedInViewer

router = APIRouter(include_in_schema=False)


@router.get("/files/{upload_id}")
def material_file(who: SignedInViewer, session: DbSession, upload_id: Annotated[str, Path(max_length=64)]) -> Response:
    assert who.actor is not None
    upload, path = uploads.open_upload(session, who.actor, upload_id)
    return FileResponse(
        path,
        media_type=upload.content_type,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(upload.original_name)}",
            "Cache-Control": "private, no-store",
            # a file is shown, never run: no scripts even in a PDF viewer's page
            "Content-Security-Policy": (
                "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"
            ),
            "X-Frame-Options": "SAMEORIGIN",  # previewed in the reviewer's page, framed by nobody else
        },
    )


@router.get("/samples/{material_code}.pdf")
def sample(material_code: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]) -> Response:
    """示范文本: public (nothing personal in it), cached by browsers for a day."""
    name, pdf = samples.sample_pdf(material_code)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "public, max-age=86400",
        },
    )
