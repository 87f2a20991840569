"""The application flow: validate and pre-review the one merged form, store it, fan out to the departments.

    check_submission → store_application → department_review × N (concurrent task runs)

The flow ends once every department's review is open in its queue; nothing waits here for humans. The last
department decision queues the aggregation (see flows/aggregation.py and docs/durability.md).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from flows import departments
from forms.errors import UnknownIndustry, ValidationFailed
from forms.extract import department_payload
from forms.merge import merge_form
from forms.prereview import blocking, prereview
from forms.validation import validate_submission
from onelicense.settings import get_settings
from review.assist import suggested_opinion
from review.roles import SYSTEM_ACTOR, Actor, Role
from store import applications, outbox, reviews
from store.db import session_scope


@task(name="validate-and-prereview")
def check_submission(industry_code: str, answers: Any, materials: Any, commitment_accepted: bool) -> dict[str, Any]:
    """预审: field validation, then the catalog's rules. Returns the clean data or the reasons for refusal."""
    condition_answers = answers if isinstance(answers, dict) else {}
    try:
        form = merge_form(industry_code, condition_answers)
    except UnknownIndustry as exc:
        error = {
            "key": "industry_code",
            "label": "行业",
            "reason": str(exc),
            "message": f"行业（industry_code）：{exc}",
        }
        return {"accepted": False, "errors": [error], "findings": []}
    try:
        submission = validate_submission(form, answers, materials, commitment_accepted=commitment_accepted)
    except ValidationFailed as exc:
        return {"accepted": False, "errors": [e.as_dict() for e in exc.errors], "findings": []}
    findings = prereview(form, submission.answers)
    if blocking(findings):
        return {"accepted": False, "errors": [], "findings": [f.as_dict() for f in findings]}
    return {
        "accepted": True,
        "errors": [],
        "findings": [f.as_dict() for f in findings],
        "answers": submission.answers,
        "materials": submission.materials,
        "permit_codes": [p.code for p in form.permits],
        "departments": {d.code: [p.code for p in form.permits_of(d.code)] for d in form.departments},
    }


@task(name="store-application")
def store_application(
    checked: dict[str, Any], industry_code: str, applicant_id: str, idempotency_key: str | None
) -> dict[str, Any]:
    actor = Actor(user_id=applicant_id, role=Role.APPLICANT)
    answers = checked["answers"]
    with session_scope() as session:
        existing = applications.find_by_idempotency_key(session, actor, idempotency_key)
        if existing is not None:  # a retried request: the first one already fanned out
            return {"application_id": existing.id, "reference": existing.reference, "replayed": True}
        application = applications.submit(
            session,
            actor,
            industry_code=industry_code,
            holder_name=answers["holder_name"],
            uscc=answers["uscc"],
            answers=answers,
            materials=checked["materials"],
            permit_codes=checked["permit_codes"],
            departments=checked["departments"],
            idempotency_key=idempotency_key,
        )
        return {"application_id": application.id, "reference": application.reference, "replayed": False}


@task(name="push-to-department", retry_delay_seconds=[0.2, 1.0, 5.0])
def push_to_department(endpoint: str, payload: dict[str, Any], idempotency_key: str) -> None:
    departments.push(endpoint, payload, idempotency_key=idempotency_key)


@task(name="department-review", task_run_name="department-review-{department_code}")
def department_review(application_id: str, department_code: str) -> dict[str, Any]:
    """One department's branch: key fields, automatic checks and a suggested opinion, then the push."""
    review_id = prepare_review(application_id, department_code)
    pushed = deliver(application_id, department_code)
    return {"department_code": department_code, "review_id": review_id, "pushed": pushed}


def _department_view(application: Any, department_code: str) -> tuple[dict[str, Any], str]:
    """The department's key fields and the suggested opinion, computed from the application as stored now."""
    form = merge_form(application.industry_code, application.answers)
    pending = validate_submission(form, application.answers, application.materials).pending_materials
    payload = department_payload(form, application.answers, application.materials, department_code)
    suggestion = suggested_opinion(form, department_code, prereview(form, application.answers), pending)
    return payload, suggestion


def prepare_review(application_id: str, department_code: str) -> str:
    """Attach key fields and the suggested opinion (辅助审批) to the department's review; run again after an
    amendment so the re-reviewer sees the corrected data."""
    with session_scope() as session:
        progress = applications.list_progress(session, SYSTEM_ACTOR, application_id)
        review = next(r for r in progress.reviews if r.department_code == department_code)
        payload, suggestion = _department_view(progress.application, department_code)
        reviews.set_suggestion(session, review.id, suggestion, payload)
        return review.id


def deliver(application_id: str, department_code: str, message_id: str | None = None) -> bool | None:
    """Push the department's key fields, as `prepare_review` just stored them (every caller prepares first, so a
    push never carries stale or missing data), if the department has a system. A failure stays in the outbox.

    Returns True when delivered, False when it failed (kept for retry), None when the department has no system."""
    endpoint = departments.endpoint_for(department_code)
    with session_scope() as session:
        pending = [
            m
            for m in outbox.messages_for(session, application_id, outbox.DEPARTMENT_PUSH)
            if m.department_code == department_code and m.done_at is None and message_id in (None, m.id)
        ]
        if not pending:
            return True  # delivered before (a retried run or a redelivered message)
        message = pending[0]
        if endpoint is None:
            outbox.mark_done(session, message.id)  # no department system: the review queue is the channel
            return None
        progress = applications.list_progress(session, SYSTEM_ACTOR, application_id)
        review = next(r for r in progress.reviews if r.department_code == department_code)
        payload = {"application_id": application_id, "review_id": review.id, "round": review.round, **review.key_fields}
        message_id = message.id
    try:
        push_to_department.with_options(retries=get_settings().department_push_retries)(
            endpoint, payload, idempotency_key=message_id
        )
    except Exception as exc:
        with session_scope() as session:
            outbox.mark_failed(session, message_id, error=str(exc))
        return False
    with session_scope() as session:
        outbox.mark_done(session, message_id)
    return True


@flow(name="submit-application", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=16))
def submit_application(
    industry_code: str,
    answers: Any,
    materials: Any = None,
    applicant_id: str = "anonymous",
    commitment_accepted: bool = True,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """一表申请 → 预审 → 并联分发: returns the application id, or the errors/findings that refused it."""
    checked = check_submission(industry_code, answers, materials or {}, commitment_accepted)
    if not checked["accepted"]:
        return {"accepted": False, "errors": checked["errors"], "findings": checked["findings"]}
    stored = store_application(checked, industry_code, applicant_id, idempotency_key)
    if stored["replayed"]:
        return {"accepted": True, **stored, "findings": checked["findings"], "departments": []}
    futures = [department_review.submit(stored["application_id"], code) for code in checked["departments"]]
    wait(futures)
    branches = [f.result() for f in futures]
    return {
        "accepted": True,
        **stored,
        "findings": checked["findings"],
        "departments": branches,
    }
