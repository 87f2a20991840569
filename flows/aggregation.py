"""The aggregation flow: every department has decided → composite opinion (综合审批意见) → license on approval.

    compose_and_record → issue (approval only)

Safe to run twice for the same application: recording is idempotent and issuing is exactly-once (a unique
application_id on the license table), so a redelivered outbox message or a restarted worker changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow, task

from review.roles import SYSTEM_ACTOR
from review.transitions import ApplicationStatus
from services import aggregation, licenses
from store.db import session_scope


@dataclass(frozen=True)
class IssuedLicense:
    number: str
    pdf_path: str | None


@dataclass(frozen=True)
class AggregationResult:
    application_id: str
    status: ApplicationStatus
    license: IssuedLicense | None = None


@task(name="compose-opinion")
def compose_and_record(application_id: str) -> ApplicationStatus:
    """The composite opinion from every department's decision, recorded with the outcome it implies."""
    with session_scope() as session:
        return aggregation.aggregate(session, application_id).status


@task(name="issue-license", retries=2, retry_delay_seconds=1)
def issue(application_id: str) -> IssuedLicense:
    """Exactly once per approved application, however often this runs."""
    with session_scope() as session:
        license_ = licenses.issue_license(session, SYSTEM_ACTOR, application_id)
        return IssuedLicense(license_.number, license_.pdf_path)


@flow(name="aggregate-application", flow_run_name="aggregate-{application_id}")
def aggregate_application(application_id: str) -> AggregationResult:
    """汇总 → 综合审批意见 → 发证."""
    status = compose_and_record(application_id)
    if status not in (ApplicationStatus.APPROVED, ApplicationStatus.ISSUED):
        return AggregationResult(application_id, status)
    return AggregationResult(application_id, ApplicationStatus.ISSUED, issue(application_id))
