"""The scale-out path for real, on PostgreSQL: `onelicense serve --workers 2` starts a Prefect server (its database
on PostgreSQL), registers the deployments, starts two Prefect workers and the dispatcher as separate processes. 50
applications go through the API; one worker is SIGKILLed (with the flow runs it started) in the middle; every
application still ends with exactly one license and its certificate, and nothing is left undone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import col, func, select

from onelicense.demo.sample import sample_application
from onelicense.review.transitions import Decision, ReviewStatus
from onelicense.services import reviews, users
from onelicense.store.db import dispose_engine, migrate, session_scope
from onelicense.store.tables import DepartmentReview, OutboxMessage
from onelicense.store.tables.license import License
from tests.builders import reviewer
from tests.conftest import POSTGRES_URL

N = 50
INDUSTRY, CONDITIONS = "CONVENIENCE_STORE", {"sells_ready_to_eat_food": True, "sells_tobacco": True}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def prefect_database(postgres_admin: Engine) -> Iterator[str]:
    name = f"prefect_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(drivername="postgresql+asyncpg", database=name, query={})
    yield url.render_as_string(hide_password=False)
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
def topology(tmp_path: Path, prefect_database: str, postgres_admin: Engine, monkeypatch) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    schema = f"scale_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    database = url.render_as_string(hide_password=False)
    api_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ONELICENSE_"))}
    env.update(
        ONELICENSE_DATA_DIR=str(tmp_path / "data"),
        ONELICENSE_DATABASE_URL=database,
        ONELICENSE_PREFECT_DATABASE_URL=prefect_database,
        ONELICENSE_PREFECT_PORT=str(_free_port()),
        ONELICENSE_OUTBOX_LEASE_SECONDS="12",  # a run lost with its worker is started again this soon
        ONELICENSE_DISPATCH_INTERVAL_SECONDS="1.5",  # rounds gather bigger batches: fewer flow-run processes
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    for name, value in env.items():
        if name.startswith("ONELICENSE_"):
            monkeypatch.setenv(name, value)
    from onelicense.settings import get_settings

    get_settings.cache_clear()
    migrate(database)
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "onelicense", "serve", "--port", str(api_port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{api_port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert serve.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
        try:
            if httpx.get(f"{base}/api/industries", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    try:
        yield {"base": base, "serve": serve, "database": database, "log": tmp_path / "serve.log"}
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
        dispose_engine(database)
        get_settings.cache_clear()
        with postgres_admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _descendants(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(c) for child in children for c in (child, *map(str, _descendants(int(child))))]


def _prefect_workers(serve_pid: int) -> list[int]:
    return [
        pid
        for pid in _descendants(serve_pid)
        if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        and b"prefect" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def _issued() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(License)).one()


def _decide_prepared() -> None:
    with session_scope() as session:
        prepared = session.exec(
            select(DepartmentReview).where(
                col(DepartmentReview.status) == ReviewStatus.PENDING,
                col(DepartmentReview.suggested_opinion).is_not(None),
            )
        ).all()
        for review in prepared:
            reviews.decide(session, reviewer(review.department_code), review.id, Decision.APPROVE, "同意")


@pytest.mark.slow
@pytest.mark.postgres
def test_fifty_applications_survive_a_killed_prefect_worker(topology: dict) -> None:
    samples = [sample_application(INDUSTRY, serial=7000 + i, conditions=CONDITIONS) for i in range(N)]
    with session_scope() as session:
        token = users.create_user(session, "申请人", "applicant", usccs=[s.answers["uscc"] for s in samples])[1]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=topology["base"], headers=headers, timeout=30) as client:
        for sample in samples:
            body = {
                "industry_code": INDUSTRY,
                "answers": sample.answers,
                "materials": sample.materials,
                "commitment_accepted": True,
            }
            assert client.post("/api/applications", json=body).status_code == 201

    workers = _prefect_workers(topology["serve"].pid)
    assert len(workers) == 2, workers
    killed = False
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        _decide_prepared()
        issued = _issued()
        if not killed and issued >= 5:  # mid-run: some licenses issued, most still to come
            for pid in [workers[0], *_descendants(workers[0])]:
                os.kill(pid, signal.SIGKILL)
            killed = True
            assert issued < N, "everything was done before the kill: nothing was proven"
        with session_scope() as session:
            undone = session.exec(
                select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.done_at).is_(None))
            ).one()
        if issued == N and undone == 0:
            break
        assert topology["serve"].poll() is None, topology["log"].read_text(errors="replace")[-4000:]
        time.sleep(0.5)
    assert killed

    with session_scope() as session:
        licenses = session.exec(select(License)).all()
        dead = session.exec(select(OutboxMessage).where(col(OutboxMessage.dead_at).is_not(None))).all()
        undone = session.exec(select(OutboxMessage).where(col(OutboxMessage.done_at).is_(None))).all()
    assert len(licenses) == N and len({lic.application_id for lic in licenses}) == N  # one license each
    assert dead == [] and undone == []  # nothing stuck, nothing waiting for an admin
    assert all(lic.pdf_path and Path(lic.pdf_path).is_file() for lic in licenses)
