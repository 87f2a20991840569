"""The fan-out runs as a Prefect flow started from the outbox: one concurrent task run per department prepares its
review (key fields, suggested opinion) and pushes it to the department's system; a failed push stays for later."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from onelicense.clock import utcnow
from onelicense.demo.timeline import department_task_spans
from onelicense.flows.dispatcher import dispatch_once
from onelicense.flows.fan_out import fan_out
from onelicense.store import outbox
from onelicense.store.db import session_scope
from onelicense.store.tables import AuditEvent, DepartmentReview, OutboxMessage
from tests.flows.conftest import RecordedPushes, decide_all, submit


def _reviews(app_id: str) -> list[DepartmentReview]:
    with session_scope() as session:
        return list(session.exec(select(DepartmentReview).where(DepartmentReview.application_id == app_id)))


def _make_due(app_id: str) -> None:
    """Skip the backoff of failed messages (the clock moving on)."""
    with session_scope() as session:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.application_id) == app_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()


@pytest.mark.usefixtures("real_systems_settings")
def test_fan_out_runs_one_concurrent_task_per_department_over_real_http(sample, systems):
    app_id = submit(sample)
    assert all(r.suggested_opinion is None for r in _reviews(app_id))  # submit answered before any department
    assert dispatch_once() == 9

    spans = department_task_spans(app_id, expected=9)
    assert len(spans) == 9
    # concurrent: every department task started before the first one ended (each push takes 200 ms)
    assert max(s.start for s in spans) < min(s.end for s in spans)

    rows = _reviews(app_id)
    assert {r.department_code for r in rows} == {d.code for d in sample.form.departments}
    assert all(r.status.value == "pending" and r.suggested_opinion.startswith("系统预审") for r in rows)
    # each department received only its own permits' fields, once
    for code, received in systems.received.items():
        assert len(received) == 1
        permit_fields = {k for p in sample.form.permits_of(code) for k in p.fields}
        assert {f["key"] for f in received[0]["fields"]} == permit_fields
    with session_scope() as session:
        assert outbox.pending_count(session, outbox.DEPARTMENT_PUSH, app_id) == 0


@pytest.mark.usefixtures("flow_settings")
def test_each_push_carries_its_message_id_as_idempotency_key(sample, pushes: RecordedPushes):
    app_id = submit(sample)
    dispatch_once()
    with session_scope() as session:
        ids = {m.id for m in outbox.messages_for(session, app_id, outbox.DEPARTMENT_PUSH)}
    assert sorted(pushes.keys) == sorted(ids) and len(ids) == 9


@pytest.mark.usefixtures("flow_settings")
def test_unreachable_department_is_recorded_and_delivered_later(sample, pushes: RecordedPushes):
    app_id = submit(sample)
    down = sample.form.departments[0].code
    pushes.fail.add(down)
    dispatch_once()
    with session_scope() as session:
        failed = [m for m in outbox.messages_for(session, app_id, outbox.DEPARTMENT_PUSH) if m.done_at is None]
    assert [m.department_code for m in failed] == [down]
    assert failed[0].attempts == 1 and "503" in failed[0].last_error
    assert down not in pushes.received and len(pushes.received) == 8
    # the review is in its queue regardless, prepared
    assert all(r.suggested_opinion for r in _reviews(app_id))

    pushes.fail.clear()
    assert dispatch_once() == 0  # backing off: not due yet
    _make_due(app_id)
    assert dispatch_once() == 1
    assert dispatch_once() == 0  # nothing left to do
    assert len(pushes.received[down]) == 1
    with session_scope() as session:
        assert outbox.pending_count(session, outbox.DEPARTMENT_PUSH, app_id) == 0


@pytest.mark.usefixtures("flow_settings")
def test_a_fan_out_run_again_for_delivered_messages_pushes_nothing_twice(sample, pushes: RecordedPushes):
    app_id = submit(sample)
    with session_scope() as session:
        messages = outbox.messages_for(session, app_id, outbox.DEPARTMENT_PUSH)
    codes, ids = [m.department_code or "" for m in messages], [m.id for m in messages]
    first = fan_out([app_id] * len(ids), codes, ids)
    assert {b.pushed for b in first} == {True}
    again = fan_out([app_id] * len(ids), codes, ids)  # a redelivered message, a second dispatcher
    assert {b.department_code for b in again} == set(codes)
    # the department may see a repeat, always under the same idempotency key, so it can drop it
    assert sorted(set(pushes.keys)) == sorted(ids)


@pytest.mark.usefixtures("flow_settings")
def test_no_answer_of_the_form_is_a_flow_parameter(sample):
    app_id = submit(sample)
    dispatch_once()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        [run] = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"fan-out-{app_id}"])))
    text = repr(run.parameters)
    for key in ("uscc", "holder_name", "legal_rep_id_number", "contact_phone"):
        value = sample.answers.get(key)
        assert value is None or str(value) not in text
    assert set(run.parameters) == {"application_ids", "department_codes", "message_ids"}


@pytest.mark.usefixtures("flow_settings")
def test_fan_out_writes_one_suggestion_per_department(sample):
    app_id = submit(sample)
    dispatch_once()
    with session_scope() as session:
        suggestions = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "review.suggest", AuditEvent.entity_id.in_([r.id for r in _reviews(app_id)])
            )
        ).all()
    assert len(suggestions) == 9


@pytest.mark.usefixtures("flow_settings")
def test_no_answer_of_the_form_reaches_prefects_database(sample, prefect_api):
    """Flow and task parameters, run names, logs and events: grep the Prefect server's database files for what
    the applicant typed."""
    from pathlib import Path

    from onelicense.flows.runtime import drain_prefect

    secrets = {
        "legal_rep_id_number": "11010519491231002X",
        "contact_phone": "13912345678",
        "legal_representative": "甄士隐",
        "business_address": "重庆市渝北区秘密街道999号",
    }
    app_id = submit(sample, **secrets)
    dispatch_once()
    decide_all(app_id)
    while dispatch_once():
        pass
    drain_prefect()
    time.sleep(2)  # the server writes the last events in batches
    home = Path(os.environ["ONELICENSE_TEST_RUN_DIR"]) / "prefect-home"
    stored = b"".join(p.read_bytes() for p in home.glob("prefect.db*"))
    assert stored, "the Prefect database was not found"
    assert app_id.encode() in stored  # the run is there, by reference
    for key, value in secrets.items():
        for form in {value.encode(), json.dumps(value).encode(), value.encode("unicode_escape")}:
            assert form not in stored, key
