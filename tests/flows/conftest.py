"""Flow tests run the real Prefect flows against a real database (SQLite and PostgreSQL via `db_url`)
and real local HTTP servers standing in for the departments' systems."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from demo.department_systems import DepartmentSystems
from demo.sample import SampleApplication, sample_application
from forms.catalog import get_catalog
from onelicense.settings import Settings, get_settings
from review.roles import Actor, Role
from review.transitions import Decision
from services import applications, reviews
from store.db import session_scope

ADMIN = Actor("admin-1", Role.ADMIN)


@pytest.fixture
def systems() -> Iterator[DepartmentSystems]:
    server = DepartmentSystems(latency=0.2).start()
    yield server
    server.stop()


@pytest.fixture
def flow_settings(db_url: str, tmp_path, monkeypatch, systems: DepartmentSystems) -> Iterator[Settings]:
    """Flows and services use `db_url`; every department has a (local) system to push to."""
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", db_url)
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    endpoints = systems.endpoints(list(get_catalog().departments))
    monkeypatch.setenv("ONELICENSE_DEPARTMENT_ENDPOINTS", json.dumps(endpoints))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def sample() -> SampleApplication:
    return sample_application()  # the industry that needs all nine departments


def reviewer(department_code: str) -> Actor:
    return Actor(f"reviewer-{department_code}", Role.REVIEWER, department_code)


def decide_all(application_id: str, overrides: dict[str, tuple[Decision, list[str] | None]] | None = None) -> None:
    """Every open review decided by its department: approve unless `overrides` says otherwise."""
    overrides = overrides or {}
    with session_scope() as session:
        progress = applications.list_progress(session, ADMIN, application_id)
        for review in progress.reviews:
            if review.decision is not None and review.status.value not in ("pending", "resubmitted", "claimed"):
                continue
            decision, items = overrides.get(review.department_code, (Decision.APPROVE, None))
            reviews.decide(
                session, reviewer(review.department_code), review.id, decision, "审查意见：" + decision.label, items
            )


def status_of(application_id: str) -> str:
    with session_scope() as session:
        return applications.get_application(session, ADMIN, application_id).status.value
