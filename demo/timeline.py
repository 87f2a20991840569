"""The demo's timeline: the department task runs of a fan-out flow run, as Prefect recorded them, to show that
the departments were served concurrently."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName


@dataclass
class TaskSpan:
    name: str
    start: datetime | None
    end: datetime | None


def department_task_spans(flow_run_name: str, expected: int, timeout: float = 15.0) -> list[TaskSpan]:
    """The department-review task runs of the flow runs called `flow_run_name` (its API may lag a moment)."""
    deadline = time.monotonic() + timeout
    spans: list[TaskSpan] = []
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name])))
            spans = [TaskSpan(r.name, r.start_time, r.end_time) for r in runs if r.name.startswith("department-review")]
            if len(spans) >= expected and all(s.start and s.end for s in spans):
                break
            time.sleep(0.2)
    return sorted(spans, key=lambda s: s.name)
