"""The holder's own license through the API: ask for a change (变更) or a renewal (延续), or cancel it (注销). The
same services as the portal (`services.changes`, `services.licenses.change_license`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from onelicense.licenses.status import Operation
from onelicense.services import changes, licenses
from onelicense.web.api import schemas
from onelicense.web.api.deps import CurrentActor, DbSession
from onelicense.web.api.responses import errors

router = APIRouter(prefix="/licenses", tags=["持证人：变更、延续、注销"])
Number = Annotated[str, Path(pattern=r"^\d{17}[0-9X]$", description="许可证编号（18 位）")]


def _out(requested: changes.ChangeRequested) -> schemas.LicenseRequestOut:
    return schemas.LicenseRequestOut(
        license_number=requested.license.number,
        application_id=requested.application.id if requested.application else None,
        changed_fields=list(requested.changed_fields),
        added_permits=list(requested.added_permits),
        removed_permits=list(requested.removed_permits),
        departments=sorted(r.department_code for r in requested.reviews),
        edition=requested.license.edition,
    )


@router.post(
    "/{number}/change",
    summary="申请变更",
    description="登记事项（名称、法定代表人等）即时办结并换发新版；其他字段由读取该字段的许可所属部门重新审查。",
    status_code=201,
    responses=errors(401, 403, 404, 409, 422),
)
def change(
    number: Number, body: schemas.ChangeRequest, session: DbSession, actor: CurrentActor
) -> schemas.LicenseRequestOut:
    return _out(
        changes.request_change(
            session, actor, number, answers=body.answers, materials=body.materials, reason=body.reason
        )
    )


@router.post(
    "/{number}/renewal",
    summary="申请延续",
    description="沿用现有信息，为 90 天内届满的许可申请延续，由所属部门审查；准予后换发新版许可证。",
    status_code=201,
    responses=errors(401, 403, 404, 409, 422),
)
def renewal(
    number: Number, body: schemas.RenewalRequest, session: DbSession, actor: CurrentActor
) -> schemas.LicenseRequestOut:
    requested = changes.request_renewal(
        session, actor, number, permit_codes=body.permit_codes or None, answers=body.answers, materials=body.materials
    )
    return _out(requested)


@router.post(
    "/{number}/cancellation",
    summary="注销许可证（持证人或管理员）",
    status_code=204,
    responses=errors(401, 403, 404, 409, 422),
)
def cancellation(number: Number, body: schemas.ReasonRequest, session: DbSession, actor: CurrentActor) -> None:
    licenses.change_license(session, actor, number, Operation.CANCEL, reason=body.reason)
