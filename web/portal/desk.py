"""Department reviewer pages (/desk): the department's queue, a review's detail, claim / release / decide, and
the licenses of its permits.

Every change is a plain form POST answered with a 303 (htmx only livens up the queue's filters). A decision
that lost a race (someone decided or claimed first) or that the service refused shows the detail page again
with the reason and the opinion as typed, so nothing written is lost."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from onelicense import clock
from onelicense.errors import Conflict, InvalidRequest
from onelicense.licenses.status import Operation
from onelicense.review.roles import Actor, Role, require_role
from onelicense.review.sla import SlaDates, SlaLevel
from onelicense.review.transitions import OPINION_MAX_CHARS, Decision, ReviewStatus
from onelicense.services import applications, reviews
from onelicense.services import catalog as catalogs
from onelicense.services.queries import queue_board
from onelicense.store.tables.application import DepartmentReview
from onelicense.web.portal.common import (
    LEVEL_CLASS,
    DbSession,
    SignedInViewer,
    Viewer,
    check_csrf,
    form_version,
    redirect,
    render,
)

router = APIRouter(prefix="/desk", include_in_schema=False)
REVIEWERS = frozenset({Role.REVIEWER})
Csrf = Depends(check_csrf)
UPLOAD = re.compile(r"upload:([0-9a-f]{32})")
STALE = "已被他人处理"
DONE = {
    "claimed": "已受理该审查任务。",
    "released": "已释放该审查任务，它回到了本部门队列。",
    "decided": "审查决定已提交。",
    "changed": "许可状态已变更，公开核验页面即时生效。",
}
# the colours as the queue names them, in order of urgency
LEVEL_NAMES = {
    SlaLevel.GREEN: "绿灯",
    SlaLevel.YELLOW: "黄灯",
    SlaLevel.RED: "红灯",
    SlaLevel.PAST_STATUTORY: "超法定时限",
}


def reviewer(who: Viewer) -> Actor:
    assert who.actor is not None  # SignedInViewer
    require_role(who.actor, REVIEWERS, "使用部门审查工作台")
    return who.actor


# ---------------------------------------------------------------------------------------------------- queue


@router.get("")
def queue(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    status: Annotated[str, Query(max_length=40)] = "",
    industry: Annotated[str, Query(max_length=64)] = "",
    level: Annotated[str, Query(max_length=40)] = "",
    sort: Annotated[str, Query(max_length=20)] = "due",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    actor = reviewer(who)
    board = queue_board.queue_page(
        session, actor, status=status or None, industry=industry or None, level=level or None, sort=sort, page=page
    )
    filters = {"status": status, "industry": industry, "level": level, "sort": sort}
    return render(
        request,
        who,
        "desk/queue.html.j2",
        board=board,
        filters=filters,
        statuses=list(ReviewStatus),
        industries=sorted(catalogs.catalog().industries.values(), key=lambda i: i.code),
        levels=LEVEL_NAMES,
        level_class=LEVEL_CLASS,
        notice=DONE.get(done),
        page_url=lambda n: "/desk?" + urlencode({**filters, "page": n}),
    )


# --------------------------------------------------------------------------------------------------- detail


@router.get("/reviews/{review_id}")
def detail(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    review_id: str,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return _detail(request, who, session, review_id, notice=DONE.get(done))


@router.post("/reviews/{review_id}/claim", dependencies=[Csrf])
def claim(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    review_id: str,
    expected_version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    return _take_or_hand_back(request, who, session, review_id, expected_version, reviews.claim, "claimed")


@router.post("/reviews/{review_id}/release", dependencies=[Csrf])
def release(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    review_id: str,
    expected_version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    return _take_or_hand_back(request, who, session, review_id, expected_version, reviews.release, "released")


def _take_or_hand_back(
    request: Request,
    who: Viewer,
    session: Session,
    review_id: str,
    expected_version: str,
    act: Callable[..., DepartmentReview],
    done: str,
) -> Response:
    """Claim or release: the service call, then back to the detail (409 "已被他人处理" when someone was first)."""
    actor = reviewer(who)
    try:
        act(session, actor, review_id, expected_version=form_version(expected_version))
    except Conflict as exc:
        return _detail(request, who, session, review_id, status_code=exc.http_status, error=_stale(exc))
    return redirect(f"/desk/reviews/{review_id}?done={done}", request)


@router.post("/reviews/{review_id}/decide", dependencies=[Csrf])
def decide(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    review_id: str,
    decision: Annotated[str, Form(max_length=20)] = "",
    opinion: Annotated[str, Form()] = "",  # its rule (required unless 同意, the length) is the service's
    requested_items: Annotated[list[str], Form()] = [],  # noqa: B006  (FastAPI copies defaults)
    expected_version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    actor = reviewer(who)
    typed = {"decision": decision, "opinion": opinion, "requested_items": list(requested_items)}
    try:
        if not decision:
            raise InvalidRequest("请选择审查决定：同意、不同意或要求补正")
        reviews.decide(
            session,
            actor,
            review_id,
            decision,
            opinion,
            requested_items or None,
            expected_version=form_version(expected_version),
        )
    except Conflict as exc:
        return _detail(request, who, session, review_id, status_code=exc.http_status, error=_stale(exc), typed=typed)
    except InvalidRequest as exc:
        return _detail(request, who, session, review_id, status_code=exc.http_status, error=_invalid(exc), typed=typed)
    return redirect("/desk?done=decided", request)


def _detail(
    request: Request,
    who: Viewer,
    session: Session,
    review_id: str,
    *,
    status_code: int = 200,
    notice: str | None = None,
    error: str | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    """The review as its department's reviewer sees it; `typed` is a decision form to show again as submitted."""
    actor = reviewer(who)
    review = reviews.get_review(session, actor, review_id)  # another department's: Forbidden, nothing read
    progress = applications.list_progress(session, actor, review.application_id)
    application = progress.application
    history = reviews.decision_history(session, actor, review.id)
    today = clock.today()
    form = typed or {
        "decision": "",
        "opinion": review.suggested_opinion or "",
        "requested_items": [],
    }
    return render(
        request,
        who,
        "desk/review.html.j2",
        status_code=status_code,
        review=review,
        application=application,
        answers=[(catalogs.item_label(k), _display(v)) for k, v in application.answers.items()],
        materials=[_material(code, value) for code, value in application.materials.items()],
        key_fields=review.key_fields or {},
        permits=catalogs.permit_names(review.permit_codes),
        history=history,
        item_label=catalogs.item_label,
        requestable=reviews.requestable_items(review.permit_codes),
        assignee=reviews.assignee_name(session, review) if review.assignee else None,
        mine=review.assignee == actor.user_id,
        allowed=reviews.allowed_actions(session, actor, review),
        opinion_max=OPINION_MAX_CHARS,
        decisions=list(Decision),
        form=form,
        retyped=typed is not None,
        level=_level(review, today),
        days_left=(queue_board.working_days_left(today, review.due_on, catalogs.calendar()) if review.due_on else None),
        levels=LEVEL_NAMES,
        level_class=LEVEL_CLASS,
        notice=notice,
        error=error,
    )


# ------------------------------------------------------------------------------------------------- licenses


@router.get("/licenses")
def license_list(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return _licenses(request, who, session, q=q, page=page, notice=DONE.get(done))


@router.post("/licenses/{number}/permits/{permit_code}/{operation}", dependencies=[Csrf])
def change_permit(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    number: str,
    permit_code: str,
    operation: str,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    actor = reviewer(who)
    try:
        queue_board.change_department_permit(session, actor, number, permit_code, operation, reason=reason)
    except Conflict as exc:
        return _licenses(request, who, session, q=number, status_code=exc.http_status, error=exc.message)
    except InvalidRequest as exc:
        return _licenses(request, who, session, q=number, status_code=exc.http_status, error=_invalid(exc))
    return redirect("/desk/licenses?" + urlencode({"q": number, "done": "changed"}), request)


def _licenses(
    request: Request,
    who: Viewer,
    session: Session,
    *,
    q: str = "",
    page: int = 1,
    status_code: int = 200,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    actor = reviewer(who)
    listing = queue_board.department_licenses(session, actor, q=q or None, page=page)
    return render(
        request,
        who,
        "desk/licenses.html.j2",
        status_code=status_code,
        listing=listing,
        q=q,
        operations=queue_board.DESK_OPERATIONS,
        operation_names={
            Operation.SUSPEND: "暂扣（暂停）",
            Operation.RESTORE: "发还（恢复）",
            Operation.WITHDRAW: "撤销",
        },
        notice=notice,
        error=error,
        page_url=lambda n: "/desk/licenses?" + urlencode({"q": q, "page": n}),
    )


# ---------------------------------------------------------------------------------------------------- helpers


def _stale(exc: Conflict) -> str:
    return exc.message if STALE in exc.message else f"{STALE}：{exc.message}"


def _invalid(exc: InvalidRequest) -> str:
    reasons = [str(e.get("message") or e.get("reason") or "") for e in exc.error_dicts()]
    return "；".join(r for r in reasons if r) or exc.message


def _level(review: DepartmentReview, today: date) -> SlaLevel | None:
    if review.yellow_on is None or review.due_on is None or review.red_on is None:
        return None
    return SlaDates(review.yellow_on, review.due_on, review.red_on, review.past_statutory_on).level_on(today)


def _display(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def _material(code: str, value: object) -> dict[str, Any]:
    """A material's name and, for an uploaded file, the id /files/<id> serves it under."""
    reference = str(value) if value is not None else ""
    found = UPLOAD.fullmatch(reference)
    upload_id = found.group(1) if found else None
    return {"code": code, "name": catalogs.item_label(code), "upload_id": upload_id, "reference": reference}
