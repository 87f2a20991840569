"""Commitments after issuance (承诺事项), credit standing, 双随机 draws and the holder's notifications.

A holder sees and fulfils its own obligations, makes its 陈述申辩 during the 公示 and applies for 信用修复; a
department reviewer sees its department's and verifies, inspects, orders rectification, records a refusal, opens an
investigation, answers a statement, lists the holder as dishonest (withdrawing the permit), and grants or declines
a credit repair; admins may do what a department does. Another's obligation answers 404. The same authorization
as the pages (services.obligations, services.inspections)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from onelicense.review.obligations import ObligationStatus
from onelicense.services import inspections, notifications, obligations
from onelicense.web.api import schemas, views
from onelicense.web.api.deps import ID_PATTERN, CurrentActor, DbSession
from onelicense.web.api.paging import PageParams
from onelicense.web.api.responses import errors

router = APIRouter(tags=["承诺事项与通知"])
ObligationId = Annotated[str, Path(pattern=ID_PATTERN, description="承诺事项 ID（32 位十六进制）")]
NotificationId = Annotated[str, Path(min_length=1, max_length=96, pattern=r"^[a-z_]+:[0-9a-z:_-]+$")]


@router.get(
    "/obligations",
    summary="承诺事项清单",
    description="持证人看到自己的，审批人员看到本部门的，管理员与督办人员看到全部；按到期日排序，分页，附总数。",
    responses=errors(401, 403, 422),
)
def list_obligations(
    session: DbSession,
    actor: CurrentActor,
    paging: PageParams,
    status: Annotated[ObligationStatus | None, Query(description="按状态筛选")] = None,
) -> schemas.ObligationPage:
    rows = obligations.list_obligations(session, actor, status=status, limit=paging.page_size, offset=paging.offset)
    total = obligations.count_obligations(session, actor, status=status)
    return schemas.ObligationPage(
        items=[views.obligation(o) for o in rows], total=total, page=paging.page, pages=paging.pages(total)
    )


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


@router.post(
    "/obligations/{obligation_id}/statement",
    summary="陈述申辩（持证人，公示期内一次）",
    responses=errors(401, 403, 404, 409, 422),
)
def make_statement(
    obligation_id: ObligationId, body: schemas.StatementRequest, session: DbSession, actor: CurrentActor
) -> schemas.ObligationOut:
    row = obligations.make_statement(
        session, actor, obligation_id, statement=body.statement, expected_version=body.expected_version
    )
    return views.obligation(row)


@router.post(
    "/obligations/{obligation_id}/answer",
    summary="答复陈述申辩（部门；答复后方可列入失信名单）",
    responses=errors(401, 403, 404, 409, 422),
)
def answer_statement(
    obligation_id: ObligationId, body: schemas.AnswerRequest, session: DbSession, actor: CurrentActor
) -> schemas.ObligationOut:
    row = obligations.answer_statement(
        session, actor, obligation_id, answer=body.answer, expected_version=body.expected_version
    )
    return views.obligation(row)


@router.post(
    "/obligations/{obligation_id}/repair",
    summary="申请信用修复（持证人）",
    description="列入失信名单满规定日数后，附说明和至少一份证明材料（文件须先上传）；部门在期限内审核。",
    responses=errors(401, 403, 404, 409, 422),
)
def apply_for_repair(
    obligation_id: ObligationId, body: schemas.RepairRequest, session: DbSession, actor: CurrentActor
) -> schemas.ObligationOut:
    row = obligations.apply_for_repair(
        session, actor, obligation_id, statement=body.statement, evidence=body.evidence,
        expected_version=body.expected_version,
    )  # fmt: skip
    return views.obligation(row)


@router.post(
    "/obligations/{obligation_id}/repair-declined",
    summary="不予信用修复（部门，须说明理由）",
    responses=errors(401, 403, 404, 409, 422),
)
def decline_repair(
    obligation_id: ObligationId, body: schemas.NoteRequest, session: DbSession, actor: CurrentActor
) -> schemas.ObligationOut:
    row = obligations.decline_repair(
        session, actor, obligation_id, reason=body.note, expected_version=body.expected_version
    )
    return views.obligation(row)


@router.get(
    "/credit/{uscc}",
    summary="信用状况（守信、失信、无记录）",
    description="审批人员、督办人员和管理员可查任一主体；申请人只能查自己代表的主体。",
    responses=errors(401, 403, 422),
)
def credit(
    uscc: Annotated[str, Path(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$", description="统一社会信用代码")],
    session: DbSession,
    actor: CurrentActor,
) -> schemas.CreditOut:
    standing = obligations.credit_of(session, actor, uscc)
    return schemas.CreditOut(
        uscc=standing.uscc, standing=standing.label, blocked_until=standing.blocked_until, reliable=standing.reliable
    )


@router.get(
    "/inspection-draws",
    summary="双随机抽查记录",
    description="督办人员和管理员看到全部；审批人员只看到含本部门的抽取及本部门抽中的许可；最新的在前。",
    responses=errors(401, 403, 422),
)
def inspection_draws(
    session: DbSession,
    actor: CurrentActor,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> schemas.DrawPageOut:
    listing = inspections.list_draws(session, actor, page=page, page_size=page_size)
    department = inspections.department_scope(actor)
    return schemas.DrawPageOut(
        total=listing.total,
        page=listing.page,
        pages=listing.pages,
        items=[views.draw(session, record, department) for record in listing.draws],
    )


@router.get(
    "/notifications", summary="我的通知", description="最新的在前，分页，附总数和未读数。", responses=errors(401, 422)
)
def my_notifications(session: DbSession, actor: CurrentActor, paging: PageParams) -> schemas.NotificationPage:
    rows, unread = notifications.inbox(session, actor, paging.page_size, paging.offset)
    total = notifications.count_inbox(session, actor)
    return schemas.NotificationPage(
        items=[views.notification(r) for r in rows],
        total=total,
        page=paging.page,
        pages=paging.pages(total),
        unread=unread,
    )


@router.post(
    "/notifications/{notification_id}/read", summary="标记为已读", status_code=204, responses=errors(401, 404, 422)
)
def read(notification_id: NotificationId, session: DbSession, actor: CurrentActor) -> None:
    notifications.mark_read(session, actor, notification_id)
