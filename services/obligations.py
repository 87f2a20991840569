"""Commitments after issuance (承诺制信任审批): the obligations a license issued on commitments carries, the holder's
fulfilment, the department's verification and inspection, and the path from overdue through rectification and
investigation to the dishonesty list (失信名单), the permit's withdrawal (撤销) and credit repair (信用修复).

Every step checks who acts (the holder for its own obligations, a reviewer of the permit's department, an admin),
the step table (`review.obligations`), writes an audit event and a notification, and commits in one transaction.
The daily `sweep` moves what time alone moves (reminders, overdue, lapsed rectifications, renewal reminders) in
set-based statements, never row by row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    true,
    update,
)
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from onelicense import clock
from onelicense.clock import utcnow
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.forms.model import Commitment
from onelicense.licenses.status import LicenseStatus, Operation
from onelicense.review.obligations import (
    BROKEN,
    ENDS_WITH_LICENSE,
    ObligationKind,
    ObligationStatus,
    ObligationStep,
    after_rejection,
    department_task,
    next_obligation_status,
    obligations_of,
    reminder_windows,
    task_level,
)
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role
from onelicense.review.sla import nth_working_day
from onelicense.services import catalog as catalogs
from onelicense.services import notifications, uploads
from onelicense.services.permit_changes import apply_permit_operation
from onelicense.settings import get_settings
from onelicense.store import audit, bulk, inputs, paging
from onelicense.store.db import transaction
from onelicense.store.locking import update_versioned
from onelicense.store.tables.application import Application, DepartmentReview
from onelicense.store.tables.license import License, LicensePermit
from onelicense.store.tables.lifecycle import CreditRecord, Notification, Obligation

_FIELDS = ("status", "due_on", "rectify_due_on", "publicity_until", "note", "statement", "statement_answer",
           "repair_requested_on", "repair_due_on", "version")  # fmt: skip
_STALE = "该承诺事项已被他人处理，请刷新后重试"


# ------------------------------------------------------------------------------------------------ issuance


def open_obligations(
    session: Session, license_: License, permits: list[LicensePermit], application: Application
) -> list[Obligation]:
    """The obligations of a license just issued (no commit: written with the license). One per permit issued on a
    commitment category, due on the working-day calendar from the day of issuance."""
    catalog, calendar = catalogs.catalog(), catalogs.calendar(session)
    inspection_days = get_settings().inspection_days
    instant = {  # permits the system granted at once (秒批): the department's "先予许可、待核查" list names them
        code
        for review in session.exec(
            select(DepartmentReview).where(
                DepartmentReview.application_id == application.id, DepartmentReview.assignee == SYSTEM_ACTOR.user_id
            )
        )
        for code in review.permit_codes
    }
    handed_in = {code for code, value in (application.materials or {}).items() if value}
    rows = []
    for permit in permits:
        spec = catalog.permits.get(permit.permit_code)
        if spec is None:
            continue
        for item in obligations_of(spec, permit.issued_on, calendar, inspection_days=inspection_days):
            if item.kind is ObligationKind.SUPPLY:  # what came with the application is not owed again
                item = replace(item, materials=tuple(m for m in item.materials if m not in handed_in))
                if not item.materials:
                    continue
            rows.append(
                Obligation(
                    license_id=license_.id,
                    application_id=application.id,
                    holder_user_id=application.submitted_by,
                    uscc=license_.uscc,
                    permit_code=item.permit_code,
                    permit_number=permit.number,
                    department_code=item.department_code,
                    kind=item.kind,
                    commitment=item.commitment.value,
                    materials=list(item.materials),
                    due_on=item.due_on,
                    note="秒批：系统先予许可，待事后核查" if item.permit_code in instant else None,
                )
            )
    session.add_all(rows)
    return rows


def end_with_license(session: Session, license_id: str) -> int:
    """The license ended (注销, 撤销, 吊销): its commitments not yet broken end too (no commit). A broken one stays
    open with its department: ending the license does not undo it."""
    statement = (
        update(Obligation)
        .where(col(Obligation.license_id) == license_id, col(Obligation.status).in_(list(ENDS_WITH_LICENSE)))
        .values(status=ObligationStatus.ENDED, version=col(Obligation.version) + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(session.connection().execute(statement).rowcount or 0)


# ------------------------------------------------------------------------------------------------ reading


def _may_view(actor: Actor, obligation: Obligation) -> bool:
    if actor.role in (Role.ADMIN, Role.SYSTEM, Role.SUPERVISOR):
        return True
    if actor.role is Role.APPLICANT:
        return obligation.holder_user_id == actor.user_id
    return actor.role is Role.REVIEWER and actor.department_code == obligation.department_code


def _may_decide(actor: Actor, obligation: Obligation) -> bool:
    if actor.role in (Role.ADMIN, Role.SYSTEM):
        return True
    return actor.role is Role.REVIEWER and actor.department_code == obligation.department_code


def get_obligation(session: Session, actor: Actor, obligation_id: str) -> Obligation:
    obligation = session.get(Obligation, obligation_id, populate_existing=True)
    if obligation is None or not _may_view(actor, obligation):
        raise NotFound("承诺事项不存在")  # the same answer for "not yours": ids are not probed
    return obligation


def list_obligations(
    session: Session,
    actor: Actor,
    *,
    status: ObligationStatus | None = None,
    kind: ObligationKind | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Obligation]:
    """What the actor may see: a holder its own, a reviewer its department's, overseers all; soonest due first."""
    statement = _visible_obligations(actor, status, kind).order_by(col(Obligation.due_on), col(Obligation.id))
    return list(session.exec(statement.offset(inputs.offset(offset)).limit(inputs.page_size(limit))))


def count_obligations(
    session: Session, actor: Actor, *, status: ObligationStatus | None = None, kind: ObligationKind | None = None
) -> int:
    """How many obligations `list_obligations` pages through with the same filters."""
    return paging.count_rows(session, _visible_obligations(actor, status, kind))


def _visible_obligations(
    actor: Actor, status: ObligationStatus | None, kind: ObligationKind | None
) -> SelectOfScalar[Obligation]:
    statement = select(Obligation)
    if actor.role is Role.APPLICANT:
        statement = statement.where(Obligation.holder_user_id == actor.user_id)
    elif actor.role is Role.REVIEWER:
        statement = statement.where(Obligation.department_code == (actor.department_code or ""))
    elif actor.role not in (Role.ADMIN, Role.SYSTEM, Role.SUPERVISOR):
        raise Forbidden("无权查看承诺事项")
    if status is not None:
        statement = statement.where(Obligation.status == status)
    if kind is not None:
        statement = statement.where(Obligation.kind == kind)
    return statement


@dataclass(frozen=True)
class OverdueInspections:
    """A department's 事后核查 past their deadline (核查逾期), for the supervision board."""

    department_code: str
    count: int
    oldest_due_on: date
    permit_numbers: tuple[str, ...]  # the longest overdue first, at most 20


def overdue_inspections(session: Session, today: date | None = None) -> list[OverdueInspections]:
    """Per department, the checks it owes past their due date (review.obligations.inspection_overdue, in SQL), the
    most overdue department first."""
    today = today or clock.today()
    statement = (
        select(col(Obligation.department_code), col(Obligation.permit_number), col(Obligation.due_on))
        .where(
            col(Obligation.kind) == ObligationKind.INSPECTION,
            col(Obligation.status) == ObligationStatus.OPEN,
            col(Obligation.due_on) < today,
        )
        .order_by(col(Obligation.due_on), col(Obligation.id))
    )
    found: dict[str, list[tuple[str, date]]] = {}
    for department, number, due_on in session.exec(statement):
        found.setdefault(department, []).append((number, due_on))
    rows = [
        OverdueInspections(code, len(items), items[0][1], tuple(n for n, _ in items[:20]))
        for code, items in found.items()
    ]
    return sorted(rows, key=lambda r: (r.oldest_due_on, r.department_code))


@dataclass(frozen=True)
class Task:
    """One item of a department's to-do on its obligations (review.obligations.department_task), coloured."""

    obligation: Obligation
    label: str
    due_on: date | None
    level: str  # green | yellow | red


def department_tasks(session: Session, actor: Actor, today: date | None = None) -> list[Task]:
    """What waits for the actor's department (an overseer: every department) among the obligations, the most
    urgent first: hand-ins to verify, 事后核查 due, lapsed rectifications, statements to answer, 公示 periods ended,
    credit repairs to decide."""
    today = today or clock.today()
    calendar = catalogs.calendar(session)
    waiting = (
        ObligationStatus.OPEN, ObligationStatus.SUBMITTED, ObligationStatus.OVERDUE, ObligationStatus.RECTIFY_LAPSED,
        ObligationStatus.INVESTIGATING, ObligationStatus.REPAIR_REQUESTED,
    )  # fmt: skip
    statement = select(Obligation).where(col(Obligation.status).in_(waiting))
    if actor.role is Role.REVIEWER:
        statement = statement.where(Obligation.department_code == (actor.department_code or ""))
    elif actor.role not in (Role.ADMIN, Role.SYSTEM, Role.SUPERVISOR):
        raise Forbidden("无权查看承诺事项")
    tasks = []
    for o in session.exec(statement.order_by(col(Obligation.due_on), col(Obligation.id))):
        task = department_task(
            o.kind, o.status, due_on=o.due_on, publicity_until=o.publicity_until, repair_due_on=o.repair_due_on,
            statement_pending=o.statement is not None and o.statement_answer is None, today=today,
        )  # fmt: skip
        if task is not None:
            tasks.append(Task(o, task.label, task.due_on, task_level(task.due_on, today, calendar)))
    order = {"red": 0, "yellow": 1, "green": 2}
    return sorted(tasks, key=lambda t: (order[t.level], t.due_on or date.max))


def material_names(obligation: Obligation) -> list[str]:
    materials = catalogs.catalog().materials
    return [materials[m].name if m in materials else m for m in obligation.materials]


# ------------------------------------------------------------------------------------------------ steps


def _step(
    session: Session,
    actor: Actor,
    obligation_id: str,
    step: ObligationStep,
    *,
    expected_version: int | None = None,
    holder: bool = False,
) -> tuple[Obligation, ObligationStatus | None, dict[str, object]]:
    obligation = get_obligation(session, actor, obligation_id)
    if holder:
        if actor.role is not Role.APPLICANT or obligation.holder_user_id != actor.user_id:
            raise Forbidden("只有持证人本人可以提交履约材料")
    elif not _may_decide(actor, obligation):
        raise Forbidden(f"仅{catalogs.department_name(obligation.department_code)}或管理员可以办理")
    if expected_version is not None and expected_version != obligation.version:
        raise Conflict(_STALE)
    return obligation, next_obligation_status(step, obligation.status), audit.snapshot(obligation, *_FIELDS)


def _finish(
    session: Session,
    actor: Actor,
    obligation: Obligation,
    step: ObligationStep,
    before: dict[str, object],
    event: str | None,
    **values: object,
) -> Obligation:
    update_versioned(session, obligation, _STALE, **values)
    return _recorded(session, actor, obligation, step, before, event, note=values.get("note"))


def _recorded(
    session: Session,
    actor: Actor,
    obligation: Obligation,
    step: ObligationStep,
    before: dict[str, object],
    event: str | None,
    *,
    note: object = None,
) -> Obligation:
    """Audit a step already written to `obligation` and tell the holder (`event`)."""
    audit.record(session, actor, f"obligation.{step.value}", "obligation", obligation.id, before,
                 audit.snapshot(obligation, *_FIELDS))  # fmt: skip
    if event is not None:
        notifications.notify(
            session,
            event,
            f"{obligation.id}:{obligation.version}",
            user_id=obligation.holder_user_id,
            application_id=obligation.application_id,
            obligation_id=obligation.id,
            detail=str(note or "") or None,
        )
    return obligation


def submit_fulfilment(
    session: Session,
    actor: Actor,
    obligation_id: str,
    materials: Mapping[str, object],
    *,
    expected_version: int | None = None,
) -> Obligation:
    """The holder hands in what it owes (uploaded files by material code): every owed material for 要件后补, at
    least one file (整改 evidence) after a failed inspection. The department then verifies it."""
    with transaction(session):
        obligation, status, before = _step(
            session, actor, obligation_id, ObligationStep.SUBMIT, expected_version=expected_version, holder=True
        )
        if obligation.kind is ObligationKind.INSPECTION and obligation.rectify_due_on is None:
            raise Conflict("该事项待部门事后核查，无需提交材料")
        given = {str(k): v for k, v in dict(materials or {}).items() if v}
        unknown = sorted(set(given) - set(obligation.materials))
        if unknown:
            raise _invalid("materials", f"以下材料不属于该承诺事项：{'、'.join(unknown)}")
        missing = [m for m in obligation.materials if m not in given]
        if obligation.kind is ObligationKind.SUPPLY and missing:
            names = "、".join(catalogs.item_label(m) for m in missing)
            raise _invalid("materials", f"请上传承诺后补的全部材料，尚缺：{names}")
        if not given:
            raise _invalid("materials", "请至少上传一份整改材料")
        if not_files := [k for k, v in given.items() if uploads.upload_id_of(v) is None]:
            raise _invalid("materials", f"请上传文件：{'、'.join(catalogs.item_label(k) for k in not_files)}")
        uploads.check_owned(session, actor, dict(given))
        return _finish(session, actor, obligation, ObligationStep.SUBMIT, before, None, status=status,
                       submitted={k: str(v) for k, v in given.items()})  # fmt: skip


def verify_fulfilment(
    session: Session,
    actor: Actor,
    obligation_id: str,
    *,
    accept: bool,
    reason: str = "",
    expected_version: int | None = None,
) -> Obligation:
    """The department accepts the hand-in (the obligation closes) or rejects it with a reason (it goes back to
    where it stood: due, overdue, in rectification or under investigation)."""
    step = ObligationStep.ACCEPT if accept else ObligationStep.REJECT
    with transaction(session):
        obligation, status, before = _step(session, actor, obligation_id, step, expected_version=expected_version)
        note = (
            inputs.text(reason, "核验意见", required=False, max_length=1000)
            if accept
            else _reason(reason, "不通过原因")
        )
        if accept:
            return _finish(session, actor, obligation, step, before, "fulfilment_accepted", status=status, note=note)
        back = after_rejection(
            obligation.due_on, obligation.rectify_due_on, obligation.publicity_until is not None, clock.today()
        )
        return _finish(session, actor, obligation, step, before, "fulfilment_rejected", status=back, note=note)


def record_inspection(
    session: Session,
    actor: Actor,
    obligation_id: str,
    *,
    passed: bool,
    note: str,
    rectify_days: int | None = None,
    expected_version: int | None = None,
) -> Obligation:
    """The department's post-approval check (事后核查) of a trusted permit: passed closes it; failed orders
    rectification within `rectify_days` working days (default from the settings)."""
    step = ObligationStep.INSPECT_PASS if passed else ObligationStep.INSPECT_FAIL
    with transaction(session):
        obligation, status, before = _step(session, actor, obligation_id, step, expected_version=expected_version)
        if obligation.kind is not ObligationKind.INSPECTION:
            raise Conflict("该事项为要件后补，请核验持证人提交的材料")
        if passed:
            text = inputs.text(note, "核查结果", required=False, max_length=1000)
            return _finish(session, actor, obligation, step, before, "inspection_passed", status=status, note=text)
        text = _reason(note, "核查发现的问题")
        start, days = clock.today(), _rectify_days(rectify_days)
        return _finish(session, actor, obligation, step, before, "rectification", status=status, note=text,
                       rectify_from=start, rectify_days=days, breached=True,
                       rectify_due_on=nth_working_day(start, days, catalogs.calendar(session)))  # fmt: skip


def order_rectification(
    session: Session,
    actor: Actor,
    obligation_id: str,
    *,
    reason: str,
    days: int | None = None,
    expected_version: int | None = None,
) -> Obligation:
    """Overdue is not yet dishonest: the department sets a rectification deadline (限期整改) with a reason."""
    step = ObligationStep.RECTIFY
    with transaction(session):
        obligation, status, before = _step(session, actor, obligation_id, step, expected_version=expected_version)
        start, days = clock.today(), _rectify_days(days)
        return _finish(session, actor, obligation, step, before, "rectification", status=status,
                       note=_reason(reason, "整改要求"), rectify_from=start, rectify_days=days,
                       rectify_due_on=nth_working_day(start, days, catalogs.calendar(session)))  # fmt: skip


def record_refusal(
    session: Session, actor: Actor, obligation_id: str, *, note: str, expected_version: int | None = None
) -> Obligation:
    """The holder refuses to rectify (拒不整改): as if the deadline had lapsed."""
    step = ObligationStep.REFUSE
    with transaction(session):
        obligation, status, before = _step(session, actor, obligation_id, step, expected_version=expected_version)
        return _finish(session, actor, obligation, step, before, "rectification_lapsed", status=status,
                       note=_reason(note, "拒不整改的情况"))  # fmt: skip


def open_investigation(
    session: Session, actor: Actor, obligation_id: str, *, note: str, expected_version: int | None = None
) -> Obligation:
    """After a lapsed rectification: the investigation note, and the publicity period (公示) that must pass before
    the holder may be listed. The holder may still rectify meanwhile."""
    step = ObligationStep.INVESTIGATE
    with transaction(session):
        obligation, status, before = _step(session, actor, obligation_id, step, expected_version=expected_version)
        start, days = clock.today(), get_settings().publicity_days
        until = nth_working_day(start, days, catalogs.calendar(session))
        return _finish(session, actor, obligation, step, before, "investigation", status=status,
                       note=_reason(note, "调查情况"), publicity_until=until, publicity_from=start,
                       publicity_days=days)  # fmt: skip


def list_as_dishonest(
    session: Session, actor: Actor, obligation_id: str, *, reason: str, expected_version: int | None = None
) -> Obligation:
    """Once the publicity period is over: put the holder on the dishonesty list for the configured years and
    withdraw (撤销) the permit's approval, in one transaction (the public page shows it at once)."""
    step = ObligationStep.LIST
    with transaction(session):
        obligation, status, before = _step(session, actor, obligation_id, step, expected_version=expected_version)
        text = _reason(reason, "列入失信名单的理由")
        day = clock.today()
        if obligation.publicity_until is None or day <= obligation.publicity_until:
            raise Conflict(f"公示期至 {obligation.publicity_until} 止，期满后方可列入失信名单")
        if obligation.statement is not None and obligation.statement_answer is None:
            raise Conflict("当事人在公示期内提出了陈述申辩，答复后方可列入失信名单")
        license_ = session.get(License, obligation.license_id)
        assert license_ is not None  # foreign key
        # the obligation's row first: of two officers listing at once, the second is refused here (409) before it
        # writes a credit record or touches the permit
        update_versioned(session, obligation, _STALE, status=status, note=text)
        years = get_settings().dishonesty_block_years
        session.add(
            CreditRecord(
                uscc=obligation.uscc,
                holder_name=license_.holder_name,
                obligation_id=obligation.id,
                reason=text,
                listed_on=day,
                blocked_until=_years_later(day, years),
            )
        )
        permit = session.exec(select(LicensePermit).where(LicensePermit.number == obligation.permit_number)).first()
        assert permit is not None  # written with the license
        if permit.status in (LicenseStatus.VALID, LicenseStatus.SUSPENDED):
            apply_permit_operation(session, actor, permit, Operation.WITHDRAW, reason=f"未履行告知承诺：{text}")
            notifications.notify(
                session,
                "permit_withdrawn",
                f"{permit.id}:{permit.version}",
                user_id=obligation.holder_user_id,
                application_id=obligation.application_id,
                permit_id=permit.id,
                detail=text,
            )
        session.flush()  # the notice states the record (until when, from when a repair may be asked)
        return _recorded(session, actor, obligation, step, before, "listed", note=text)


def make_statement(
    session: Session, actor: Actor, obligation_id: str, *, statement: str, expected_version: int | None = None
) -> Obligation:
    """陈述申辩: during the 公示 (up to its last day) the holder states its case, once; the department must answer
    before it may list the holder."""
    step = ObligationStep.STATE
    with transaction(session):
        obligation, status, before = _step(
            session, actor, obligation_id, step, expected_version=expected_version, holder=True
        )
        if obligation.publicity_until is None or clock.today() > obligation.publicity_until:
            raise Conflict(f"公示期已于 {obligation.publicity_until} 结束，不能再提出陈述申辩")
        if obligation.statement is not None:
            raise Conflict("已提出过陈述申辩，请等待部门答复")
        text = inputs.text(statement, "陈述申辩", max_length=2000)
        return _finish(session, actor, obligation, step, before, None, status=status, statement=text)


def answer_statement(
    session: Session, actor: Actor, obligation_id: str, *, answer: str, expected_version: int | None = None
) -> Obligation:
    """The department answers the holder's 陈述申辩 (the holder is told); only then may it list the holder."""
    step = ObligationStep.ANSWER
    with transaction(session):
        obligation, status, before = _step(session, actor, obligation_id, step, expected_version=expected_version)
        if obligation.statement is None or obligation.statement_answer is not None:
            raise Conflict("没有待答复的陈述申辩")
        text = inputs.text(answer, "答复意见", max_length=2000)
        return _finish(session, actor, obligation, step, before, "statement_answered", status=status,
                       statement_answer=text, note=text)  # fmt: skip


def repair_opens_on(obligation: Obligation, session: Session) -> date | None:
    """The first day the holder may apply for 信用修复 (None: not listed)."""
    record = session.exec(select(CreditRecord).where(CreditRecord.obligation_id == obligation.id)).first()
    if record is None:
        return None
    return record.listed_on + timedelta(days=get_settings().credit_repair_min_days)


def apply_for_repair(
    session: Session,
    actor: Actor,
    obligation_id: str,
    *,
    statement: str,
    evidence: Mapping[str, object],
    expected_version: int | None = None,
) -> Obligation:
    """信用修复 by application: once the minimum period on the list has passed, the holder applies with a statement
    and at least one uploaded file of evidence (its own); the department decides within
    `credit_repair_review_days` working days."""
    step = ObligationStep.APPLY_REPAIR
    with transaction(session):
        obligation, status, before = _step(
            session, actor, obligation_id, step, expected_version=expected_version, holder=True
        )
        today = clock.today()
        opens = repair_opens_on(obligation, session)
        if opens is not None and today < opens:
            raise Conflict(f"列入失信名单满 {get_settings().credit_repair_min_days} 日后（{opens} 起）方可申请信用修复")
        text = inputs.text(statement, "信用修复申请说明", max_length=2000)
        given = {str(k): v for k, v in dict(evidence or {}).items() if v}
        if not given:
            raise _invalid("evidence", "请上传整改到位或履行承诺的证明材料")
        if not_files := [k for k, v in given.items() if uploads.upload_id_of(v) is None]:
            raise _invalid("evidence", f"请上传文件：{'、'.join(not_files)}")
        uploads.check_owned(session, actor, dict(given))
        due = nth_working_day(today, get_settings().credit_repair_review_days, catalogs.calendar(session))
        return _finish(session, actor, obligation, step, before, None, status=status, repair_statement=text,
                       repair_evidence={k: str(v) for k, v in given.items()}, repair_requested_on=today,
                       repair_due_on=due)  # fmt: skip


def decline_repair(
    session: Session, actor: Actor, obligation_id: str, *, reason: str, expected_version: int | None = None
) -> Obligation:
    """The department refuses the application for 信用修复 with a reason (the holder is told); the holder stays
    listed and may apply again."""
    step = ObligationStep.DECLINE_REPAIR
    with transaction(session):
        obligation, status, before = _step(session, actor, obligation_id, step, expected_version=expected_version)
        text = _reason(reason, "不予信用修复的理由")
        return _finish(session, actor, obligation, step, before, "repair_declined", status=status, note=text,
                       repair_due_on=None)  # fmt: skip


def restore_credit(
    session: Session, actor: Actor, obligation_id: str, *, note: str, expected_version: int | None = None
) -> Obligation:
    """信用修复: the holder has made good (its application approved, or the department's own finding); the listing
    ends today, with the record of why. The withdrawn permit stays withdrawn (a new application restores the right
    to operate)."""
    step = ObligationStep.RESTORE
    with transaction(session):
        obligation, status, before = _step(session, actor, obligation_id, step, expected_version=expected_version)
        text = _reason(note, "信用修复的依据")
        record = session.exec(select(CreditRecord).where(CreditRecord.obligation_id == obligation.id)).one()
        record.restored_on = clock.today()
        record.restore_note = text
        session.add(record)
        return _finish(session, actor, obligation, step, before, "restored", status=status, note=text,
                       repair_due_on=None)  # fmt: skip


def _invalid(key: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{message}（{key}）", errors=[{"key": key, "message": message}])


def _reason(text: str, what: str) -> str:
    return inputs.text(text, what, max_length=1000)


def _rectify_days(days: int | None) -> int:
    days = get_settings().rectification_days if days is None else days
    if not 1 <= int(days) <= 180:
        raise _invalid("days", "整改期限应为 1 至 180 个工作日")
    return int(days)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 3, 1)


# ------------------------------------------------------------------------------------------------ consequences


@dataclass(frozen=True)
class CreditStanding:
    """A holder's record (by USCC): listed (and until when), or 守信 when it has kept every commitment so far."""

    uscc: str
    blocked_until: date | None
    reason: str | None
    reliable: bool  # 守信: has commitments and none broken

    @property
    def label(self) -> str:
        if self.blocked_until is not None:
            return f"失信（至 {self.blocked_until.isoformat()} 不适用告知承诺制）"
        return "守信" if self.reliable else "无记录"


def credit_of(session: Session, actor: Actor, uscc: str) -> CreditStanding:
    """A holder's credit standing as the actor may read it: staff any holder's, an applicant its own businesses'."""
    if actor.role is Role.APPLICANT:
        if uscc not in (actor.usccs or frozenset()):
            raise Forbidden("只能查询本账号代表的经营主体的信用状况")
    elif actor.role not in (Role.REVIEWER, Role.ADMIN, Role.SUPERVISOR, Role.SYSTEM):
        raise Forbidden("无权查询信用状况")
    return credit_standing(session, uscc)


def credit_standing(session: Session, uscc: str, on: date | None = None) -> CreditStanding:
    row = session.execute(_credit_statement(), {"uscc": uscc, "on": on or clock.today()}).one()
    total, broken = int(row.total or 0), int(row.broken or 0)
    return CreditStanding(
        uscc=uscc,
        blocked_until=row.blocked_until,
        reason=row.reason,
        reliable=row.blocked_until is None and total > 0 and broken == 0,
    )


@cache
def _credit_statement() -> Select[Any]:
    """One statement, built once (every submit asks, and building it costs more than running it): the commitments
    counted, beside the listing in force on `:on`, if any."""
    uscc = bindparam("uscc", type_=String)
    listing = (
        sql_select(col(CreditRecord.blocked_until), col(CreditRecord.reason))
        .where(
            col(CreditRecord.uscc) == uscc,
            col(CreditRecord.restored_on).is_(None),
            col(CreditRecord.blocked_until) >= bindparam("on", type_=Date),
        )
        .order_by(col(CreditRecord.blocked_until).desc())
        .limit(1)
        .subquery()
    )
    broken = or_(col(Obligation.status).in_(list(BROKEN)), col(Obligation.breached))
    counts = (
        sql_select(func.count().label("total"), func.sum(case((broken, 1), else_=0)).label("broken"))
        .where(col(Obligation.uscc) == uscc)
        .subquery()
    )
    return sql_select(counts.c.total, counts.c.broken, listing.c.blocked_until, listing.c.reason).select_from(
        counts.outerjoin(listing, true())
    )


def commitment_block(
    session: Session, uscc: str, permits: list[str], materials: Mapping[str, object]
) -> list[dict[str, str]]:
    """预审 findings (blocking) for a holder on the dishonesty list: it may not rely on 告知承诺 until the listing
    ends, so every material a commitment would have deferred must come with the application. Empty: no block."""
    standing = credit_standing(session, uscc)
    if standing.blocked_until is None:
        return []
    catalog = catalogs.catalog()
    findings = []
    for code in permits:
        permit = catalog.permits.get(code)
        if permit is None or permit.commitment is None:
            continue
        missing = [
            catalog.materials[m.code].name
            for m in permit.materials
            if (permit.commitment is Commitment.FULL_TRUST or not m.core) and not materials.get(m.code)
        ]
        if not missing:
            continue
        department = catalogs.department_name(permit.department)
        message = (
            f"申请人已被列入失信名单（{standing.reason}），至 {standing.blocked_until.isoformat()} 前不适用告知承诺制，"
            f"「{permit.name}」须一并提交：{'、'.join(missing)}"
        )
        findings.append(
            {
                "permit_code": permit.code,
                "permit_name": permit.name,
                "department_code": permit.department,
                "department_name": department,
                "severity": "blocking",
                "severity_label": "阻断",
                "message": message,
                "rule": "credit.dishonesty_list",
            }
        )
    return findings


# ------------------------------------------------------------------------------------------------ the sweep


@dataclass(frozen=True)
class SweepResult:
    day: date
    reminders: int
    overdue: int
    lapsed: int
    renewal_reminders: int
    expired: int = 0  # permits whose validity ended (announced once)


def sweep(session: Session, day: date | None = None) -> SweepResult:
    """What time alone moves, for `day` (default today, Beijing time), in one transaction of set-based
    statements: reminders before a due date (the most urgent window only), obligations past due → 逾期,
    rectification deadlines past → 整改逾期, and reminders before a permit's validity ends. Running it again on
    the same day changes nothing and announces nothing twice."""
    day = day or clock.today()
    settings = get_settings()
    calendar = catalogs.calendar(session)
    now = utcnow()
    reminders = overdue = lapsed = renewals = 0
    status, kind = col(Obligation.status), col(Obligation.kind)
    with transaction(session):
        for offset, first, last in reminder_windows(day, settings.reminder_days, calendar):
            due_soon = or_(
                and_(status == ObligationStatus.OPEN, kind == ObligationKind.SUPPLY,
                     col(Obligation.due_on).between(first, last)),
                and_(status == ObligationStatus.RECTIFYING, col(Obligation.rectify_due_on).between(first, last)),
            )  # fmt: skip
            deadline = func.coalesce(col(Obligation.rectify_due_on), col(Obligation.due_on))
            reminders += _announce(session, "obligation_reminder", due_soon, now, f"{offset}:", deadline)
        past_due = and_(status == ObligationStatus.OPEN, kind == ObligationKind.SUPPLY, col(Obligation.due_on) < day)
        _announce(session, "obligation_overdue", past_due, now, "", col(Obligation.version))
        overdue = _move(session, past_due, status=ObligationStatus.OVERDUE, breached=True)
        lapsed_rule = and_(status == ObligationStatus.RECTIFYING, col(Obligation.rectify_due_on) < day)
        _announce(session, "rectification_lapsed", lapsed_rule, now, "", col(Obligation.version))
        lapsed = _move(session, lapsed_rule, status=ObligationStatus.RECTIFY_LAPSED)
        for days_before in sorted(set(settings.renewal_reminder_days)):
            ends = day + timedelta(days=days_before)
            renewals += _announce_permits(
                session, "renewal_due", now, f"{days_before}:", col(LicensePermit.valid_until) == ends
            )
        expired = day - timedelta(days=1)  # 失效 is computed from the dates; the holder is told the day after
        expirations = _announce_permits(
            session,
            "permit_expired",
            now,
            "",
            col(LicensePermit.valid_until) <= expired,
            col(LicensePermit.valid_until) >= expired - timedelta(days=7),  # a sweep that missed a week
        )
        audit.record(session, SYSTEM_ACTOR, "obligation.sweep", "sweep", day.isoformat(), None,
                     {"reminders": reminders, "overdue": overdue, "lapsed": lapsed, "renewal_reminders": renewals,
                      "expired": expirations})  # fmt: skip
    return SweepResult(day, reminders, overdue, lapsed, renewals, expirations)


def _announce_permits(session: Session, event: str, now: datetime, prefix: str, *dates: ColumnElement[bool]) -> int:
    """One notification per permit in force (of a license in force) whose validity end matches `dates`, to the
    holder who applied, keyed `<event>:<prefix><permit id>:<valid until>`."""
    key = (
        literal(f"{event}:{prefix}") + col(LicensePermit.id) + literal(":")
        + cast(col(LicensePermit.valid_until), String)
    )  # fmt: skip
    return bulk.insert_missing_from(
        session,
        Notification,
        ["id", "event", "user_id", "application_id", "permit_id", "created_at"],
        sql_select(
            key,
            literal(event),
            col(Application.submitted_by),
            col(Application.id),
            col(LicensePermit.id),
            literal(now),
        )
        .join(License, col(License.id) == col(LicensePermit.license_id))
        .join(Application, col(Application.id) == col(License.application_id))
        .where(*dates, col(LicensePermit.status) == LicenseStatus.VALID, col(License.status) == LicenseStatus.VALID),
    )


def _announce(session: Session, event: str, rule: ColumnElement[bool], now: datetime, prefix: str, suffix: Any) -> int:
    """One notification per obligation matching `rule`, keyed `<event>:<prefix><obligation id>:<suffix>`."""
    key = literal(f"{event}:{prefix}") + col(Obligation.id) + literal(":") + cast(suffix, String)
    return bulk.insert_missing_from(
        session,
        Notification,
        ["id", "event", "user_id", "application_id", "obligation_id", "created_at"],
        sql_select(
            key,
            literal(event),
            col(Obligation.holder_user_id),
            col(Obligation.application_id),
            col(Obligation.id),
            literal(now),
        ).where(rule),
    )


def _move(session: Session, rule: ColumnElement[bool], **values: object) -> int:
    statement = (
        update(Obligation)
        .where(rule)
        .values(**values, version=col(Obligation.version) + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(session.connection().execute(statement).rowcount or 0)
