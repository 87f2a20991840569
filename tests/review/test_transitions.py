"""The transition tables: every pair of states is either allowed or refused with a Chinese message."""

from __future__ import annotations

import itertools

import pytest

from onelicense.review.transitions import (
    APPLICATION_TRANSITIONS,
    OPEN_REVIEW_STATUSES,
    REVIEW_TRANSITIONS,
    UNCLAIMED_REVIEW_STATUSES,
    ApplicationStatus,
    Decision,
    Outcome,
    ReviewStatus,
    StateKind,
    TransitionNotAllowed,
    allowed_targets,
    check_transition,
    is_allowed,
)

EXPECTED_APPLICATION = {
    ("submitted", "in_review"),
    ("in_review", "awaiting_aggregation"),
    ("awaiting_aggregation", "approved"),
    ("awaiting_aggregation", "rejected"),
    ("awaiting_aggregation", "supplement_requested"),
    ("supplement_requested", "resubmitted"),
    ("resubmitted", "in_review"),
    ("approved", "issued"),
    # a change or renewal application closed because its license ended, from any state not yet final
    *((s, "closed") for s in ("submitted", "in_review", "awaiting_aggregation", "supplement_requested", "resubmitted")),
    ("approved", "closed"),
}
EXPECTED_REVIEW = {
    ("pending", "claimed"),
    ("pending", "approved"),
    ("pending", "rejected"),
    ("pending", "supplement_requested"),
    ("claimed", "pending"),
    ("claimed", "approved"),
    ("claimed", "rejected"),
    ("claimed", "supplement_requested"),
    ("resubmitted", "claimed"),
    ("resubmitted", "approved"),
    ("resubmitted", "rejected"),
    ("resubmitted", "supplement_requested"),
    ("supplement_requested", "resubmitted"),
    *((status, "closed") for status in ("pending", "claimed", "resubmitted", "supplement_requested")),  # undecided
}


def test_tables_cover_every_state() -> None:
    assert set(APPLICATION_TRANSITIONS) == set(ApplicationStatus)
    assert set(REVIEW_TRANSITIONS) == set(ReviewStatus)


@pytest.mark.parametrize(
    ("kind", "enum", "expected"),
    [
        (StateKind.APPLICATION, ApplicationStatus, EXPECTED_APPLICATION),
        (StateKind.REVIEW, ReviewStatus, EXPECTED_REVIEW),
    ],
)
def test_every_pair_is_allowed_exactly_when_listed(kind: StateKind, enum: type, expected: set) -> None:
    for current, target in itertools.product(enum, enum):
        allowed = (current.value, target.value) in expected
        assert is_allowed(kind, current, target) is allowed, (current, target)
        if allowed:
            check_transition(kind, current, target)
        else:
            with pytest.raises(TransitionNotAllowed) as refused:
                check_transition(kind, current, target)
            assert refused.value.current is current and refused.value.target is target
            assert current.label in refused.value.message and target.label in refused.value.message


def test_refusal_message_names_both_states_in_chinese() -> None:
    with pytest.raises(TransitionNotAllowed, match="申请状态不允许从「已提交」变更为「已发证」"):
        check_transition("application", "submitted", "issued")
    with pytest.raises(TransitionNotAllowed, match="部门审查状态不允许从「同意」变更为「不同意」"):
        check_transition(StateKind.REVIEW, ReviewStatus.APPROVED, ReviewStatus.REJECTED)


@pytest.mark.parametrize("table", [APPLICATION_TRANSITIONS, REVIEW_TRANSITIONS])
def test_each_target_is_reached_from_the_sources_of_one_action(table: dict) -> None:
    """A target reached from several sources is reached by one action from all of them: the only shared targets
    are the start of review (from 已提交 / 已补正), claim and decisions (from every open review), release, and
    closing (终止办理: an application not yet final, and its undecided reviews)."""
    sources: dict = {}
    for current, targets in table.items():
        for target in targets:
            sources.setdefault(target, set()).add(current)
    shared = {target.value: {s.value for s in srcs} for target, srcs in sources.items() if len(srcs) > 1}
    open_reviews = {"pending", "resubmitted", "claimed"}
    not_final = {"submitted", "in_review", "awaiting_aggregation", "supplement_requested", "resubmitted", "approved"}
    assert shared in (
        {"in_review": {"submitted", "resubmitted"}, "closed": not_final},
        {
            "claimed": {"pending", "resubmitted"},
            "approved": open_reviews,
            "rejected": open_reviews,
            "supplement_requested": open_reviews,
            "closed": {*open_reviews, "supplement_requested"},
        },
    )


def test_final_states_have_no_way_out() -> None:
    for final in (ApplicationStatus.REJECTED, ApplicationStatus.ISSUED, ApplicationStatus.CLOSED):
        assert allowed_targets(StateKind.APPLICATION, final) == frozenset()
    for final in (ReviewStatus.APPROVED, ReviewStatus.REJECTED, ReviewStatus.CLOSED):
        assert allowed_targets(StateKind.REVIEW, final) == frozenset()


def test_unknown_state_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        check_transition(StateKind.APPLICATION, "submitted", "teleported")


def test_labels_are_chinese_and_values_are_stable_strings() -> None:
    assert ApplicationStatus.SUPPLEMENT_REQUESTED.label == "待补正"
    assert ApplicationStatus.AWAITING_AGGREGATION.label == "待汇总"
    assert ReviewStatus.PENDING.label == "待受理"
    assert ReviewStatus("claimed") is ReviewStatus.CLAIMED
    assert ApplicationStatus.ISSUED == "issued"
    assert all(m.label and m.label != m.value for e in (ApplicationStatus, ReviewStatus, Decision) for m in e)


def test_unclaimed_reviews_are_exactly_those_a_claim_can_start_from() -> None:
    claimable = {s for s, targets in REVIEW_TRANSITIONS.items() if ReviewStatus.CLAIMED in targets}
    assert claimable == UNCLAIMED_REVIEW_STATUSES
    assert {*UNCLAIMED_REVIEW_STATUSES, ReviewStatus.CLAIMED} == set(OPEN_REVIEW_STATUSES)


def test_decisions_and_outcomes_map_onto_states() -> None:
    # every state but the open ones and 已终止 (no decision closes a review) is what a decision leads to
    assert {d.review_status for d in Decision} == set(ReviewStatus) - OPEN_REVIEW_STATUSES - {ReviewStatus.CLOSED}
    assert Outcome.APPROVE.application_status is ApplicationStatus.APPROVED
    assert Outcome.REJECT.application_status is ApplicationStatus.REJECTED
    assert Outcome.SUPPLEMENT.application_status is ApplicationStatus.SUPPLEMENT_REQUESTED
    for d in Decision:  # a decision is always reachable from the queue and from a claim
        for open_status in OPEN_REVIEW_STATUSES:
            assert is_allowed(StateKind.REVIEW, open_status, d.review_status)
    for o in Outcome:
        assert is_allowed(StateKind.APPLICATION, ApplicationStatus.AWAITING_AGGREGATION, o.application_status)
