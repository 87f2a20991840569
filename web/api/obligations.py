"""Commitments after issuance (承诺事项) and the holder's notifications.

A holder sees and fulfils its own obligations; a department reviewer sees its department's and verifies, inspects,
orders rectification, records a refusal, opens an investigation, lists the holder as dishonest (withdrawing the
permit) or restores its credit; admins may do what a department does. Another's obligation answers 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from review.obligations import ObligationStatus
from services import notifications, obligations
from web.api import schemas, views
from web.api.deps import ID_PATTERN, CurrentActor, DbSession
from web.api.responses import errors

router = APIRouter(tags=["承诺事项与通知"])
ObligationId = Annotated[str, Path(pattern=ID_PATTERN, description="承诺事项 ID（32 位十六进制）")]
NotificationId = Annotated[str, Path(min_length=1, max_length=96, pattern=r"^[a-z_]+:[0-9a-z:_-]+$")]


@router.get(
    "/obligations",
    summary="承诺事项清单",
    description="持证人看到自己的，审批人员看到本部门的，管理员与督办人员看到全部；按到期日排序。",
    responses=errors(401, 403, 422),
)
def list_obligations(
    session: DbSession,
    actor: CurrentActor,
    status: Annotated[ObligationStatus | None, Query(description="按状态筛选")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[schemas.ObligationOut]:
    return [views.obligation(o) for o in obligations.list_obligations(session, actor, status=status, limit=limit)]


@router.get("/obligations/{obligation_id}", summary="承诺事项详情", responses=errors(401, 404, 422))
def get_obligation(obligation_id: ObligationId, session: DbSession, actor: CurrentActor) -> schemas.ObligationOut:
    return views.obligation(obligations.get_obligation(session, actor, obligation_id))


@router.post(
    "/obligations/{obligation_id}/fulfilment",
    summary="提交履约材料（持证人）",
    description="要件后补须提交全部承诺后补的材料；整改时至少提交一份整改材料。文件须先上传（upload:<id>）。",
    responses=errors(401, 403, 404, 409, 422),
)
def fulfil(
    obligation_id: ObligationId, body: schemas.FulfilmentRequest, session: DbSession, actor: CurrentActor
) -> schemas.ObligationOut:
    row = obligations.submit_fulfilment(
        session, actor, obligation_id, body.materials, expected_version=body.expected_version
    )
    return views.obligation(row)


@router.post(
    "/obligations/{obligation_id}/verification",
    summary="核验履约材料（部门）",
    responses=errors(401, 403, 404, 409, 422),
)
def verify(
    obligation_id: ObligationId, body: schemas.VerifyRequest, session: DbSession, actor: CurrentActor
) -> schemas.ObligationOut:
    row = obligations.verify_fulfilment(
        session, actor, obligation_id, accept=body.accept, reason=body.reason, expected_version=body.expected_version
    )
    return views.obligation(row)


@router.post(
    "/obligations/{obligation_id}/inspection",
    summary="记录事后核查结果（部门）",
    responses=errors(401, 403, 404, 409, 422),
)
def inspect(
    obligation_id: ObligationId, body: schemas.InspectionRequest, session: DbSession, actor: CurrentActor
) -> schemas.ObligationOut:
    row = obligations.record_inspection(
        session,
        actor,
        obligation_id,
        passed=body.passed,
        note=body.note,
        rectify_days=body.rectify_days,
        expected_version=body.expected_version,
    )
    return views.obligation(row)


@router.post(
    "/obligations/{obligation_id}/rectification",
    summary="责令限期整改（部门）",
    responses=errors(401, 403, 404, 409, 422),
)
def rectify(
    obligation_id: ObligationId, body: schemas.RectificationRequest, session: DbSession, actor: CurrentActor
) -> schemas.ObligationOut:
    row = obligations.order_rectification(
        session, actor, obligation_id, reason=body.reason, days=body.days, expected_version=body.expected_version
    )
    return views.obligation(row)


_NOTE_STEPS = {
    "refusal": (obligations.record_refusal, "记录拒不整改（部门）"),
    "investigation": (obligations.open_investigation, "立案调查并公示（部门）"),
    "restoration": (obligations.restore_credit, "信用修复（部门）"),
}


def _note_route(name: str) -> None:
    step, summary = _NOTE_STEPS[name]

    def handler(
        obligation_id: ObligationId, body: schemas.NoteRequest, session: DbSession, actor: CurrentActor
    ) -> schemas.ObligationOut:
        return views.obligation(
            step(session, actor, obligation_id, note=body.note, expected_version=body.expected_version)
        )

    handler.__name__ = f"obligation_{name}"
    router.post(f"/obligations/{{obligation_id}}/{name}", summary=summary, responses=errors(401, 403, 404, 409, 422))(
        handler
    )


for _name in _NOTE_STEPS:
    _note_route(_name)


@router.post(
    "/obligations/{obligation_id}/listing",
    summary="列入失信名单并撤销许可（部门）",
    description="仅在公示期满后；同一事务内撤销该分项许可，公开核验页面随即显示“撤销”。",
    responses=errors(401, 403, 404, 409, 422),
)
def list_holder(
    obligation_id: ObligationId, body: schemas.NoteRequest, session: DbSession, actor: CurrentActor
) -> schemas.ObligationOut:
    row = obligations.list_as_dishonest(
        session, actor, obligation_id, reason=body.note, expected_version=body.expected_version
    )
    return views.obligation(row)


@router.get("/notifications", summary="我的通知", responses=errors(401, 422))
def my_notifications(
    session: DbSession, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[schemas.NotificationOut]:
    rows, _unread = notifications.inbox(session, actor, limit)
    return [views.notification(r) for r in rows]


@router.post(
    "/notifications/{notification_id}/read", summary="标记为已读", status_code=204, responses=errors(401, 404, 422)
)
def read(notification_id: NotificationId, session: DbSession, actor: CurrentActor) -> None:
    notifications.mark_read(session, actor, notification_id)
