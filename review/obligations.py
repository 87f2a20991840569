"""Commitments after issuance (承诺制信任审批, 事前风险可控、事中监督、事后结果运用): what a license issued on commitments
obliges, when it is due, and the allowed steps from due to kept or broken. Pure: the calendar and the limits
come as arguments; the store checks every change against `OBLIGATION_TRANSITIONS`.

Two kinds of obligation follow from a permit's commitment category (告知承诺) in the catalog:
- 要件后补: the holder hands in the materials it was allowed to supply later, within the permit's
  `supplement_days` working days of issuance; the department verifies them.
- 全信任 / 非核心要件信任: the department checks on site or on paper that what was promised is true (事后核查)
  within `inspection_days` working days of issuance.

Overdue is not yet dishonest: the department first sets a rectification deadline (限期整改); only when that lapses
(or the holder refuses) may it open an investigation with a publicity period (公示), and only after that list the
holder as dishonest (失信名单) and withdraw the permit (撤销). A holder may be restored (信用修复) with a record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from onelicense.errors import TransitionNotAllowed
from onelicense.forms.model import Commitment, Permit
from onelicense.review.sla import WorkingCalendar, nth_working_day
from onelicense.review.transitions import LabelledEnum


class ObligationKind(LabelledEnum):
    SUPPLY = "supply", "要件后补"  # the holder owes materials
    INSPECTION = "inspection", "事后核查"  # the department owes a check of what was promised


class ObligationStatus(LabelledEnum):
    OPEN = "open", "待履行"
    SUBMITTED = "submitted", "待核验"
    FULFILLED = "fulfilled", "已履行"
    OVERDUE = "overdue", "逾期未履行"
    RECTIFYING = "rectifying", "限期整改"
    RECTIFY_LAPSED = "rectify_lapsed", "整改逾期"
    INVESTIGATING = "investigating", "调查公示"
    LISTED = "listed", "列入失信名单"
    REPAIR_REQUESTED = "repair_requested", "信用修复审核中"
    RESTORED = "restored", "信用修复"
    ENDED = "ended", "许可已终止"  # the license was cancelled, withdrawn or revoked before it fell due


def inspection_overdue(kind: ObligationKind, status: ObligationStatus, due_on: date, today: date) -> bool:
    """The department's own 事后核查 is past its working-day deadline and not yet done (核查逾期): computed from the
    dates like 失效, never stored, and never the holder's breach."""
    return kind is ObligationKind.INSPECTION and status is ObligationStatus.OPEN and today > due_on


@dataclass(frozen=True)
class DepartmentTask:
    """What an obligation waits for from its department today (its to-do), and by when, if a date binds it."""

    label: str
    due_on: date | None


def department_task(
    kind: ObligationKind,
    status: ObligationStatus,
    *,
    due_on: date,
    publicity_until: date | None,
    statement_pending: bool,
    repair_due_on: date | None,
    today: date,
) -> DepartmentTask | None:
    """The department's next move on an obligation, or None when it waits for the holder or the calendar."""
    if status is ObligationStatus.OPEN and kind is ObligationKind.INSPECTION:
        return DepartmentTask("事后核查", due_on)
    if status is ObligationStatus.SUBMITTED:
        return DepartmentTask("核验履约材料", None)
    if status is ObligationStatus.OVERDUE:
        return DepartmentTask("逾期未履行，责令限期整改", None)
    if status is ObligationStatus.RECTIFY_LAPSED:
        return DepartmentTask("整改期满，立案调查", None)
    if status is ObligationStatus.INVESTIGATING and statement_pending:
        return DepartmentTask("答复陈述申辩", publicity_until)
    if status is ObligationStatus.INVESTIGATING and publicity_until is not None and today > publicity_until:
        return DepartmentTask("公示期满，决定是否列入失信名单", None)
    if status is ObligationStatus.REPAIR_REQUESTED:
        return DepartmentTask("审核信用修复申请", repair_due_on)
    return None


def task_level(due_on: date | None, today: date, calendar: WorkingCalendar) -> str:
    """red past the date, yellow on it or the working day before, green otherwise (no date: green)."""
    if due_on is None or nth_working_day(today, 1, calendar) < due_on:
        return "green"
    return "red" if today > due_on else "yellow"


class ObligationStep(LabelledEnum):
    """What moves an obligation on: the holder, the department, or the daily sweep."""

    SUBMIT = "submit", "提交履约材料"
    ACCEPT = "accept", "核验通过"
    REJECT = "reject", "核验不通过"
    INSPECT_PASS = "inspect_pass", "核查合格"
    INSPECT_FAIL = "inspect_fail", "核查不合格，限期整改"
    MARK_OVERDUE = "mark_overdue", "逾期"
    RECTIFY = "rectify", "责令限期整改"
    LAPSE = "lapse", "整改期满未整改"
    REFUSE = "refuse", "拒不整改"
    INVESTIGATE = "investigate", "立案调查并公示"
    STATE = "state", "陈述申辩"
    ANSWER = "answer", "答复陈述申辩"
    LIST = "list", "列入失信名单并撤销许可"
    APPLY_REPAIR = "apply_repair", "申请信用修复"
    DECLINE_REPAIR = "decline_repair", "不予信用修复"
    RESTORE = "restore", "信用修复"


S = ObligationStatus
OBLIGATION_TRANSITIONS: dict[ObligationStep, tuple[frozenset[ObligationStatus], ObligationStatus | None]] = {
    # the holder may hand in while due, once overdue (late but before any sanction), while rectifying and during
    # the investigation (整改到位 before listing)
    ObligationStep.SUBMIT: (
        frozenset({S.OPEN, S.OVERDUE, S.RECTIFYING, S.RECTIFY_LAPSED, S.INVESTIGATING}),
        S.SUBMITTED,
    ),
    ObligationStep.ACCEPT: (frozenset({S.SUBMITTED}), S.FULFILLED),
    ObligationStep.REJECT: (frozenset({S.SUBMITTED}), None),  # back to where it stood: see `after_rejection`
    ObligationStep.INSPECT_PASS: (frozenset({S.OPEN, S.OVERDUE}), S.FULFILLED),
    ObligationStep.INSPECT_FAIL: (frozenset({S.OPEN, S.OVERDUE}), S.RECTIFYING),
    ObligationStep.MARK_OVERDUE: (frozenset({S.OPEN}), S.OVERDUE),
    ObligationStep.RECTIFY: (frozenset({S.OVERDUE}), S.RECTIFYING),
    ObligationStep.LAPSE: (frozenset({S.RECTIFYING}), S.RECTIFY_LAPSED),
    ObligationStep.REFUSE: (frozenset({S.RECTIFYING}), S.RECTIFY_LAPSED),
    ObligationStep.INVESTIGATE: (frozenset({S.RECTIFY_LAPSED}), S.INVESTIGATING),
    # during the 公示 the holder may make a statement (陈述申辩); the department answers it before it may list
    ObligationStep.STATE: (frozenset({S.INVESTIGATING}), S.INVESTIGATING),
    ObligationStep.ANSWER: (frozenset({S.INVESTIGATING}), S.INVESTIGATING),
    ObligationStep.LIST: (frozenset({S.INVESTIGATING}), S.LISTED),
    # 信用修复 by application: the holder applies with evidence after the minimum period; the department decides
    ObligationStep.APPLY_REPAIR: (frozenset({S.LISTED}), S.REPAIR_REQUESTED),
    ObligationStep.DECLINE_REPAIR: (frozenset({S.REPAIR_REQUESTED}), S.LISTED),
    ObligationStep.RESTORE: (frozenset({S.LISTED, S.REPAIR_REQUESTED}), S.RESTORED),
}

CLOSED = frozenset({S.FULFILLED, S.LISTED, S.RESTORED, S.ENDED})
ENDS_WITH_LICENSE = frozenset({S.OPEN, S.SUBMITTED})  # not yet broken: nothing left to keep
BROKEN = frozenset(
    {S.OVERDUE, S.RECTIFYING, S.RECTIFY_LAPSED, S.INVESTIGATING, S.LISTED, S.REPAIR_REQUESTED, S.RESTORED}
)


def next_obligation_status(step: ObligationStep, current: ObligationStatus) -> ObligationStatus | None:
    """The status after `step` (None: the caller decides, for a rejection); TransitionNotAllowed otherwise."""
    allowed, target = OBLIGATION_TRANSITIONS[step]
    if current not in allowed:
        raise TransitionNotAllowed(
            f"承诺事项当前状态为「{current.label}」，不能执行「{step.label}」", current=current, target=step
        )
    return target


def after_rejection(due_on: date, rectify_due_on: date | None, investigating: bool, today: date) -> ObligationStatus:
    """Where a rejected hand-in leaves the obligation: under investigation if one was open, in rectification if a
    deadline was set, overdue past the due date, else still open."""
    if investigating:
        return S.INVESTIGATING
    if rectify_due_on is not None:
        return S.RECTIFYING if today <= rectify_due_on else S.RECTIFY_LAPSED
    return S.OVERDUE if today > due_on else S.OPEN


@dataclass(frozen=True)
class ObligationSpec:
    """One obligation a newly issued permit carries."""

    permit_code: str
    department_code: str
    kind: ObligationKind
    commitment: Commitment
    materials: tuple[str, ...]  # material codes owed (SUPPLY) or to be checked (INSPECTION)
    due_on: date


def obligations_of(
    permit: Permit, issued_on: date, calendar: WorkingCalendar, *, inspection_days: int
) -> list[ObligationSpec]:
    """The obligations a permit issued on `issued_on` carries, from its commitment category in the catalog."""
    if permit.commitment is None:
        return []
    if permit.commitment is Commitment.DEFERRED:
        later = tuple(m.code for m in permit.materials if not m.core)
        assert permit.supplement_days is not None  # the catalog loader requires it with 要件后补
        if not later:
            return []
        kind, days = ObligationKind.SUPPLY, permit.supplement_days
    else:
        trusted = tuple(m.code for m in permit.materials if permit.commitment is Commitment.FULL_TRUST or not m.core)
        later, kind, days = trusted, ObligationKind.INSPECTION, inspection_days
    return [
        ObligationSpec(
            permit_code=permit.code,
            department_code=permit.department,
            kind=kind,
            commitment=permit.commitment,
            materials=later,
            due_on=nth_working_day(issued_on, days, calendar),
        )
    ]


def reminder_windows(today: date, offsets: Sequence[int], calendar: WorkingCalendar) -> list[tuple[int, date, date]]:
    """For reminders `offsets` working days before a due date (e.g. 5, 1, 0): (offset, first, last) due dates that
    call for that reminder today. Each due date falls in exactly one window, the most urgent that applies, so a
    sweep that missed days sends the latest reminder only, never a burst of stale ones."""
    ordered = sorted(set(offsets))
    windows = []
    lower = today
    for offset in ordered:
        upper = nth_working_day(today, offset, calendar)
        windows.append((offset, lower, upper))
        lower = date.fromordinal(upper.toordinal() + 1)
    return windows
