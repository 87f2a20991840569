"""Flow tests run the real Prefect flows against a real database (SQLite and PostgreSQL via `db_url`).

The departments' systems are the edge we do not own: most tests answer their pushes with an `httpx.MockTransport`
(`pushes`); the concurrency proof uses a real local HTTP server (`systems`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from onelicense.demo.department_systems import DepartmentSystems
from onelicense.demo.sample import SampleApplication, sample_application
from onelicense.flows.departments import use_transport
from onelicense.forms.catalog import get_catalog
from onelicense.review.roles import Actor, Role
from onelicense.review.transitions import Decision
from onelicense.services import applications
from onelicense.settings import Settings, get_settings
from onelicense.store.db import session_scope
from tests import builders

ADMIN = Actor("admin-1", Role.ADMIN)
APPLICANT = Actor("applicant-1", Role.APPLICANT)
reviewer = builders.reviewer


@dataclass
class RecordedPushes:
    """What the departments' systems received through the mock transport; `fail` departments answer 503."""

    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, request: httpx.Request) -> httpx.Response:
        department = request.url.path.rstrip("/").split("/")[-1]
        if department in self.fail:
            return httpx.Response(503)
        with self.lock:
            self.keys.append(request.headers["Idempotency-Key"])
            self.received.setdefault(department, []).append(json.loads(request.content))
        return httpx.Response(202)


def _use_endpoints(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path, endpoints: dict[str, str]) -> Settings:
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", db_url)
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONELICENSE_DEPARTMENT_ENDPOINTS", json.dumps(endpoints))
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def pushes() -> RecordedPushes:
    return RecordedPushes()


@pytest.fixture
def flow_settings(db_url: str, tmp_path, monkeypatch, pushes: RecordedPushes) -> Iterator[Settings]:
    """Flows and services use `db_url`; every department has a system, answered by the mock transport."""
    codes = list(get_catalog().departments)
    endpoints = {code: f"http://departments.test/api/{code}" for code in codes}
    settings = _use_endpoints(monkeypatch, db_url, tmp_path, endpoints)
    with use_transport(httpx.MockTransport(pushes.handler)):
        yield settings
    get_settings.cache_clear()


@pytest.fixture
def systems() -> Iterator[DepartmentSystems]:
    """A real local HTTP server standing in for the departments' systems (200 ms per push)."""
    server = DepartmentSystems(latency=0.2).start()
    yield server
    server.stop()


@pytest.fixture
def real_systems_settings(db_url: str, tmp_path, monkeypatch, systems: DepartmentSystems) -> Iterator[Settings]:
    """Like `flow_settings`, but the pushes travel over real HTTP to `systems`."""
    yield _use_endpoints(monkeypatch, db_url, tmp_path, systems.endpoints(list(get_catalog().departments)))
    get_settings.cache_clear()


@pytest.fixture
def sample() -> SampleApplication:
    return sample_application()  # the industry that needs all nine departments


def submit(sample: SampleApplication, **overrides: Any) -> str:
    """Submit an application like `sample` (its own holder and USCC) through the service, as the API does;
    returns the application id."""
    answers, materials = builders.valid_application(sample.industry_code, conditions=sample.conditions, **overrides)
    with session_scope() as session:
        return applications.submit(
            session, APPLICANT, industry_code=sample.industry_code, answers=answers, materials=materials
        ).application.id


def decide_all(application_id: str, overrides: dict[str, tuple[Decision, list[str] | None]] | None = None) -> None:
    """Every open review decided by its department: approve unless `overrides` says otherwise."""
    with session_scope() as session:
        builders.decide_all(session, application_id, overrides)


def status_of(application_id: str) -> str:
    with session_scope() as session:
        return applications.get_application(session, ADMIN, application_id).status.value


@pytest.fixture(autouse=True)
def _prefect(prefect_api: str) -> str:
    """Every test here may start flow runs (directly or through the dispatcher): the run's Prefect server."""
    return prefect_api
