"""Kill -9 the worker running the flows while applications are mid-review and mid-aggregation, restart it:
every application reaches its outcome with exactly one license."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import func, select

from onelicense.services import applications
from onelicense.store.db import session_scope
from onelicense.store.tables import Application, AuditEvent
from onelicense.store.tables.license import License
from tests.flows.conftest import ADMIN, decide_all, submit

N_AGGREGATING = 5
N_IN_REVIEW = 2


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    code = "from cli import app; app(['worker', '--interval', '0.2'])"
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _issued() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(License)).one()


def _rendered() -> int:
    with session_scope() as session:
        return sum(1 for lic in session.exec(select(License)) if lic.pdf_path and Path(lic.pdf_path).is_file())


def _wait(predicate, timeout: float, worker: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.1)
    pytest.fail(f"timed out; worker log:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.mark.slow
def test_killed_worker_loses_and_duplicates_nothing(real_systems_settings, systems, sample, tmp_path, monkeypatch):
    systems.latency = 0  # the departments answer at once: the kill, not the pushes, is what is tested
    # a long lease: what the killed worker held must come back because the next one reclaims a dead owner's
    # leases when it starts, not because the lease ran out
    monkeypatch.setenv("ONELICENSE_OUTBOX_LEASE_SECONDS", "120")
    env = dict(os.environ, PREFECT_LOGGING_LEVEL="WARNING", PREFECT_HOME=str(tmp_path / "prefect-worker"))
    aggregating = [submit(sample) for i in range(N_AGGREGATING)]
    in_review = [submit(sample) for i in range(N_IN_REVIEW)]
    decide_all(aggregating[0])
    log = tmp_path / "worker.log"

    first = _worker(env, log)
    _wait(lambda: _issued() >= 1, 180, first, log)
    # the others are decided while the worker runs, and it is killed the moment the last decision commits: it has
    # work leased or in flight, and the last application at least cannot have been issued yet (it takes a poll, an
    # aggregation and an issuance), whatever the machine's speed
    for app_id in aggregating[1:]:
        decide_all(app_id)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = _issued()
    assert killed_at < N_AGGREGATING, "the worker finished everything before the kill: nothing was proven"

    for app_id in in_review:  # reviews finish while no worker runs
        decide_all(app_id)

    second = _worker(env, log)
    restarted = time.monotonic()
    try:
        _wait(lambda: _issued() == N_AGGREGATING + N_IN_REVIEW and _rendered() == _issued(), 90, second, log)
        print(
            f"recovered {N_AGGREGATING + N_IN_REVIEW - killed_at} applications {time.monotonic() - restarted:.1f} s after the restart"
        )
        time.sleep(1.5)  # let any duplicate attempt surface before counting
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    with session_scope() as session:
        licenses = session.exec(select(License)).all()
        statuses = {a.id: a.status.value for a in session.exec(select(Application))}
        issue_events = session.exec(select(AuditEvent).where(AuditEvent.action == "application.issue")).all()
    everyone = set(aggregating) | set(in_review)
    assert sorted(lic.application_id for lic in licenses) == sorted(everyone)
    assert len({lic.number for lic in licenses}) == len(everyone)
    assert set(statuses.values()) == {"issued"}
    assert sorted(e.entity_id for e in issue_events) == sorted(everyone)
    for lic in licenses:
        assert Path(lic.pdf_path).is_file()
    with session_scope() as session:
        opinion = applications.get_application(session, ADMIN, aggregating[0]).composite_opinion
    assert opinion["outcome"] == "approve"
