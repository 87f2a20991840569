"""State machines of an application and of a department review: enums with Chinese labels and the explicit
tables of allowed transitions. Pure: the store checks every state change against these tables.

The tables list (current → target) pairs, so each target state is reached by exactly one action (claim,
release, decide, reopen, amend ...): that is why an amended application is RESUBMITTED rather than straight
back IN_REVIEW, and a reopened review RESUBMITTED rather than PENDING. Otherwise "amend" would pass the check
from SUBMITTED, or "release" would turn a supplement request back into a pending review."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from onelicense.errors import TransitionNotAllowed

__all__ = [  # TransitionNotAllowed is raised here; it lives with the other errors at the root
    "APPLICATION_TRANSITIONS",
    "OPEN_REVIEW_STATUSES",
    "REVIEW_TRANSITIONS",
    "UNCLAIMED_REVIEW_STATUSES",
    "ApplicationStatus",
    "Decision",
    "LabelledEnum",
    "Outcome",
    "ReviewStatus",
    "StateKind",
    "TransitionNotAllowed",
    "allowed_targets",
    "check_transition",
    "is_allowed",
]


class LabelledEnum(StrEnum):
    """A string enum whose members carry a Chinese display label: `Member = "value", "标签"`."""

    label: str

    # `label` has a default only for the type checker: `Status("value")` looks a member up, it never gets here
    def __new__(cls, value: str, label: str = "") -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class ApplicationStatus(LabelledEnum):
    """Where an application stands (申请状态)."""

    SUBMITTED = "submitted", "已提交"
    IN_REVIEW = "in_review", "审查中"
    SUPPLEMENT_REQUESTED = "supplement_requested", "待补正"
    RESUBMITTED = "resubmitted", "已补正"
    AWAITING_AGGREGATION = "awaiting_aggregation", "待汇总"
    APPROVED = "approved", "准予许可"
    REJECTED = "rejected", "不予许可"
    ISSUED = "issued", "已发证"
    # a change or renewal application whose license ended (注销, 撤销, 吊销) before it was decided or applied:
    # nothing is left to amend, so it is closed with the reason instead of failing later
    CLOSED = "closed", "已终止办理"


class ReviewStatus(LabelledEnum):
    """Where one department's review stands (部门审查状态).

    After the applicant amends, a review that asked for supplement becomes RESUBMITTED (待复审) with its round
    + 1; the reviews that approved or rejected keep their decisions."""

    PENDING = "pending", "待受理"
    RESUBMITTED = "resubmitted", "待复审"
    CLAIMED = "claimed", "审查中"
    APPROVED = "approved", "同意"
    REJECTED = "rejected", "不同意"
    SUPPLEMENT_REQUESTED = "supplement_requested", "需补正"
    CLOSED = "closed", "已终止"  # its application was closed before the department decided

    @property
    def is_open(self) -> bool:
        """True while the department still has to decide."""
        return self in OPEN_REVIEW_STATUSES


UNCLAIMED_REVIEW_STATUSES = frozenset({ReviewStatus.PENDING, ReviewStatus.RESUBMITTED})
"""Waiting in the queue for a reviewer to pick up: a first review or a re-review after an amendment."""
OPEN_REVIEW_STATUSES = UNCLAIMED_REVIEW_STATUSES | {ReviewStatus.CLAIMED}
"""Not decided yet."""


class Decision(LabelledEnum):
    """What a reviewer decides (审查决定)."""

    APPROVE = "approve", "同意"
    REJECT = "reject", "不同意"
    SUPPLEMENT = "supplement", "需补正"

    @property
    def review_status(self) -> ReviewStatus:
        return _DECISION_TO_REVIEW_STATUS[self]

    @property
    def needs_opinion(self) -> bool:
        """同意 may stand without words; 不同意 and 需补正 must say why (the applicant reads it)."""
        return self is not Decision.APPROVE


# 审查意见: one department's opinion, printed in the composite opinion. The service enforces it; the API schema, the
# desk's form and the CLI read it from here.
OPINION_MAX_CHARS = 2_000


class Outcome(LabelledEnum):
    """The overall result of aggregation (综合审批结果)."""

    APPROVE = "approve", "准予许可"
    REJECT = "reject", "不予许可"
    SUPPLEMENT = "supplement", "需补正材料"

    @property
    def application_status(self) -> ApplicationStatus:
        return _OUTCOME_TO_APPLICATION_STATUS[self]


_DECISION_TO_REVIEW_STATUS = {
    Decision.APPROVE: ReviewStatus.APPROVED,
    Decision.REJECT: ReviewStatus.REJECTED,
    Decision.SUPPLEMENT: ReviewStatus.SUPPLEMENT_REQUESTED,
}

_OUTCOME_TO_APPLICATION_STATUS = {
    Outcome.APPROVE: ApplicationStatus.APPROVED,
    Outcome.REJECT: ApplicationStatus.REJECTED,
    Outcome.SUPPLEMENT: ApplicationStatus.SUPPLEMENT_REQUESTED,
}


class StateKind(LabelledEnum):
    """Which state machine a transition belongs to."""

    APPLICATION = "application", "申请"
    REVIEW = "review", "部门审查"


A, R = ApplicationStatus, ReviewStatus

# CLOSED is reached from every state not yet final by one action: closing a change or renewal application whose
# license ended (services.pending_changes)
APPLICATION_TRANSITIONS: Mapping[ApplicationStatus, frozenset[ApplicationStatus]] = {
    # first claim or decision by any department
    A.SUBMITTED: frozenset({A.IN_REVIEW, A.CLOSED}),
    # the same after an amendment: the first reopened department picks it up
    A.RESUBMITTED: frozenset({A.IN_REVIEW, A.CLOSED}),
    # the last open review was decided
    A.IN_REVIEW: frozenset({A.AWAITING_AGGREGATION, A.CLOSED}),
    # aggregation records the composite opinion
    A.AWAITING_AGGREGATION: frozenset({A.APPROVED, A.REJECTED, A.SUPPLEMENT_REQUESTED, A.CLOSED}),
    # the applicant amends; only the departments that asked review again
    A.SUPPLEMENT_REQUESTED: frozenset({A.RESUBMITTED, A.CLOSED}),
    A.APPROVED: frozenset({A.ISSUED, A.CLOSED}),
    A.REJECTED: frozenset(),
    A.ISSUED: frozenset(),
    A.CLOSED: frozenset(),
}

REVIEW_TRANSITIONS: Mapping[ReviewStatus, frozenset[ReviewStatus]] = {
    # claim, or decide straight from the queue (the decider takes the review implicitly)
    R.PENDING: frozenset({R.CLAIMED, R.APPROVED, R.REJECTED, R.SUPPLEMENT_REQUESTED, R.CLOSED}),
    # the same for a review reopened by the applicant's amendment
    R.RESUBMITTED: frozenset({R.CLAIMED, R.APPROVED, R.REJECTED, R.SUPPLEMENT_REQUESTED, R.CLOSED}),
    # release back to the queue, or decide
    R.CLAIMED: frozenset({R.PENDING, R.APPROVED, R.REJECTED, R.SUPPLEMENT_REQUESTED, R.CLOSED}),
    # reopened for the next round once the applicant has amended
    R.SUPPLEMENT_REQUESTED: frozenset({R.RESUBMITTED, R.CLOSED}),
    R.APPROVED: frozenset(),
    R.REJECTED: frozenset(),
    # an undecided review of a closed application (a decided one keeps its decision)
    R.CLOSED: frozenset(),
}

del A, R

TRANSITIONS: Mapping[StateKind, Mapping[Any, frozenset[Any]]] = {
    StateKind.APPLICATION: APPLICATION_TRANSITIONS,
    StateKind.REVIEW: REVIEW_TRANSITIONS,
}

_STATUS_ENUMS: Mapping[StateKind, type[LabelledEnum]] = {
    StateKind.APPLICATION: ApplicationStatus,
    StateKind.REVIEW: ReviewStatus,
}


def allowed_targets(kind: StateKind | str, current: str) -> frozenset[Any]:
    """The states reachable in one step from `current`."""
    kind = StateKind(kind)
    targets: frozenset[Any] = TRANSITIONS[kind][_STATUS_ENUMS[kind](current)]
    return targets


def is_allowed(kind: StateKind | str, current: str, target: str) -> bool:
    kind = StateKind(kind)
    return _STATUS_ENUMS[kind](target) in allowed_targets(kind, current)


def check_transition(kind: StateKind | str, current: str, target: str) -> None:
    """Raise TransitionNotAllowed unless the table allows `current → target` for this kind of state."""
    kind = StateKind(kind)
    enum = _STATUS_ENUMS[kind]
    current_state, target_state = enum(current), enum(target)
    if target_state not in TRANSITIONS[kind][current_state]:
        raise TransitionNotAllowed(
            f"{kind.label}状态不允许从「{current_state.label}」变更为「{target_state.label}」",
            current=current_state,
            target=target_state,
        )
