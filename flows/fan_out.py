"""The fan-out flow (并联分发): every department with pushes due gets its branch, all departments at once.

    department_review × departments (concurrent task runs, `.map`): for each application of the batch, key fields
        and automatic checks → suggested opinion, and instant approval (秒批) where the catalog's rules all hold;
        then push_to_department (HTTP, retried by Prefect)

Started by the dispatcher for the push messages that submit (or an amendment) wrote with the application — one
flow run for all the pushes due in a dispatch round, grouped by department — so the applicant never waits for a
department's system, and a busy morning costs nine task runs a round, not nine per application. Each message is
marked delivered or failed as it goes. Parameters are ids only: no answer of the form reaches Prefect."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from prefect import flow, task
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from onelicense.errors import Conflict
from onelicense.flows.departments import DepartmentUnreachable, department_systems
from onelicense.services import outbox_work, reviews
from onelicense.services.adapters import pushes
from onelicense.settings import get_settings
from onelicense.store.db import session_scope


@dataclass(frozen=True)
class DepartmentBranch:
    """What one department's branch did for one application: `pushed` is True (delivered), False (kept for a
    later attempt) or None (the department has no system of its own: its review queue is the channel)."""

    application_id: str
    department_code: str
    review_id: str | None
    pushed: bool | None


@dataclass(frozen=True)
class Push:
    message_id: str
    payload: dict[str, Any]


@task(
    name="push-to-department",
    task_run_name="push-to-{department_code}",
    retry_delay_seconds=[0.2, 1.0, 5.0],
    persist_result=False,
)
def push_to_department(department_code: str, batch: list[Push]) -> None:
    """The HTTP calls of the branch, each marked delivered as it succeeds; Prefect retries the task (the count is
    the `department_push_retries` setting), and a retry sends only what is still undelivered."""
    systems = department_systems()
    failures = []
    for push in batch:
        with session_scope() as session:
            if outbox_work.is_done(session, push.message_id):
                continue
        try:
            systems.push(department_code, push.payload, idempotency_key=push.message_id)
        except DepartmentUnreachable as exc:
            failures.append(str(exc))
            continue
        with session_scope() as session:
            pushes.delivered(session, push.message_id)
    if failures:
        raise DepartmentUnreachable(f"{len(failures)} 次推送失败：{failures[0]}")


@task(name="department-review", task_run_name="department-review-{department_code}", persist_result=False)
def department_review(
    department_code: str, application_ids: list[str], message_ids: list[str]
) -> list[DepartmentBranch]:
    """One department's branch for the batch: prepare each review from the application as stored now, then
    deliver them to the department's system."""
    branches: dict[str, DepartmentBranch] = {}
    batch: list[Push] = []
    for application_id, message_id in zip(application_ids, message_ids, strict=True):
        try:
            with session_scope() as session:
                review = reviews.prepare_review(session, application_id, department_code)
                with contextlib.suppress(Conflict):  # a reviewer decided first: theirs stands
                    reviews.auto_decide(session, review.id)  # 秒批 where the catalog's rules all hold
                payload = pushes.push_payload(session, application_id, department_code)
        except Exception as exc:  # this application's branch fails alone: its message comes back later
            outbox_work.record_failure(message_id, exc)
            branches[message_id] = DepartmentBranch(application_id, department_code, None, False)
            continue
        branches[message_id] = DepartmentBranch(application_id, department_code, review.id, None)
        batch.append(Push(message_id, payload))
    if department_systems().endpoint_for(department_code) is None:
        with session_scope() as session:
            for push in batch:
                pushes.delivered(session, push.message_id)
        return list(branches.values())
    reason = ""
    try:
        push_to_department.with_options(retries=get_settings().department_push_retries)(department_code, batch)
    except DepartmentUnreachable as exc:  # what was not delivered is marked failed below, due again later
        reason = str(exc)
    with session_scope() as session:
        for push in batch:
            delivered = outbox_work.is_done(session, push.message_id)
            if not delivered:
                pushes.failed(session, push.message_id, reason or f"{department_code} 的系统未接收推送")
            branch = branches[push.message_id]
            branches[push.message_id] = DepartmentBranch(
                branch.application_id, department_code, branch.review_id, delivered
            )
    return list(branches.values())


def _run_name() -> str:
    from prefect.runtime import flow_run

    ids = list(dict.fromkeys(flow_run.parameters.get("application_ids") or []))
    return f"fan-out-{ids[0]}" + (f"-and-{len(ids) - 1}-more" if len(ids) > 1 else "") if ids else "fan-out"


@flow(
    name="fan-out",
    persist_result=False,
    flow_run_name=_run_name,
    # every department at once (the default pool has cpu + 4 threads, fewer than nine departments on a small
    # machine); the cast only works around the decorator's invariant type parameter
    task_runner=cast("TaskRunner[PrefectFuture[Any]]", ThreadPoolTaskRunner(max_workers=16)),
)
def fan_out(application_ids: list[str], department_codes: list[str], message_ids: list[str]) -> list[DepartmentBranch]:
    """并联分发: one concurrent department-review task run per department, each over its part of the batch."""
    by_department: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for application_id, department_code, message_id in zip(application_ids, department_codes, message_ids, strict=True):
        by_department[department_code][0].append(application_id)
        by_department[department_code][1].append(message_id)
    departments = sorted(by_department)
    futures = department_review.map(
        departments, [by_department[d][0] for d in departments], [by_department[d][1] for d in departments]
    )
    return [branch for branches in futures.result() for branch in branches]
