"""Reviewer side (部门审批人员): the department's queue, claim, release, decide.

A reviewer sees and acts on its own department's reviews only: any review of another department answers 403,
whether it exists or not being irrelevant to the caller (ids are random). Admins may read every queue and
release a claimed review, but only a department's reviewers claim and decide."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Query
from sqlmodel import Session

from onelicense.review.roles import Actor
from onelicense.review.transitions import ReviewStatus
from onelicense.services import applications, reviews
from onelicense.store.tables.application import DepartmentReview
from onelicense.web.api import schemas, views
from onelicense.web.api.deps import CurrentActor, DbSession, ReviewId
from onelicense.web.api.paging import PageParams
from onelicense.web.api.responses import errors

router = APIRouter(prefix="/queue", tags=["部门审批队列"])

# the body is optional and, when sent, an object: declared as the model itself (not "model or null"), so a generated
# client may leave it out instead of having to pass None; an absent body, `{}` and `null` all mean no version check
OptionalVersion = Annotated[schemas.VersionRequest, Body(description="可选：乐观锁版本号")]
NO_VERSION = schemas.VersionRequest()


@router.get(
    "",
    summary="本部门审查队列",
    description=(
        "按进入队列的时间先后排列，分页（page、page_size），附总数。默认只列出未办结的审查（待受理、待复审、审查中）。"
        "审批人员只能查看本部门的队列；管理员可用 department 指定部门。"
    ),
    responses=errors(401, 403, 422),
)
def list_queue(
    session: DbSession,
    actor: CurrentActor,
    paging: PageParams,
    status: Annotated[list[ReviewStatus] | None, Query(description="审查状态，可多选")] = None,
    industry: Annotated[str | None, Query(pattern=schemas.CODE_PATTERN, max_length=64, description="行业代码")] = None,
    older_than_hours: Annotated[
        float | None, Query(ge=0, le=24 * 3650, description="只看进入队列至少这么多小时的审查")
    ] = None,
    department: Annotated[
        str | None, Query(pattern=schemas.CODE_PATTERN, max_length=64, description="部门代码（管理员）")
    ] = None,
) -> schemas.QueuePage:
    older_than = timedelta(hours=older_than_hours) if older_than_hours is not None else None
    statuses = status or None
    items = reviews.list_queue(
        session,
        actor,
        status=statuses,
        industry=industry,
        older_than=older_than,
        limit=paging.page_size,
        offset=paging.offset,
        department=department,
    )
    total = reviews.count_queue(
        session, actor, status=statuses, industry=industry, older_than=older_than, department=department
    )
    return schemas.QueuePage(items=views.queue(items), total=total, page=paging.page, pages=paging.pages(total))


@router.get(
    "/{review_id}",
    summary="审查任务详情",
    description="申请概况、本部门的关键字段、系统建议的审查意见（辅助审批）、可要求补正的事项和历次决定。",
    responses=errors(401, 403, 404, 422),
)
def get_review(review_id: ReviewId, session: DbSession, actor: CurrentActor) -> schemas.ReviewDetail:
    return _detail(session, actor, reviews.get_review(session, actor, review_id))


@router.post(
    "/{review_id}/claim",
    summary="受理",
    description="把审查任务领到自己名下；已被他人受理时返回 409。",
    responses=errors(401, 403, 404, 409, 422),
)
def claim(
    review_id: ReviewId, session: DbSession, actor: CurrentActor, body: OptionalVersion = NO_VERSION
) -> schemas.ReviewDetail:
    version = body.expected_version
    return _detail(session, actor, reviews.claim(session, actor, review_id, expected_version=version))


@router.post(
    "/{review_id}/release",
    summary="退回队列",
    description="放弃已受理的审查任务，使其回到待受理状态（本人或管理员）。",
    responses=errors(401, 403, 404, 409, 422),
)
def release(
    review_id: ReviewId, session: DbSession, actor: CurrentActor, body: OptionalVersion = NO_VERSION
) -> schemas.ReviewDetail:
    version = body.expected_version
    return _detail(session, actor, reviews.release(session, actor, review_id, expected_version=version))


@router.post(
    "/{review_id}/decide",
    summary="作出审查决定",
    description=(
        "同意、不同意或要求补正（须列出本部门许可事项的字段键或材料编码），并填写审查意见。"
        "两人同时决定同一任务时只有一人成功，另一人得到 409。最后一个部门决定后，申请自动进入汇总。"
    ),
    responses=errors(401, 403, 404, 409, 422),
)
def decide(
    review_id: ReviewId, request: schemas.DecideRequest, session: DbSession, actor: CurrentActor
) -> schemas.ReviewDetail:
    review = reviews.decide(
        session,
        actor,
        review_id,
        request.decision,
        request.opinion,
        request.requested_items or None,
        expected_version=request.expected_version,
    )
    return _detail(session, actor, review)


def _detail(session: Session, actor: Actor, review: DepartmentReview) -> schemas.ReviewDetail:
    application = applications.get_application(session, actor, review.application_id)
    history = reviews.decision_history(session, actor, review.id)
    return views.review_detail(review, application, history, reviews.allowed_actions(session, actor, review).names)
