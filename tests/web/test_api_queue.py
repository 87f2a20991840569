"""Reviewer side of the API: the department queue, claim, release, decide, and the race for one review."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from fastapi.testclient import TestClient

from onelicense.forms.catalog import get_catalog
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services.reviews import decision_history
from onelicense.store.db import session_scope
from onelicense.web.app import create_app
from tests.web.conftest import BOTH_DATABASES, OTHER, OWN, Api, row_counts


def test_reviewer_queue_lists_its_own_department_only(api: Api) -> None:
    first = api.submit()
    second = api.submit("other_applicant")

    own = api.get("/api/queue", "reviewer").json()["items"]
    other = api.get("/api/queue", "other_reviewer").json()["items"]

    assert {q["department_code"] for q in own} == {OWN}
    assert {q["department_code"] for q in other} == {OTHER}
    assert [q["application_id"] for q in own] == [first["application_id"], second["application_id"]]  # oldest first
    assert own[0]["status_label"] == "待受理"
    assert own[0]["industry_name"] == "养老机构"


def test_queue_filters_by_status_industry_and_age(api: Api) -> None:
    submitted = api.submit()
    review_id = api.review_id(submitted)
    assert api.post(f"/api/queue/{review_id}/claim", "reviewer").status_code == 200

    claimed = api.get("/api/queue", "reviewer", params={"status": "claimed"}).json()["items"]
    pending = api.get("/api/queue", "reviewer", params={"status": "pending"}).json()["items"]
    both = api.get("/api/queue", "reviewer", params=[("status", "pending"), ("status", "claimed")]).json()["items"]
    other_industry = api.get("/api/queue", "reviewer", params={"industry": "HOTEL"}).json()["items"]
    same_industry = api.get("/api/queue", "reviewer", params={"industry": "ELDERLY_CARE"}).json()["items"]
    old = api.get("/api/queue", "reviewer", params={"older_than_hours": 24}).json()["items"]
    fresh = api.get("/api/queue", "reviewer", params={"older_than_hours": 0}).json()["items"]

    assert [q["review_id"] for q in claimed] == [review_id]
    assert pending == []
    assert [q["review_id"] for q in both] == [review_id]
    assert other_industry == []
    assert [q["review_id"] for q in same_industry] == [review_id]
    assert old == []
    assert [q["review_id"] for q in fresh] == [review_id]


def test_the_queue_is_paged_and_its_total_follows_the_filters(api: Api) -> None:
    reviews = [api.review_id(api.submit()) for _ in range(3)]
    assert api.post(f"/api/queue/{reviews[0]}/claim", "reviewer").status_code == 200

    first = api.get("/api/queue", "reviewer", params={"page_size": 2}).json()
    second = api.get("/api/queue", "reviewer", params={"page_size": 2, "page": 2}).json()
    claimed = api.get("/api/queue", "reviewer", params={"status": "claimed"}).json()

    assert (first["total"], first["pages"], second["page"]) == (3, 2, 2)
    assert [q["review_id"] for q in first["items"] + second["items"]] == reviews  # oldest first
    assert (claimed["total"], [q["review_id"] for q in claimed["items"]]) == (1, [reviews[0]])


def test_review_detail_carries_key_fields_suggestion_and_requestable_items(api: Api) -> None:
    review_id = api.review_id(api.submit())
    api.fan_out()

    detail = api.get(f"/api/queue/{review_id}", "reviewer").json()

    assert detail["key_fields"]["department"]["code"] == OWN
    assert {f["key"] for f in detail["key_fields"]["fields"]} >= {"bed_count", "holder_name"}
    assert detail["suggested_opinion"].startswith("系统预审")
    requestable = {i["key"]: i for i in detail["requestable_items"]}
    assert requestable["bed_count"]["kind"] == "field"
    assert requestable["emergency_plan"] == {"key": "emergency_plan", "label": "突发事件应急预案", "kind": "material"}
    assert "fire_acceptance_proof" not in requestable  # the fire department's material
    assert detail["history"] == []


@BOTH_DATABASES
def test_claim_release_and_decide(api: Api) -> None:
    submitted = api.submit()
    review_id = api.review_id(submitted)

    claimed = api.post(f"/api/queue/{review_id}/claim", "reviewer")
    taken = api.post(f"/api/queue/{review_id}/claim", "reviewer2")
    released = api.post(f"/api/queue/{review_id}/release", "reviewer")
    decided = api.decide(review_id, "reviewer2", decision="reject", opinion="床位设置不符合要求。")

    assert claimed.status_code == 200
    assert claimed.json()["status_label"] == "审查中"
    assert claimed.json()["assignee"] == api.users.ids["reviewer"]
    assert taken.status_code == 409
    # names the colleague who holds it, never the internal user id
    assert "区卫生健康委员会审批人员「reviewer」受理" in taken.json()["detail"]
    assert api.users.ids["reviewer"] not in taken.json()["detail"]
    assert released.status_code == 200
    assert released.json()["status"] == "pending"
    assert decided.status_code == 200
    assert decided.json()["decision_label"] == "不同意"
    assert decided.json()["history"][0]["opinion"] == "床位设置不符合要求。"
    progress = api.get(f"/api/applications/{submitted['application_id']}", "applicant").json()
    assert progress["status_label"] == "审查中"


def test_last_decision_hands_the_application_to_aggregation(api: Api) -> None:
    submitted = api.submit()

    api.decide(api.review_id(submitted), "reviewer")
    last = api.decide(api.review_id(submitted, OTHER), "other_reviewer")

    assert last.status_code == 200
    detail = api.get(f"/api/applications/{submitted['application_id']}", "applicant").json()
    assert detail["status_label"] == "待汇总"
    assert all(d["decided"] for d in detail["departments"])


def test_supplement_must_name_items_of_the_departments_own_permits(api: Api) -> None:
    review_id = api.review_id(api.submit())
    counts = row_counts()

    foreign = api.decide(review_id, decision="supplement", opinion="补正", requested_items=["fire_acceptance_proof"])
    unknown = api.decide(review_id, decision="supplement", opinion="补正", requested_items=["no_such_item"])
    none = api.decide(review_id, decision="supplement", opinion="补正", requested_items=[])
    with_approval = api.decide(review_id, decision="approve", requested_items=["bed_count"])

    for response in (foreign, unknown, none, with_approval):
        assert response.status_code == 422, response.text
    assert "fire_acceptance_proof" in foreign.json()["errors"][0]["reason"]
    assert "no_such_item" in unknown.json()["detail"]
    assert "补正" in none.json()["detail"]
    assert row_counts() == counts

    ok = api.decide(
        review_id, decision="supplement", opinion="请补正。", requested_items=["bed_count", "emergency_plan"]
    )
    assert ok.status_code == 200
    assert [i["label"] for i in ok.json()["requested_items"]] == ["床位数（张）", "突发事件应急预案"]


def test_opinion_is_required_and_capped(api: Api) -> None:
    """Required to refuse or ask for 补正 (同意 may stand without words: tests/web/portal/test_rules_agree.py),
    at most 2,000 characters."""
    review_id = api.review_id(api.submit())
    counts = row_counts()

    missing = api.post(f"/api/queue/{review_id}/decide", "reviewer", json={"decision": "reject"})
    blank = api.decide(review_id, decision="reject", opinion="")
    spaces = api.decide(review_id, decision="supplement", opinion="   ", requested_items=["bed_count"])
    too_long = api.decide(review_id, opinion="意" * 2001)
    bad_decision = api.decide(review_id, decision="maybe")

    assert missing.status_code == 422
    assert missing.json()["errors"][0]["key"] == "opinion"
    assert blank.status_code == 422
    assert spaces.status_code == 422
    assert too_long.status_code == 422
    assert "2000" in too_long.json()["detail"]
    assert bad_decision.status_code == 422
    assert "approve" in bad_decision.json()["detail"]
    assert row_counts() == counts


def test_an_opinion_with_a_right_to_left_override_is_refused_and_nothing_changes(api: Api) -> None:
    review_id = api.review_id(api.submit())
    before = api.get(f"/api/queue/{review_id}", "reviewer").json()
    counts = row_counts()

    refused = api.decide(review_id, opinion="同意\u202e。见意意同不")

    assert refused.status_code == 422, refused.text
    assert [e["key"] for e in refused.json()["errors"]] == ["opinion"] and "U+202E" in refused.json()["detail"]
    assert api.get(f"/api/queue/{review_id}", "reviewer").json() == before
    assert row_counts() == counts


def test_deciding_twice_and_stale_versions_are_conflicts(api: Api) -> None:
    review_id = api.review_id(api.submit())
    version = api.get(f"/api/queue/{review_id}", "reviewer").json()["version"]
    assert api.post(f"/api/queue/{review_id}/claim", "reviewer", json={"expected_version": version}).status_code == 200

    stale = api.decide(review_id, expected_version=version)
    first = api.decide(review_id, expected_version=version + 1)
    second = api.decide(review_id, decision="reject", opinion="改变主意")

    assert stale.status_code == 409
    assert first.status_code == 200
    assert second.status_code == 409
    assert "同意" in second.json()["detail"]


def _race(api: Api, review_id: str, requests: list[tuple[str, str, dict[str, Any] | None]]) -> list[httpx.Response]:
    """Send the requests at the same instant from their own threads and clients."""
    barrier = threading.Barrier(len(requests))
    responses: list[httpx.Response | None] = [None] * len(requests)

    def send(index: int, who: str, action: str, body: dict[str, Any] | None) -> None:
        with TestClient(create_app()) as client:
            barrier.wait()
            responses[index] = client.post(
                f"/api/queue/{review_id}/{action}", headers=api.users.headers(who), json=body
            )

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in responses)
    return responses  # type: ignore[return-value]


@BOTH_DATABASES
def test_two_reviewers_deciding_at_once_exactly_one_wins(api: Api) -> None:
    for _ in range(3):
        review_id = api.review_id(api.submit())
        approve = {"decision": "approve", "opinion": "同意。"}
        reject = {"decision": "reject", "opinion": "不同意。"}

        responses = _race(api, review_id, [("reviewer", "decide", approve), ("reviewer2", "decide", reject)])

        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200).json()
        # the loser learns why: its version was stale, the winner held the review, or it already has the
        # winner's decision
        lost = next(r for r in responses if r.status_code == 409).json()["detail"]
        assert "刷新" in lost or "受理" in lost or f"从「{winner['decision_label']}」" in lost, lost
        with session_scope() as session:
            history = decision_history(session, SYSTEM_ACTOR, review_id)
        assert [h.decision.value for h in history] == [winner["decision"]]


@BOTH_DATABASES
def test_two_reviewers_claiming_at_once_exactly_one_gets_it(api: Api) -> None:
    review_id = api.review_id(api.submit())

    responses = _race(api, review_id, [("reviewer", "claim", None), ("reviewer2", "claim", None)])

    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert api.get(f"/api/queue/{review_id}", "admin").json()["assignee"] == winner["assignee"]


def test_queue_items_carry_the_red_yellow_green_level(api: Api) -> None:
    api.submit()
    [item] = api.get("/api/queue", "reviewer").json()["items"]
    catalog = get_catalog()
    promised = max(p.promised_days for p in catalog.permits.values() if p.name in item["permits"])
    assert item["sla_remaining_days"] == promised  # opened today: no working day used yet
    # opened today: green, even for a 1-day promise (yellow once a working day is used: review.sla)
    assert item["sla_level"] == "green"
    assert item["sla_label"].startswith("绿灯")
