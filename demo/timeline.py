"""The demo's timeline: the department task runs of an application's fan-out, as Prefect recorded them, to show
that the departments were served concurrently."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

PREFIX = "department-review-"


@dataclass
class TaskSpan:
    department_code: str
    start: datetime | None
    end: datetime | None


def department_task_spans(application_id: str, expected: int, timeout: float = 15.0) -> list[TaskSpan]:
    """The department-review task runs of the fan-out flow run that served `application_id` (named after it);
    Prefect's API may lag a moment behind the work."""
    deadline = time.monotonic() + timeout
    spans: list[TaskSpan] = []
    runs_of = FlowRunFilter(name=FlowRunFilterName(like_=f"fan-out-{application_id}%"))
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_task_runs(flow_run_filter=runs_of)
            spans = [
                TaskSpan(r.name.removeprefix(PREFIX), r.start_time, r.end_time)
                for r in runs
                if r.name.startswith(PREFIX)
            ]
            if len(spans) >= expected and all(s.start and s.end for s in spans):
                break
            time.sleep(0.2)
    return sorted(spans, key=lambda s: s.department_code)
