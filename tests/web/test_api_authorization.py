"""Authorization per endpoint and role, enforced server-side: every endpoint × every role (and no token).

A refused call answers 401 (no or unknown token) or 403 (role or department not allowed) and changes nothing.
Reviews of another department answer 403, never their content. An allowed call that meets the wrong state
(amending an application nobody asked to amend) answers 409: authorization passed, the state check refused."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from onelicense.web.app import create_app
from tests.web.conftest import OTHER, OWN, Api, make_users, temporary_database
from tests.web.sample import USCC, submission_body

ROLES = [
    None,
    "applicant",
    "other_applicant",
    "reviewer",
    "reviewer2",
    "other_reviewer",
    "uninvolved_reviewer",
    "admin",
]


@dataclass
class World:
    """One application of `applicant` (reviewed by OWN and OTHER), still untouched by any reviewer."""

    api: Api
    submitted: dict[str, Any]

    @property
    def application_id(self) -> str:
        return self.submitted["application_id"]

    @property
    def own_review(self) -> str:
        return self.api.review_id(self.submitted, OWN)

    def state(self) -> dict[str, Any]:
        """Versions and statuses of the application and its reviews, as the admin sees them."""
        detail = self.api.get(f"/api/applications/{self.application_id}", "admin").json()
        reviews = [
            self.api.get(f"/api/queue/{self.api.review_id(self.submitted, d)}", "admin").json() for d in (OWN, OTHER)
        ]
        return {
            "application": (detail["status"], detail["version"]),
            "reviews": [(r["status"], r["version"], r["assignee"]) for r in reviews],
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("authorization")
    with temporary_database(folder / "data"), TestClient(create_app()) as client:
        api = Api(client, make_users())
        yield World(api, api.submit())


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    template: str  # the route's path, e.g. /api/queue/{review_id}/claim
    allowed: dict[str | None, int]  # role → status when allowed; every other role is refused
    body: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    before: Callable[[World], None] | None = None  # put the world in the state the call needs
    after: Callable[[World], None] | None = None  # and back
    fresh_review: bool = False  # an allowed call changes the review for good: use a new application

    def path(self, world: World) -> str:
        return self.template.format(
            application_id=world.application_id, review_id=world.own_review, message_id=NO_SUCH_MESSAGE
        )


def _claim_as_reviewer(world: World) -> None:
    assert world.api.post(f"/api/queue/{world.own_review}/claim", "reviewer").status_code == 200


def _release_if_claimed(world: World) -> None:
    review = world.api.get(f"/api/queue/{world.own_review}", "admin").json()
    if review["status"] == "claimed":
        assert world.api.post(f"/api/queue/{world.own_review}/release", "admin").status_code == 200


VIEWERS = {"applicant": 200, "reviewer": 200, "reviewer2": 200, "other_reviewer": 200, "admin": 200}
NO_SUCH_MESSAGE = "0" * 32
OWN_DEPARTMENT = {"reviewer": 200, "reviewer2": 200}
SIGNED_IN_200 = {r: 200 for r in ROLES if r}
SIGNED_IN_404 = {r: 404 for r in ROLES if r}
NO_SUCH = "f" * 32
NO_LICENSE = "500107202699999999"
APPLICANTS_404 = {"applicant": 404, "other_applicant": 404}

ENDPOINTS = [
    Endpoint(
        "submit",
        "POST",
        "/api/applications",
        {"applicant": 201, "other_applicant": 201},
        body=submission_body,  # a body per call: each for premises of their own
    ),
    Endpoint("list applications", "GET", "/api/applications", {r: 200 for r in ROLES if r}),
    Endpoint("application detail", "GET", "/api/applications/{application_id}", VIEWERS),
    Endpoint(
        "amend",
        "POST",
        "/api/applications/{application_id}/amend",
        {"applicant": 409},  # allowed to amend its own, but nobody asked for a supplement
        body={"answers": {"bed_count": 30}},
    ),
    Endpoint("composite opinion", "GET", "/api/applications/{application_id}/opinion", {k: 409 for k in VIEWERS}),
    # who may download the license; before it is issued, those allowed learn that it is not issued yet
    Endpoint("license pdf", "GET", "/api/applications/{application_id}/license.pdf", {k: 409 for k in VIEWERS}),
    Endpoint("dead letters", "GET", "/api/admin/dead-letters", {"admin": 200}),
    Endpoint("supervision board", "GET", "/api/supervision/board", {"admin": 200}),
    Endpoint(
        "retry a dead letter",
        "POST",
        "/api/admin/dead-letters/{message_id}/retry",
        {"admin": 404},
        body={"reason": "已修复"},
    ),
    Endpoint(
        "discard a dead letter",
        "POST",
        "/api/admin/dead-letters/{message_id}/discard",
        {"admin": 404},
        body={"reason": "已人工处理"},
    ),
    Endpoint(
        "queue",
        "GET",
        "/api/queue",
        {"reviewer": 200, "reviewer2": 200, "other_reviewer": 200, "uninvolved_reviewer": 200, "admin": 200},
    ),
    Endpoint("review detail", "GET", "/api/queue/{review_id}", {**OWN_DEPARTMENT, "admin": 200}),
    Endpoint("claim", "POST", "/api/queue/{review_id}/claim", OWN_DEPARTMENT, after=_release_if_claimed),
    Endpoint(
        "release",
        "POST",
        "/api/queue/{review_id}/release",
        {"reviewer": 200, "admin": 200},  # the claimer or an admin; not a colleague
        before=_claim_as_reviewer,
        after=_release_if_claimed,
    ),
    Endpoint(
        "decide",
        "POST",
        "/api/queue/{review_id}/decide",
        OWN_DEPARTMENT,
        body={"decision": "approve", "opinion": "同意。"},
        fresh_review=True,
    ),
    Endpoint("industries", "GET", "/api/industries", {r: 200 for r in ROLES}),
    # commitments: a holder sees its own, a department its own (tests/web/portal/test_commitments.py); an id that
    # is nobody's answers 404 to every signed-in caller, so ids are not probed
    Endpoint("obligations", "GET", "/api/obligations", SIGNED_IN_200),
    Endpoint("obligation detail", "GET", f"/api/obligations/{NO_SUCH}", SIGNED_IN_404),
    *(
        Endpoint(f"obligation {step}", "POST", f"/api/obligations/{NO_SUCH}/{step}", SIGNED_IN_404, body=body)
        for step, body in (
            ("fulfilment", {"materials": {}}),
            ("verification", {"accept": True}),
            ("inspection", {"passed": True}),
            ("rectification", {"reason": "请整改"}),
            ("refusal", {"note": "拒不整改"}),
            ("investigation", {"note": "立案"}),
            ("restoration", {"note": "修复"}),
            ("listing", {"note": "列入"}),
            ("statement", {"statement": "陈述申辩"}),
            ("answer", {"answer": "答复"}),
            ("repair", {"statement": "已整改", "evidence": {}}),
            ("repair-declined", {"note": "材料不足"}),
        )
    ),
    # credit standing: staff may read any holder's, an applicant only the businesses its account acts for
    Endpoint("credit of its own business", "GET", f"/api/credit/{USCC}", SIGNED_IN_200),
    # 双随机 draws: reviewers see their department's part, admins all; applicants none
    Endpoint(
        "inspection draws",
        "GET",
        "/api/inspection-draws",
        {r: 200 for r in ROLES if r and "reviewer" in r} | {"admin": 200},
    ),
    Endpoint("notifications", "GET", "/api/notifications", SIGNED_IN_200),
    Endpoint("mark a notification read", "POST", "/api/notifications/issued:nothing/read", SIGNED_IN_404),
    # the holder's license: applicants (404: not theirs, or none with this number), admins may cancel
    Endpoint(
        "change a license",
        "POST",
        f"/api/licenses/{NO_LICENSE}/change",
        APPLICANTS_404,
        body={"answers": {"holder_name": "新名称"}},
    ),
    Endpoint("renew a license", "POST", f"/api/licenses/{NO_LICENSE}/renewal", APPLICANTS_404, body={}),
    Endpoint(
        "cancel a license",
        "POST",
        f"/api/licenses/{NO_LICENSE}/cancellation",
        {**APPLICANTS_404, "admin": 404},
        body={"reason": "不再经营"},
    ),
    # applicants only; the call carries no file, so an applicant learns what is missing (422), others are refused
    Endpoint("upload", "POST", "/api/uploads", {"applicant": 422, "other_applicant": 422}),
    Endpoint("departments", "GET", "/api/departments", {r: 200 for r in ROLES}),
    Endpoint("merged form", "GET", "/api/industries/HOTEL/form", {r: 200 for r in ROLES}),
    # the same with the answers in a body: any signed-in caller (a POST with a body needs a token)
    Endpoint("merged form by body", "POST", "/api/industries/HOTEL/form", SIGNED_IN_200, body={"answers": {}}),
]

CASES = [pytest.param(e, role, id=f"{e.name}-{role or 'anonymous'}") for e in ENDPOINTS for role in ROLES]


@pytest.mark.parametrize(("endpoint", "role"), CASES)
def test_endpoint_authorization(world: World, endpoint: Endpoint, role: str | None) -> None:
    api = world.api
    if endpoint.before:
        endpoint.before(world)
    expected = endpoint.allowed.get(role)
    target = world
    if expected is not None and endpoint.fresh_review:
        target = World(api, api.submit())
    state = world.state()
    try:
        body = endpoint.body() if callable(endpoint.body) else endpoint.body
        response = api.request(endpoint.method, endpoint.path(target), role, json=body)
        state_after = world.state()
    finally:
        if endpoint.after:
            endpoint.after(world)

    if expected is not None:
        assert response.status_code == expected, response.text
        return
    assert response.status_code == (401 if role is None else 403), response.text
    assert response.json()["detail"]
    if role is None:
        assert "令牌" in response.json()["detail"]
    assert state_after == state  # a refused call changed nothing


def test_every_api_route_is_in_the_matrix() -> None:
    paths = create_app().openapi()["paths"]
    concrete = {
        "{industry_code}": "HOTEL",
        "{obligation_id}": NO_SUCH,
        "{notification_id}": "issued:nothing",
        "{number}": NO_LICENSE,
        "{uscc}": USCC,
    }
    routes = {
        (method.upper(), functools.reduce(lambda p, kv: p.replace(*kv), concrete.items(), path))
        for path, operations in paths.items()
        if path.startswith("/api/")
        for method in operations
    }

    assert routes == {(e.method, e.template) for e in ENDPOINTS}


def test_list_endpoints_show_only_what_the_role_may_see(world: World) -> None:
    api = world.api
    visible = {
        role: world.application_id in {a["id"] for a in api.get("/api/applications", role).json()["items"]}
        for role in ROLES
        if role
    }
    queue_visible = {
        role: world.own_review in {q["review_id"] for q in api.get("/api/queue", role).json()["items"]}
        for role in ("reviewer", "reviewer2", "other_reviewer", "uninvolved_reviewer", "admin")
    }

    assert visible == {
        "applicant": True,
        "other_applicant": False,
        "reviewer": True,
        "reviewer2": True,
        "other_reviewer": True,  # its department reviews the same application
        "uninvolved_reviewer": False,
        "admin": True,
    }
    assert queue_visible == {
        "reviewer": True,
        "reviewer2": True,
        "other_reviewer": False,  # sees its own department's review of the application, not this one
        "uninvolved_reviewer": False,
        "admin": True,
    }


def test_reviewer_cannot_read_another_departments_queue(world: World) -> None:
    response = world.api.get("/api/queue", "other_reviewer", params={"department": OWN})

    assert response.status_code == 403
    assert "本部门" in response.json()["detail"]


def test_an_applicant_reads_the_credit_of_its_own_businesses_only(world: World) -> None:
    """Staff read any holder's credit standing; an applicant only that of the businesses its account acts for."""
    other = "/api/credit/91500000MA5U7K2X3X"
    for role in ROLES:
        answer = world.api.get(other, role)
        expected = 401 if role is None else 403 if role.endswith("applicant") else 200
        assert answer.status_code == expected, (role, answer.text)
    own = world.api.get(f"/api/credit/{USCC}", "applicant").json()
    assert own == {"uscc": USCC, "standing": "无记录", "blocked_until": None, "reliable": False}
