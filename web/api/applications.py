"""Applicant side (申请人): submit one merged form, follow each department's progress, amend when asked.

Admins read every application; reviewers read the applications their department reviews."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import FileResponse, HTMLResponse

from onelicense.errors import Conflict
from onelicense.review.transitions import ApplicationStatus
from onelicense.services import applications
from onelicense.web import downloads
from onelicense.web.api import schemas, views
from onelicense.web.api.deps import ApplicationId, CurrentActor, DbSession
from onelicense.web.api.paging import PageParams
from onelicense.web.api.responses import errors

router = APIRouter(prefix="/applications", tags=["申请"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="提交申请（一表申请）",
    description=(
        "校验合并表单并预审；通过后保存申请并分发到各审批部门并联审查。"
        "未通过时返回 422，errors 列出字段问题，findings 列出预审阻断项，不保存任何数据。"
        "带相同 idempotency_key 重试时返回第一次创建的申请（HTTP 200）。仅申请人可提交。"
    ),
    responses={200: {"model": schemas.SubmitResult, "description": "幂等重放"}, **errors(401, 403, 409, 422)},
)
def submit(
    request: schemas.SubmitRequest, session: DbSession, actor: CurrentActor, response: Response
) -> schemas.SubmitResult:
    submitted = applications.submit(
        session,
        actor,
        industry_code=request.industry_code,
        answers=request.answers,
        materials=request.materials,
        commitment_accepted=request.commitment_accepted,
        idempotency_key=request.idempotency_key,
    )
    if submitted.replayed:
        response.status_code = status.HTTP_200_OK
    return views.submit_result(submitted)


@router.get(
    "",
    summary="申请列表",
    description="申请人看到自己的申请，审批人员看到本部门参与审查的申请，管理员看到全部。按提交时间倒序，分页（page、page_size），附总数。",
    responses=errors(401, 422),
)
def list_applications(
    session: DbSession,
    actor: CurrentActor,
    paging: PageParams,
    status_filter: Annotated[ApplicationStatus | None, Query(alias="status", description="按申请状态筛选")] = None,
) -> schemas.ApplicationPage:
    rows = applications.list_applications(
        session, actor, status=status_filter, limit=paging.page_size, offset=paging.offset
    )
    total = applications.count_applications(session, actor, status=status_filter)
    return schemas.ApplicationPage(
        items=[views.application_summary(a) for a in rows], total=total, page=paging.page, pages=paging.pages(total)
    )


@router.get(
    "/{application_id}",
    summary="申请详情与各部门办理进度",
    description="申请状态，以及每个审批部门的审查状态、是否已决定、审查意见和要求补正的事项。",
    responses=errors(401, 403, 404, 422),
)
def get_application(
    application_id: ApplicationId, session: DbSession, actor: CurrentActor
) -> schemas.ApplicationDetail:
    return views.application_detail(applications.list_progress(session, actor, application_id))


@router.post(
    "/{application_id}/amend",
    summary="补正申请",
    description=(
        "申请状态为「待补正」时，申请人补正审批部门要求的字段或材料；补正后的表单重新校验，"
        "不通过返回 422 且不写入任何内容。只有要求补正的部门重新审查，其余部门保留原决定。"
    ),
    responses=errors(401, 403, 404, 409, 422),
)
def amend(
    application_id: ApplicationId, request: schemas.AmendRequest, session: DbSession, actor: CurrentActor
) -> schemas.ApplicationDetail:
    applications.amend(
        session, actor, application_id, request.answers, request.materials, expected_version=request.expected_version
    )
    return views.application_detail(applications.list_progress(session, actor, application_id))


@router.get(
    "/{application_id}/license.pdf",
    summary="下载行业综合许可证 PDF",
    description="发证后，申请人、参与审查的部门和管理员可下载许可证 PDF；其他人 403。尚未发证时 409。",
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary", "contentMediaType": "application/pdf"}}},
            "description": "许可证 PDF",
        },
        **errors(401, 403, 404, 409, 422),
    },
    response_class=FileResponse,
)
def license_pdf(application_id: ApplicationId, session: DbSession, actor: CurrentActor) -> FileResponse:
    return downloads.license_pdf(session, actor, application_id)


@router.get(
    "/{application_id}/opinion",
    summary="综合审批意见",
    description="汇总各部门决定后生成的综合审批意见：format=json（默认）为结构化数据，format=html 为文书。",
    responses={
        200: {"content": {"text/html": {}}, "description": "综合审批意见"},
        **errors(401, 403, 404, 409, 422),
    },
    response_model=schemas.OpinionOut,
)
def get_opinion(
    application_id: ApplicationId,
    session: DbSession,
    actor: CurrentActor,
    format: Annotated[Literal["json", "html"], Query(description="json 或 html")] = "json",
) -> schemas.OpinionOut | HTMLResponse:
    application = applications.get_application(session, actor, application_id)
    if application.composite_opinion is None:
        raise Conflict(f"综合审批意见尚未生成（当前状态：{application.status.label}）")
    opinion = views.opinion(application)
    if format == "html":
        if opinion.html is None:
            raise Conflict("该综合审批意见没有文书版本")
        return HTMLResponse(opinion.html)
    return opinion
