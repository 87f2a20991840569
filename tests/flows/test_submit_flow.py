"""Submitting runs a Prefect flow: pre-review, store, and one concurrent task run per department."""

from __future__ import annotations

import pytest
from flows.application import deliver, submit_application
from sqlmodel import func, select

from demo.run import department_task_spans
from store import outbox
from store.db import session_scope
from store.tables import Application, AuditEvent, DepartmentReview

pytestmark = pytest.mark.usefixtures("flow_settings")


def _count(model) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_fan_out_runs_one_concurrent_task_per_department(sample, systems):
    state = submit_application(sample.industry_code, sample.answers, sample.materials, "applicant-1", return_state=True)
    result = state.result()
    assert result["accepted"] is True
    departments = {d.code for d in sample.form.departments}
    assert len(departments) == 9
    assert {b["department_code"] for b in result["departments"]} == departments
    assert all(b["pushed"] is True for b in result["departments"])

    spans = department_task_spans(state.state_details.flow_run_id, expected=9)
    assert len(spans) == 9
    # concurrent: every department task started before the first one ended
    assert max(s.start for s in spans) < min(s.end for s in spans)

    with session_scope() as session:
        rows = session.exec(select(DepartmentReview)).all()
    assert {r.department_code for r in rows} == departments
    assert all(r.status.value == "pending" and r.suggested_opinion.startswith("系统预审") for r in rows)

    # each department received only its own permits' fields
    for code, pushes in systems.received.items():
        assert len(pushes) == 1
        permit_fields = {k for p in sample.form.permits_of(code) for k in p.fields}
        assert {f["key"] for f in pushes[0]["fields"]} == permit_fields


def test_invalid_form_is_refused_with_named_fields_and_nothing_stored(sample):
    answers = dict(sample.answers, uscc="91500107MA0000001X", floor_area="很大", unknown_key="x")
    result = submit_application(sample.industry_code, answers, sample.materials, "applicant-1")
    assert result["accepted"] is False
    assert {e["key"] for e in result["errors"]} == {"uscc", "floor_area", "unknown_key"}
    assert all(e["message"].startswith(e["label"]) for e in result["errors"])
    assert _count(Application) == 0 and _count(DepartmentReview) == 0


def test_blocking_prereview_finding_refuses_with_permit_and_department(sample):
    answers = dict(sample.answers, lifeguard_count=0)
    result = submit_application(sample.industry_code, answers, sample.materials, "applicant-1")
    assert result["accepted"] is False
    blocking = [f for f in result["findings"] if f["severity"] == "blocking"]
    assert blocking and all(f["permit_code"] and f["department_name"] for f in blocking)
    assert _count(Application) == 0


def test_unknown_industry_is_refused():
    result = submit_application("NO_SUCH_INDUSTRY", {}, {}, "applicant-1")
    assert result["accepted"] is False
    assert result["errors"][0]["key"] == "industry_code"


def test_unreachable_department_is_recorded_and_delivered_later(sample, systems):
    down = sample.form.departments[0].code
    systems.fail.add(down)
    result = submit_application(sample.industry_code, sample.answers, sample.materials, "applicant-1")
    assert result["accepted"] is True  # the application is stored and in every queue regardless
    pushed = {b["department_code"]: b["pushed"] for b in result["departments"]}
    assert pushed[down] is False and all(v for k, v in pushed.items() if k != down)
    app_id = result["application_id"]
    with session_scope() as session:
        failed = [m for m in outbox.messages_for(session, app_id, outbox.DEPARTMENT_PUSH) if m.done_at is None]
    assert [m.department_code for m in failed] == [down]
    assert failed[0].attempts == 1 and "503" in failed[0].last_error

    systems.fail.clear()
    assert deliver(app_id, down) is True
    assert deliver(app_id, down) is True  # a redelivery finds nothing left to do
    assert len(systems.received[down]) == 1
    with session_scope() as session:
        assert outbox.pending_count(session, outbox.DEPARTMENT_PUSH, app_id) == 0


def test_retried_submit_with_same_idempotency_key_creates_one_application(sample):
    first = submit_application(sample.industry_code, sample.answers, sample.materials, "applicant-1", True, "key-1")
    again = submit_application(sample.industry_code, sample.answers, sample.materials, "applicant-1", True, "key-1")
    assert first["application_id"] == again["application_id"]
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["departments"] == []  # the replay does not fan out a second time
    assert _count(Application) == 1
    with session_scope() as session:
        suggestions = session.exec(select(AuditEvent).where(AuditEvent.action == "review.suggest")).all()
    assert len(suggestions) == len(first["departments"]) == 9
