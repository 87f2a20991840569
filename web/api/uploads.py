"""Material files for API clients: upload once, then refer to the file as `upload:<id>` in an application's or a
commitment's materials. The same checks as the portal (size cap before the body is read, type by content)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel, Field

from onelicense.review.roles import Actor, Role, require_role
from onelicense.services import uploads
from onelicense.settings import get_settings
from onelicense.web.api.deps import CurrentActor, DbSession
from onelicense.web.api.responses import errors

router = APIRouter(tags=["材料文件"])
# OpenAPI 3.1 says a file part with contentMediaType; generators (openapi-python-client) know the file by its
# format, so both are stated
BINARY = {"format": "binary"}


def applicant_only(actor: CurrentActor) -> Actor:
    """Before the body is read: only applicants upload material files."""
    require_role(actor, frozenset({Role.APPLICANT}), "上传申请材料")
    return actor


Applicant = Annotated[Actor, Depends(applicant_only)]


class UploadOut(BaseModel):
    reference: str = Field(description="在材料中引用此文件：upload:<id>")
    name: str
    size: int
    content_type: str


@router.post(
    "/uploads",
    summary="上传材料文件（申请人）",
    description="PDF、JPG、PNG，按文件内容判断类型；大小上限见配置（默认 10 MB）。",
    status_code=201,
    responses=errors(400, 401, 403, 413, 422),
)
async def upload(
    actor: Applicant, file: Annotated[UploadFile, File(json_schema_extra=BINARY)], session: DbSession
) -> UploadOut:
    data = await file.read(get_settings().upload_max_bytes + 1)
    stored = uploads.store_upload(session, actor, data, file.filename or "")
    return UploadOut(reference=uploads.reference(stored), name=stored.original_name, size=stored.size,
                     content_type=stored.content_type)  # fmt: skip
