"""Where an application stands, as the four steps an applicant follows (办理进度): submitted, the departments'
parallel review, the composite opinion, the license. Pure: the progress page draws these as a stepper."""

from __future__ import annotations

from dataclasses import dataclass

from onelicense.review.transitions import ApplicationStatus, LabelledEnum


class StepState(LabelledEnum):
    DONE = "done", "已完成"
    CURRENT = "current", "进行中"
    TODO = "todo", "未开始"
    ENDED = "ended", "不再进行"  # the application ended before this step (不予许可, 终止办理)


@dataclass(frozen=True)
class Step:
    title: str
    state: StepState
    note: str = ""  # what the current step is waiting for, in the applicant's words


STEP_TITLES = ("提交申请", "部门并联审查", "综合审批意见", "发证")

# status → (index of the current step, what it waits for); a status past the last step has none current
_CURRENT: dict[ApplicationStatus, tuple[int, str]] = {
    ApplicationStatus.SUBMITTED: (1, "等待各部门受理"),
    ApplicationStatus.IN_REVIEW: (1, "各部门审查中"),
    ApplicationStatus.SUPPLEMENT_REQUESTED: (1, "等待您补正"),
    ApplicationStatus.RESUBMITTED: (1, "补正后复审中"),
    ApplicationStatus.AWAITING_AGGREGATION: (2, "汇总各部门意见"),
    ApplicationStatus.APPROVED: (3, "准予许可，正在制证"),
}


def application_steps(status: ApplicationStatus) -> tuple[Step, ...]:
    """The four steps with the state of each for an application in `status`."""
    if status is ApplicationStatus.ISSUED:
        return tuple(Step(title, StepState.DONE) for title in STEP_TITLES)
    if status is ApplicationStatus.REJECTED:  # decided: the opinion is the end, no license follows
        return (
            *(Step(title, StepState.DONE) for title in STEP_TITLES[:2]),
            Step(STEP_TITLES[2], StepState.DONE, "不予许可"),
            Step(STEP_TITLES[3], StepState.ENDED),
        )
    if status is ApplicationStatus.CLOSED:
        return (Step(STEP_TITLES[0], StepState.DONE), *(Step(t, StepState.ENDED) for t in STEP_TITLES[1:]))
    current, note = _CURRENT[status]
    return tuple(
        Step(
            title,
            StepState.DONE if i < current else StepState.CURRENT if i == current else StepState.TODO,
            note if i == current else "",
        )
        for i, title in enumerate(STEP_TITLES)
    )
