"""Fixtures of the API tests: a migrated temporary database the whole app (routes, flows, store) uses, one user
of each role with its token, and a TestClient. Data is built through the API itself.

Submitting answers at once; the fan-out (key fields and suggested opinion on each review, pushes to the
department systems) runs later from the outbox. A test that needs it calls `api.fan_out()`, which runs the
dispatcher once, as `onelicense worker` does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from onelicense.flows.aggregation import aggregate
from onelicense.flows.dispatcher import dispatch_once
from onelicense.review.roles import Actor, Role
from onelicense.services.adapters import registry
from onelicense.services.users import create_user
from onelicense.settings import get_settings
from onelicense.store.db import database_url, dispose_engine, migrate, session_scope
from onelicense.store.tables import Application, AuditEvent, DecisionRecord, DepartmentReview, OutboxMessage
from onelicense.web.app import create_app
from tests import databases
from tests.web.sample import REGISTERED, USCC, submission_body

# the catalog departments of the small industry used by most tests, and one that it does not involve
OWN, OTHER, UNINVOLVED = "WSJK", "XFJY", "SCJG"


@contextmanager
def temporary_database(folder: Path, url: str | None = None) -> Iterator[str]:
    """Point settings (hence the routes, the flows and the store) at a fresh database: a SQLite file in `folder`,
    or `url` (an empty PostgreSQL schema)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ONELICENSE_DATA_DIR", str(folder))
        if url:
            patch.setenv("ONELICENSE_DATABASE_URL", url)
        else:
            patch.delenv("ONELICENSE_DATABASE_URL", raising=False)
        patch.delenv("ONELICENSE_DEPARTMENT_ENDPOINTS", raising=False)
        patch.delenv("ONELICENSE_TOKEN", raising=False)
        # many test accounts act for the one sample business: its representative's number is texted often (the
        # limits themselves are tested in tests/web/portal/test_identity.py)
        patch.setenv("ONELICENSE_SMS_INTERVAL_SECONDS", "0")
        patch.setenv("ONELICENSE_SMS_PER_NUMBER_PER_HOUR", "10000")
        patch.setenv("ONELICENSE_REGISTER_ADDRESS_LIMIT", "10000")
        get_settings.cache_clear()
        url = database_url()
        if not url.startswith("postgresql"):  # a copy of the process's migrated template, not a fresh migration
            databases.sqlite_copy(folder / "onelicense.db")
        migrate(url)  # a no-op at head
        with session_scope(url) as session:  # the business the test accounts act for, in the registry's stand-in
            registry.import_entries(session, Actor("test-setup", Role.ADMIN), [REGISTERED])
        try:
            yield url
        finally:
            dispose_engine(url)
            get_settings.cache_clear()


# `@BOTH_DATABASES` on a test runs it on SQLite and on PostgreSQL (the `database` fixture reads the parameter)
BOTH_DATABASES = pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@dataclass
class Users:
    """Tokens by role name: applicant, other_applicant, reviewer (OWN), reviewer2 (OWN), other_reviewer (OTHER),
    uninvolved_reviewer (UNINVOLVED), admin."""

    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}


USER_SPECS: dict[str, tuple[Role, str | None]] = {
    "applicant": (Role.APPLICANT, None),
    "other_applicant": (Role.APPLICANT, None),
    "reviewer": (Role.REVIEWER, OWN),
    "reviewer2": (Role.REVIEWER, OWN),
    "other_reviewer": (Role.REVIEWER, OTHER),
    "uninvolved_reviewer": (Role.REVIEWER, UNINVOLVED),
    "admin": (Role.ADMIN, None),
}


def make_users() -> Users:
    users = Users()
    with session_scope() as session:
        for name, (role, department) in USER_SPECS.items():
            usccs = [USCC] if role is Role.APPLICANT else []
            user, token = create_user(session, name, role, department, usccs=usccs)
            users.tokens[name], users.ids[name] = token, user.id
    return users


class Api:
    """The TestClient with the users' tokens: `api.post("/api/...", as_="reviewer", json=...)`."""

    def __init__(self, client: TestClient, users: Users) -> None:
        self.client = client
        self.users = users

    def request(self, method: str, path: str, as_: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.users.headers(as_), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, as_: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, as_, **kwargs)

    def post(self, path: str, as_: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, as_, **kwargs)

    # --- the steps most tests share ---------------------------------------------------------------------

    def submit(self, as_: str = "applicant", **overrides: Any) -> dict[str, Any]:
        response = self.post("/api/applications", as_, json={**submission_body(), **overrides})
        assert response.status_code == 201, response.text
        return response.json()

    def fan_out(self) -> int:
        """Run the dispatcher once (fan-out of every submitted application, due aggregations); how many
        messages it handled."""
        return dispatch_once()

    def review_id(self, submitted: dict[str, Any], department: str = OWN) -> str:
        return next(d["review_id"] for d in submitted["departments"] if d["department_code"] == department)

    def decide(self, review_id: str, as_: str = "reviewer", **body: Any) -> httpx.Response:
        body.setdefault("decision", "approve")
        body.setdefault("opinion", "符合条件，同意。")
        return self.post(f"/api/queue/{review_id}/decide", as_, json=body)

    def supplement_requested(self, items: tuple[str, ...] = ("bed_count", "emergency_plan")) -> dict[str, Any]:
        """An application of `applicant` in 待补正: OWN asked for `items`, OTHER approved, aggregation ran."""
        submitted = self.submit()
        asked = self.decide(
            self.review_id(submitted),
            decision="supplement",
            opinion="请补正床位数和应急预案。",
            requested_items=list(items),
        )
        assert asked.status_code == 200, asked.text
        approved = self.decide(self.review_id(submitted, OTHER), as_="other_reviewer")
        assert approved.status_code == 200, approved.text
        aggregate([submitted["application_id"]])
        return submitted


def row_counts() -> dict[str, int]:
    """Rows per application-side table: proves a refused request wrote nothing."""
    with session_scope() as session:
        return {
            table.__name__: session.exec(select(func.count()).select_from(table)).one()
            for table in (Application, DepartmentReview, DecisionRecord, AuditEvent, OutboxMessage)
        }


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite unless the test is parametrized with `BOTH_DATABASES`."""
    if getattr(request, "param", "sqlite") == "postgres":
        request.getfixturevalue("postgres_admin")  # fails, never skips, when the server is unreachable
        with databases.postgres_clone() as url, temporary_database(tmp_path / "data", url) as database_url_:
            yield database_url_
        return
    with temporary_database(tmp_path / "data") as url:
        yield url


@pytest.fixture
def users(database: str) -> Users:
    return make_users()


@pytest.fixture
def client(database: str) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, users: Users) -> Api:
    return Api(client, users)


@pytest.fixture(autouse=True)
def _prefect(prefect_api: str) -> str:
    """Every test here may start flow runs (directly or through the dispatcher): the run's Prefect server."""
    return prefect_api
