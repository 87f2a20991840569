"""The aggregation flow: every department has decided → composite opinion (综合审批意见) → license on approval.

    compose_opinion → record_outcome → issue (approval only)

Safe to run twice for the same application: recording is idempotent and issuing is exactly-once (a unique
application_id on the license table), so a redelivered outbox message or a restarted worker changes nothing.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task

from review.aggregate import composite_opinion, render_composite_opinion
from review.facts import application_facts
from review.roles import SYSTEM_ACTOR
from review.transitions import ApplicationStatus, Outcome
from store import applications, licenses, reviews
from store.db import session_scope


@task(name="compose-opinion")
def compose_opinion(application_id: str) -> dict[str, Any]:
    with session_scope() as session:
        application = applications.get_application(session, SYSTEM_ACTOR, application_id)
        facts = reviews.review_facts(session, SYSTEM_ACTOR, application_id)
        opinion = composite_opinion(application_facts(application), facts)
    return {"opinion": opinion.to_dict(), "html": render_composite_opinion(opinion)}


@task(name="record-outcome")
def record_outcome(application_id: str, composed: dict[str, Any]) -> str:
    opinion = composed["opinion"]
    with session_scope() as session:
        application = applications.record_aggregation(
            session, SYSTEM_ACTOR, application_id, {**opinion, "html": composed["html"]}, Outcome(opinion["outcome"])
        )
        return application.status.value


@task(name="issue-license", retries=2, retry_delay_seconds=1)
def issue(application_id: str) -> dict[str, Any]:
    """Exactly once per approved application, however often this runs."""
    with session_scope() as session:
        license_ = licenses.issue_license(session, SYSTEM_ACTOR, application_id)
        number, pdf_path = license_.number, license_.pdf_path  # issuing also moved the application to 已发证
    return {"license_number": number, "pdf_path": pdf_path}


@flow(name="aggregate-application", log_prints=True)
def aggregate_application(application_id: str) -> dict[str, Any]:
    """汇总 → 综合审批意见 → 发证."""
    with session_scope() as session:
        status = applications.get_application(session, SYSTEM_ACTOR, application_id).status
    if status in (ApplicationStatus.APPROVED, ApplicationStatus.ISSUED):
        composed_status = status.value  # a redelivered message after the outcome was recorded
    elif status == ApplicationStatus.AWAITING_AGGREGATION:
        composed_status = record_outcome(application_id, compose_opinion(application_id))
    else:
        return {"application_id": application_id, "status": status.value}
    result: dict[str, Any] = {"application_id": application_id, "status": composed_status}
    if composed_status in (ApplicationStatus.APPROVED.value, ApplicationStatus.ISSUED.value):
        result.update(issue(application_id))
        result["status"] = ApplicationStatus.ISSUED.value
    return result
