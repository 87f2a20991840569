"""The last decision queues aggregation; the dispatcher runs it; the license is issued exactly once."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from onelicense.flows.aggregation import aggregate
from onelicense.flows.dispatcher import dispatch_once
from onelicense.review.transitions import Decision
from onelicense.services import applications, reviews
from onelicense.store.db import session_scope
from onelicense.store.tables import DepartmentReview
from onelicense.store.tables.license import License, LicensePermit
from tests.flows.conftest import ADMIN, APPLICANT, decide_all, reviewer, status_of
from tests.flows.conftest import submit as _submit

pytestmark = pytest.mark.usefixtures("flow_settings")


def _licenses(application_id: str) -> list[License]:
    with session_scope() as session:
        return list(session.exec(select(License).where(License.application_id == application_id)))


def test_nothing_is_aggregated_while_a_department_is_still_reviewing(sample):
    app_id = _submit(sample)
    with session_scope() as session:
        progress = applications.list_progress(session, ADMIN, app_id)
        for review in progress.reviews[:-1]:
            reviews.decide(session, reviewer(review.department_code), review.id, Decision.APPROVE, "同意")
    assert status_of(app_id) == "in_review"
    dispatch_once()  # the fan-out's pushes; no aggregation message exists yet
    assert dispatch_once() == 0
    assert _licenses(app_id) == []
    decide_all(app_id)  # the last department decides
    assert status_of(app_id) == "awaiting_aggregation"
    assert dispatch_once() == 1
    assert status_of(app_id) == "issued"


def test_approval_by_every_department_issues_one_license(sample):
    app_id = _submit(sample)
    decide_all(app_id)
    assert dispatch_once() >= 1
    assert status_of(app_id) == "issued"
    [license_] = _licenses(app_id)
    with session_scope() as session:
        opinion = applications.get_application(session, ADMIN, app_id).composite_opinion
    assert opinion["outcome"] == "approve" and len(opinion["departments"]) == 9
    assert "<html" in opinion["html"].lower()
    # aggregation again (a redelivered message, a second worker): still exactly one license
    [again] = aggregate([app_id])
    assert again.license_number == license_.number
    assert len(_licenses(app_id)) == 1


def test_concurrent_aggregations_issue_exactly_one_license(sample):
    app_id = _submit(sample)
    decide_all(app_id)
    results: list = []
    threads = [threading.Thread(target=lambda: results.extend(aggregate([app_id]))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.license_number for r in results}) == 1 and len(results) == 3
    assert len(_licenses(app_id)) == 1


def test_a_refusal_of_a_mandatory_permit_rejects_without_license(sample):
    app_id = _submit(sample)
    refusing = sample.form.departments[0].code
    decide_all(app_id, {refusing: (Decision.REJECT, None)})
    dispatch_once()
    assert status_of(app_id) == "rejected"
    assert _licenses(app_id) == []


def test_supplement_reopens_only_the_department_that_asked(sample):
    app_id = _submit(sample)
    asking = sample.form.departments[1].code
    item = sample.form.permits_of(asking)[0].fields[-1]
    decide_all(app_id, {asking: (Decision.SUPPLEMENT, [item])})
    dispatch_once()
    assert status_of(app_id) == "supplement_requested"
    with session_scope() as session:
        before = {r.department_code: (r.decided_at, r.round) for r in session.exec(select(DepartmentReview))}
        applications.amend(session, APPLICANT, app_id, {item: sample.answers[item]}, {})
        after = {r.department_code: r for r in session.exec(select(DepartmentReview))}
    assert after[asking].status.value == "resubmitted" and after[asking].round == 2
    for code, review in after.items():
        if code != asking:
            assert review.status.value == "approved" and (review.decided_at, review.round) == before[code]
    decide_all(app_id)
    dispatch_once()
    assert status_of(app_id) == "issued"
    assert len(_licenses(app_id)) == 1


def test_a_refused_optional_permit_is_left_off_the_license():
    from onelicense.demo.sample import sample_application

    restaurant = sample_application("RESTAURANT")
    optional_only = [
        d.code for d in restaurant.form.departments if not any(p.mandatory for p in restaurant.form.permits_of(d.code))
    ]
    assert optional_only, "the catalog has a department reviewing only optional permits for restaurants"
    refusing = optional_only[0]
    app_id = _submit(restaurant)
    decide_all(app_id, {refusing: (Decision.REJECT, None)})
    dispatch_once()
    assert status_of(app_id) == "issued"  # optional permits do not block the composite license
    [license_] = _licenses(app_id)
    with session_scope() as session:
        codes = [
            p.permit_code for p in session.exec(select(LicensePermit).where(LicensePermit.license_id == license_.id))
        ]
    refused = {p.code for p in restaurant.form.permits_of(refusing)}
    assert codes and not refused & set(codes)
    assert set(codes) == {p.code for p in restaurant.form.permits} - refused


def test_after_an_amendment_the_department_gets_the_corrected_data(sample, pushes):
    app_id = _submit(sample)
    asking = sample.form.departments[0].code
    text_fields = [
        k
        for p in sample.form.permits_of(asking)
        for k in p.fields
        if sample.form.field(k).spec.type == "text" and k != "holder_name"
    ]
    item = text_fields[0]
    decide_all(app_id, {asking: (Decision.SUPPLEMENT, [item])})
    dispatch_once()
    with session_scope() as session:
        applications.amend(session, APPLICANT, app_id, {item: "补正后的新内容𠀀"}, {})
    dispatch_once()  # the reopened department's push is due now
    pushed = {f["key"]: f["value"] for f in pushes.received[asking][-1]["fields"]}
    assert pushed[item] == "补正后的新内容𠀀"
    assert pushes.received[asking][-1]["round"] == 2
    with session_scope() as session:
        review = next(
            r for r in applications.list_progress(session, ADMIN, app_id).reviews if r.department_code == asking
        )
    assert {f["key"]: f["value"] for f in review.key_fields["fields"]}[item] == "补正后的新内容𠀀"
