"""The holder's own license in the portal: ask for a change (变更) of the name, legal representative or premises,
renew the permits about to expire (延续), or cancel the license (注销). Both go through the services; a change the departments must review becomes a change
application whose progress page the holder is sent to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import select

from onelicense.errors import InvalidRequest, NotFound
from onelicense.licenses.status import Operation
from onelicense.review.roles import Role, require_role
from onelicense.services import changes, licenses
from onelicense.store.tables.license import License
from onelicense.web.portal.common import DbSession, SignedInViewer, check_csrf, redirect

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
Text = Annotated[str, Form(max_length=300)]


@router.post("/portal/licenses/{number}/change", dependencies=[Csrf])
def request_change(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    number: str,
    holder_name: Text = "",
    legal_representative: Text = "",
    business_address: Text = "",
    reason: Text = "",
) -> Response:
    assert who.actor is not None
    require_role(who.actor, frozenset({Role.APPLICANT}), "申请变更")
    issued = _issuing_application(session, number)
    wanted = {"holder_name": holder_name, "legal_representative": legal_representative,
              "business_address": business_address}  # fmt: skip
    answers = {key: value.strip() for key, value in wanted.items() if value.strip()}
    requested = changes.request_change(session, who.actor, number, answers=answers, reason=reason)
    if requested.application is not None:  # the departments review it: follow it there
        return redirect(f"/portal/applications/{requested.application.id}?submitted=1", request)
    return redirect(f"/portal/applications/{issued}?changed=1", request)


@router.post("/portal/licenses/{number}/renew", dependencies=[Csrf])
def request_renewal(request: Request, who: SignedInViewer, session: DbSession, number: str) -> Response:
    """延续 with the license's current data: every permit whose validity ends within the renewal window."""
    assert who.actor is not None
    requested = changes.request_renewal(session, who.actor, number)
    assert requested.application is not None
    return redirect(f"/portal/applications/{requested.application.id}?submitted=1", request)


@router.post("/portal/licenses/{number}/cancel", dependencies=[Csrf])
def cancel(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    number: str,
    reason: Text = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    assert who.actor is not None
    issued = _issuing_application(session, number)
    if confirm != "yes":
        raise InvalidRequest("请勾选“确认注销”")
    licenses.change_license(session, who.actor, number, Operation.CANCEL, reason=reason)
    return redirect(f"/portal/applications/{issued}?cancelled=1", request)


def _issuing_application(session: DbSession, number: str) -> str:
    license_ = session.exec(select(License).where(License.number == number)).first()
    if license_ is None or license_.application_id is None:
        raise NotFound(f"许可证 {number} 不存在")
    return license_.application_id
