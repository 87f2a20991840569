"""The aggregation flow: every department has decided → composite opinion (综合审批意见) → license on approval.

    aggregate_and_issue (one task run for the batch: each application aggregated, and issued on approval)

One flow run, one task run, for the aggregations due in a dispatch round: the work per application is a few
milliseconds, less than what a task run of its own would cost. Safe to run twice for the same application: recording
is idempotent and issuing is exactly-once (a unique application_id on the license table), so a redelivered
outbox message or a restarted worker changes nothing. Each task marks its own outbox message done or failed; the
certificate PDF is its own outbox step (issuing writes it), rendered by the dispatcher's pool of processes."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow, task

from onelicense.review.transitions import ApplicationStatus
from onelicense.services import aggregation, outbox_work
from onelicense.store.db import session_scope


@dataclass(frozen=True)
class AggregationResult:
    application_id: str
    status: ApplicationStatus | None  # None: it failed (see the outbox message, or the dead letters)
    license_number: str | None = None


@task(name="aggregate-and-issue", persist_result=False)
def aggregate_and_issue(application_ids: list[str], message_ids: list[str | None]) -> list[AggregationResult]:
    """汇总 → 综合审批意见 → 发证, for each application of the batch; each failure stays with its application."""
    return [_one(a, m) for a, m in zip(application_ids, message_ids, strict=True)]


def _one(application_id: str, message_id: str | None) -> AggregationResult:
    """One application; its outbox message (if any) marked done or failed."""
    try:
        with session_scope() as session:
            status, number = aggregation.conclude(session, application_id, message_id)
        return AggregationResult(application_id, status, number)
    except Exception as exc:
        if message_id is None:
            raise
        outbox_work.record_failure(message_id, exc)
        return AggregationResult(application_id, None)


def _run_name() -> str:
    from prefect.runtime import flow_run

    ids = flow_run.parameters.get("application_ids") or []
    return f"aggregate-{ids[0]}" + (f"-and-{len(ids) - 1}-more" if len(ids) > 1 else "")


@flow(name="aggregate", flow_run_name=_run_name, persist_result=False)
def aggregate(application_ids: list[str], message_ids: list[str | None] | None = None) -> list[AggregationResult]:
    """Every application of the batch aggregated (and issued on approval) concurrently."""
    messages: list[str | None] = list(message_ids) if message_ids is not None else [None] * len(application_ids)
    return aggregate_and_issue(application_ids, messages)
