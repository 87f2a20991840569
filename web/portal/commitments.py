"""Commitments after issuance in the browser: the holder's 承诺履约 page (what it owes, until when, hand in the
files) and its notifications inbox (/portal/obligations, /portal/inbox); the department's list of obligations,
including the permits granted first and checked later (先予许可、待核查), with the step each status allows
(/desk/obligations). Plain form POSTs answered with a 303; a refused step shows the page again with the reason."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from onelicense import clock
from onelicense.errors import Conflict, InvalidRequest, OneLicenseError
from onelicense.review.obligations import ObligationKind, ObligationStatus, inspection_overdue
from onelicense.review.roles import Actor, Role, require_role
from onelicense.services import catalog as catalogs
from onelicense.services import notifications, obligations, uploads
from onelicense.settings import get_settings
from onelicense.store.tables.lifecycle import Obligation
from onelicense.web.portal.common import DbSession, SignedInViewer, Viewer, check_csrf, form_version, redirect, render

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
HOLDER_DONE = {
    "submitted": "履约材料已提交，等待部门核验。",
    "read": "已全部标为已读。",
    "statement": "陈述申辩已提交，部门答复后会通知您。",
    "repair": "信用修复申请已提交，部门将在期限内审核。",
}
DESK_DONE = "已办理，持证人将收到通知。"
# what a department may do in each status (the forms the desk page shows)
DESK_STEPS: dict[ObligationStatus, tuple[str, ...]] = {
    ObligationStatus.OPEN: ("inspection",),
    ObligationStatus.SUBMITTED: ("verification",),
    ObligationStatus.OVERDUE: ("inspection", "rectification"),
    ObligationStatus.RECTIFYING: ("refusal",),
    ObligationStatus.RECTIFY_LAPSED: ("investigation",),
    ObligationStatus.INVESTIGATING: ("answer", "listing"),
    ObligationStatus.LISTED: ("restoration",),
    ObligationStatus.REPAIR_REQUESTED: ("restoration", "decline_repair"),
}
HOLDER_MAY_HAND_IN = frozenset(
    {
        ObligationStatus.OPEN,
        ObligationStatus.OVERDUE,
        ObligationStatus.RECTIFYING,
        ObligationStatus.RECTIFY_LAPSED,
        ObligationStatus.INVESTIGATING,
    }
)


def _holder(who: Viewer) -> Actor:
    assert who.actor is not None
    require_role(who.actor, frozenset({Role.APPLICANT}), "履行告知承诺")
    return who.actor


def _department(who: Viewer) -> Actor:
    assert who.actor is not None
    require_role(who.actor, frozenset({Role.REVIEWER, Role.ADMIN}), "办理承诺事项")
    return who.actor


def may_hand_in(row: Obligation) -> bool:
    if row.status not in HOLDER_MAY_HAND_IN:
        return False
    return row.kind is ObligationKind.SUPPLY or row.rectify_due_on is not None


# ---------------------------------------------------------------------------------------------------- holder


@router.get("/portal/obligations")
def holder_page(
    request: Request, who: SignedInViewer, session: DbSession, done: Annotated[str, Query(max_length=20)] = ""
) -> Response:
    return _holder_page(request, who, session, notice=HOLDER_DONE.get(done))


def _holder_page(request: Request, who: Viewer, session: Session, status_code: int = 200, **context: Any) -> Response:
    actor = _holder(who)
    context = {"notice": None, "error": None, **context}
    rows = obligations.list_obligations(session, actor, limit=500)
    standings = {o.uscc: obligations.credit_standing(session, o.uscc) for o in rows}
    return render(
        request,
        who,
        "commitments/holder.html.j2",
        status_code=status_code,
        rows=rows,
        standings=standings,
        may_hand_in=may_hand_in,
        repair_opens_on=lambda o: obligations.repair_opens_on(o, session),
        today=clock.today(),
        material_names=obligations.material_names,
        upload_cap_mb=get_settings().upload_max_bytes // (1024 * 1024),
        **context,
    )


@router.post("/portal/obligations/{obligation_id}/fulfil", dependencies=[Csrf])
async def hand_in(request: Request, who: SignedInViewer, session: DbSession, obligation_id: str) -> Response:
    actor = _holder(who)
    form = await request.form(max_files=20, max_fields=20)
    try:
        row = obligations.get_obligation(session, actor, obligation_id)
        files: dict[str, str] = {}
        for code in row.materials:
            part = form.get(f"file_{code}")
            if not isinstance(part, UploadFile) or not part.filename:
                continue
            data = await part.read(get_settings().upload_max_bytes + 1)
            name = catalogs.item_label(code)
            files[code] = uploads.reference(uploads.store_upload(session, actor, data, part.filename, what=name))
        obligations.submit_fulfilment(
            session, actor, obligation_id, files, expected_version=form_version(form.get("expected_version"))
        )
    except (InvalidRequest, Conflict) as exc:
        return _holder_page(request, who, session, status_code=exc.http_status, error=_reason(exc))
    return redirect("/portal/obligations?done=submitted", request)


@router.post("/portal/obligations/{obligation_id}/statement", dependencies=[Csrf])
def statement(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    obligation_id: str,
    text: Annotated[str, Form(max_length=2000)] = "",
    expected_version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """陈述申辩 during the 公示."""
    actor = _holder(who)
    try:
        obligations.make_statement(
            session, actor, obligation_id, statement=text, expected_version=form_version(expected_version)
        )
    except (InvalidRequest, Conflict) as exc:
        return _holder_page(request, who, session, status_code=exc.http_status, error=_reason(exc))
    return redirect("/portal/obligations?done=statement", request)


@router.post("/portal/obligations/{obligation_id}/repair", dependencies=[Csrf])
async def repair(request: Request, who: SignedInViewer, session: DbSession, obligation_id: str) -> Response:
    """信用修复 by application: a statement and the evidence (uploaded files)."""
    actor = _holder(who)
    form = await request.form(max_files=5, max_fields=10)
    try:
        obligations.get_obligation(session, actor, obligation_id)
        evidence: dict[str, str] = {}
        for n, part in enumerate(form.getlist("evidence"), start=1):
            if not isinstance(part, UploadFile) or not part.filename:
                continue
            data = await part.read(get_settings().upload_max_bytes + 1)
            label = f"证明材料{n}"
            evidence[label] = uploads.reference(uploads.store_upload(session, actor, data, part.filename, what=label))
        text = form.get("text")
        obligations.apply_for_repair(
            session, actor, obligation_id, statement=text if isinstance(text, str) else "", evidence=evidence,
            expected_version=form_version(form.get("expected_version")),
        )  # fmt: skip
    except (InvalidRequest, Conflict) as exc:
        return _holder_page(request, who, session, status_code=exc.http_status, error=_reason(exc))
    return redirect("/portal/obligations?done=repair", request)


@router.get("/portal/inbox")
def inbox(request: Request, who: SignedInViewer, session: DbSession) -> Response:
    assert who.actor is not None
    rows, unread = notifications.inbox(session, who.actor, limit=100)
    return render(request, who, "commitments/inbox.html.j2", rows=rows, unread=unread)


@router.post("/portal/inbox/read", dependencies=[Csrf])
def mark_read(
    request: Request, who: SignedInViewer, session: DbSession, notification_id: Annotated[str, Form(max_length=96)]
) -> Response:
    assert who.actor is not None
    notifications.mark_read(session, who.actor, notification_id)
    return redirect("/portal/inbox", request)


# ---------------------------------------------------------------------------------------------------- department


@router.get("/desk/obligations")
def desk_page(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    status: Annotated[str, Query(max_length=20)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return _desk_page(request, who, session, status=status, kind=kind, notice=DESK_DONE if done else None)


def _desk_page(
    request: Request,
    who: Viewer,
    session: Session,
    *,
    status: str = "",
    kind: str = "",
    status_code: int = 200,
    **context: Any,
) -> Response:
    actor = _department(who)
    context = {"notice": None, "error": None, **context}
    wanted_status = ObligationStatus(status) if status in ObligationStatus._value2member_map_ else None
    wanted_kind = ObligationKind(kind) if kind in ObligationKind._value2member_map_ else None
    rows = obligations.list_obligations(session, actor, status=wanted_status, kind=wanted_kind, limit=500)
    today = clock.today()
    return render(
        request,
        who,
        "commitments/desk.html.j2",
        status_code=status_code,
        rows=rows,
        steps=DESK_STEPS,
        statuses=list(ObligationStatus),
        kinds=list(ObligationKind),
        status=status,
        kind=kind,
        material_names=obligations.material_names,
        overdue=lambda o: inspection_overdue(o.kind, o.status, o.due_on, today),
        tasks=obligations.department_tasks(session, actor, today),
        undelivered_notices=notifications.undelivered_for_department(session, actor.department_code)
        if actor.department_code
        else [],
        undelivered=notifications.undelivered_obligations(session, actor.department_code or "")
        if actor.department_code
        else set(),
        **context,
    )


@router.post("/desk/obligations/{obligation_id}/{step}", dependencies=[Csrf])
def desk_step(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    obligation_id: str,
    step: str,
    outcome: Annotated[str, Form(max_length=10)] = "",
    text: Annotated[str, Form(max_length=1000)] = "",
    days: Annotated[str, Form(max_length=4)] = "",
    expected_version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    actor = _department(who)
    version = form_version(expected_version)
    try:
        period = int(days) if days.strip() else None
    except ValueError:
        period = None
    try:
        match step:
            case "verification":
                obligations.verify_fulfilment(session, actor, obligation_id, accept=outcome == "accept", reason=text,
                                              expected_version=version)  # fmt: skip
            case "inspection":
                obligations.record_inspection(session, actor, obligation_id, passed=outcome == "pass", note=text,
                                              rectify_days=period, expected_version=version)  # fmt: skip
            case "rectification":
                obligations.order_rectification(session, actor, obligation_id, reason=text, days=period,
                                                expected_version=version)  # fmt: skip
            case "refusal":
                obligations.record_refusal(session, actor, obligation_id, note=text, expected_version=version)
            case "investigation":
                obligations.open_investigation(session, actor, obligation_id, note=text, expected_version=version)
            case "listing":
                obligations.list_as_dishonest(session, actor, obligation_id, reason=text, expected_version=version)
            case "answer":
                obligations.answer_statement(session, actor, obligation_id, answer=text, expected_version=version)
            case "restoration":
                obligations.restore_credit(session, actor, obligation_id, note=text, expected_version=version)
            case "decline_repair":
                obligations.decline_repair(session, actor, obligation_id, reason=text, expected_version=version)
            case _:
                raise InvalidRequest(f"未知的办理步骤：{step}")
    except OneLicenseError as exc:
        if exc.http_status >= 500 or exc.http_status in (401, 403, 404):
            raise
        return _desk_page(request, who, session, status_code=exc.http_status, error=_reason(exc))
    return redirect("/desk/obligations?" + urlencode({"done": step}), request)


def _reason(exc: OneLicenseError) -> str:
    reasons = [str(e.get("message") or "") for e in exc.error_dicts()]
    return "；".join(r for r in reasons if r) or exc.message
