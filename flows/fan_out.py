"""The fan-out flow (并联分发): every department with a push due gets its branch, all at once.

    department_review × N (concurrent task runs, `.map`): key fields + automatic checks → suggested opinion,
                                                            then push_to_department (HTTP, retried)

Started by the dispatcher for the push messages that submit (or an amendment) wrote with the application — one
flow run for all the pushes due in a dispatch round, several applications at once — so the applicant never waits
for a department's system and nothing here waits for humans. Each branch marks its own outbox message delivered
or failed. Parameters are ids only: no answer of the form reaches Prefect's database or UI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from prefect import flow, task
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.departments import DepartmentUnreachable, department_systems
from flows.outcomes import record_failure
from onelicense.settings import get_settings
from services import pushes, reviews
from store.db import session_scope


@dataclass(frozen=True)
class DepartmentBranch:
    """What one department's branch did: `pushed` is True (delivered), False (kept for retry) or None (the
    department has no system of its own: its review queue is the channel)."""

    application_id: str
    department_code: str
    review_id: str | None
    pushed: bool | None


@task(name="push-to-department", retry_delay_seconds=[0.2, 1.0, 5.0])
def push_to_department(department_code: str, payload: dict[str, Any], idempotency_key: str) -> None:
    """The one HTTP call of the branch; Prefect retries it (the count is the `department_push_retries` setting)."""
    department_systems().push(department_code, payload, idempotency_key=idempotency_key)


@task(name="department-review", task_run_name="department-review-{department_code}-{application_id}")
def department_review(application_id: str, department_code: str, message_id: str) -> DepartmentBranch:
    """One department's branch: prepare its review from the application as stored now, then deliver."""
    try:
        with session_scope() as session:
            review = reviews.prepare_review(session, application_id, department_code)
            payload = pushes.push_payload(session, application_id, department_code)
        pushed: bool | None = None
        if department_systems().endpoint_for(department_code) is not None:
            push_to_department.with_options(retries=get_settings().department_push_retries)(
                department_code, payload, message_id
            )
            pushed = True
    except DepartmentUnreachable as exc:
        with session_scope() as session:
            pushes.failed(session, message_id, str(exc))
        return DepartmentBranch(application_id, department_code, review.id, False)
    except Exception as exc:  # the branch fails alone: its message stays for a later attempt, or an admin
        record_failure(message_id, exc)
        return DepartmentBranch(application_id, department_code, None, False)
    with session_scope() as session:
        pushes.delivered(session, message_id)
    return DepartmentBranch(application_id, department_code, review.id, pushed)


def _run_name() -> str:
    from prefect.runtime import flow_run

    ids = flow_run.parameters.get("application_ids") or []
    return f"fan-out-{ids[0]}" + (f"-and-{len(set(ids)) - 1}-more" if len(set(ids)) > 1 else "")


@flow(
    name="fan-out",
    flow_run_name=_run_name,
    # every department of every application in the batch at once (the default pool has cpu + 4 threads); the
    # cast only works around the decorator's invariant type parameter
    task_runner=cast("TaskRunner[PrefectFuture[Any]]", ThreadPoolTaskRunner(max_workers=32)),
)
def fan_out(application_ids: list[str], department_codes: list[str], message_ids: list[str]) -> list[DepartmentBranch]:
    """并联分发: one concurrent department-review task run per (application, department, push message)."""
    return department_review.map(application_ids, department_codes, message_ids).result()
