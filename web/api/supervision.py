"""Supervision (督办) for the service centre's systems: the red / yellow / green board as JSON, what /board shows
supervisors in the portal (services.queries.supervision; supervisors and admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from onelicense.services import catalog as catalogs
from onelicense.services.queries import supervision
from onelicense.web.api import schemas
from onelicense.web.api.deps import CurrentActor, DbSession
from onelicense.web.api.responses import errors

router = APIRouter(prefix="/supervision", tags=["督办"])


@router.get(
    "/board",
    summary="红黄绿灯督办看板",
    description="各部门在办件按红黄绿灯的数量、督办件（超法定时限、红灯、黄灯，最多 500 件，最急者在前）、各状态的申请数。"
    "仅督办人员与管理员。",
    responses=errors(401, 403),
)
def board(session: DbSession, actor: CurrentActor) -> schemas.SupervisionBoardOut:
    data = supervision.board(session, actor)
    total = data.lights_total
    return schemas.SupervisionBoardOut(
        today=data.today,
        departments=[
            schemas.DepartmentLightsOut(
                department_code=row.department_code,
                department_name=catalogs.department_name(row.department_code),
                green=row.green,
                yellow=row.yellow,
                red=row.red,
                past_statutory=row.past_statutory,
                total=row.total,
            )
            for row in data.lights
        ],
        cases_total=total.yellow + total.red + total.past_statutory,
        cases=[
            schemas.SupervisedCaseOut(
                review_id=case.review_id,
                application_id=case.application_id,
                reference=case.reference,
                industry_code=case.industry_code,
                department_code=case.department_code,
                level=case.level.value,
                level_label=case.level.label,
                due_on=case.due_on,
                opened_at=case.opened_at,
            )
            for case in data.cases
        ],
        statuses=[
            schemas.StatusCountOut(status=status.value, label=status.label, count=count)
            for status, count in data.statuses
        ],
    )
