"""Admin side (管理员): the dead letters, outbox work that retrying could not finish, to retry or discard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from onelicense.services import dead_letters
from onelicense.web.api import schemas
from onelicense.web.api.deps import ID_PATTERN, CurrentActor, DbSession
from onelicense.web.api.paging import PageParams
from onelicense.web.api.responses import errors

router = APIRouter(prefix="/admin", tags=["管理"])
MessageId = Annotated[str, Path(pattern=ID_PATTERN, description="消息 ID（32 位十六进制）")]


@router.get(
    "/dead-letters",
    summary="死信列表",
    description="重试也无法完成的后台任务（永久性错误，或多次重试失败），附原因，供管理员重试或放弃。仅管理员。",
    responses=errors(401, 403, 422),
)
def list_dead_letters(session: DbSession, actor: CurrentActor, paging: PageParams) -> schemas.DeadLetterPage:
    letters = dead_letters.list_dead(session, actor, limit=paging.page_size, offset=paging.offset)
    total = dead_letters.count_dead(session, actor)
    return schemas.DeadLetterPage(
        items=[schemas.DeadLetterOut(**vars(letter)) for letter in letters],
        total=total,
        page=paging.page,
        pages=paging.pages(total),
    )


@router.post(
    "/dead-letters/{message_id}/retry",
    status_code=204,
    summary="重试死信",
    description="排除原因后，让该任务立即重新执行（重新计数重试次数）。仅管理员，写入审计日志。",
    responses=errors(401, 403, 404, 409, 422),
)
def retry(message_id: MessageId, request: schemas.ReasonRequest, session: DbSession, actor: CurrentActor) -> None:
    dead_letters.retry(session, actor, message_id, reason=request.reason)


@router.post(
    "/dead-letters/{message_id}/discard",
    status_code=204,
    summary="放弃死信",
    description="不再执行该任务（例如已人工处理），须填写原因。仅管理员，写入审计日志。",
    responses=errors(401, 403, 404, 409, 422),
)
def discard(message_id: MessageId, request: schemas.ReasonRequest, session: DbSession, actor: CurrentActor) -> None:
    dead_letters.discard(session, actor, message_id, reason=request.reason)
