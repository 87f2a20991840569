"""The progress stepper's steps for every application status: exactly one current step while the application
is on its way, none once it has ended, and the step the status names."""

from __future__ import annotations

import pytest

from onelicense.review.stages import STEP_TITLES, StepState, application_steps
from onelicense.review.transitions import ApplicationStatus


@pytest.mark.parametrize("status", list(ApplicationStatus))
def test_every_status_has_four_steps_and_done_steps_come_first(status: ApplicationStatus) -> None:
    steps = application_steps(status)
    assert tuple(s.title for s in steps) == STEP_TITLES
    states = [s.state for s in steps]
    first_not_done = next((i for i, s in enumerate(states) if s is not StepState.DONE), len(states))
    assert all(s is not StepState.DONE for s in states[first_not_done:])
    assert states[0] is StepState.DONE  # an application exists only once submitted


@pytest.mark.parametrize(
    ("status", "current", "note"),
    [
        (ApplicationStatus.SUBMITTED, "部门并联审查", "等待各部门受理"),
        (ApplicationStatus.SUPPLEMENT_REQUESTED, "部门并联审查", "等待您补正"),
        (ApplicationStatus.AWAITING_AGGREGATION, "综合审批意见", "汇总各部门意见"),
        (ApplicationStatus.APPROVED, "发证", "准予许可，正在制证"),
    ],
)
def test_an_application_on_its_way_has_one_current_step(status: ApplicationStatus, current: str, note: str) -> None:
    steps = application_steps(status)
    [here] = [s for s in steps if s.state is StepState.CURRENT]
    assert (here.title, here.note) == (current, note)


def test_ended_applications_have_no_current_step() -> None:
    assert all(s.state is StepState.DONE for s in application_steps(ApplicationStatus.ISSUED))
    rejected = application_steps(ApplicationStatus.REJECTED)
    assert [s.state for s in rejected] == [StepState.DONE, StepState.DONE, StepState.DONE, StepState.ENDED]
    assert rejected[2].note == "不予许可"
    closed = application_steps(ApplicationStatus.CLOSED)
    assert [s.state for s in closed][1:] == [StepState.ENDED] * 3
