"""The dispatcher's rounds: a slow flow run neither holds back the next batch nor loses its messages' leases.

The departments' systems are a mock transport that holds every push of one application until the test lets it go:
a flow run that takes as long as the test wants, with nothing timed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlmodel import col, select

from onelicense.flows.departments import use_transport
from onelicense.flows.dispatcher import Dispatcher
from onelicense.forms.catalog import get_catalog
from onelicense.services import outbox_work
from onelicense.settings import get_settings
from onelicense.store.db import session_scope
from onelicense.store.tables.application import OutboxMessage
from tests.flows.conftest import _use_endpoints, submit


@dataclass
class HeldPushes:
    """Pushes of `held` applications wait until `release` is set; every push's idempotency key is kept."""

    held: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    waiting: threading.Event = field(default_factory=threading.Event)  # a held push has arrived
    keys: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["application_id"] in self.held:
            self.waiting.set()
            assert self.release.wait(60), "the test never let the held pushes go"
        with self.lock:
            self.keys.append(request.headers["Idempotency-Key"])
        return httpx.Response(202)


@pytest.fixture
def held(db_url: str, tmp_path, monkeypatch) -> Iterator[HeldPushes]:
    pushes = HeldPushes()
    endpoints = {code: f"http://departments.test/api/{code}" for code in get_catalog().departments}
    monkeypatch.setenv("ONELICENSE_DISPATCH_BATCH_WINDOW_SECONDS", "0")
    monkeypatch.setenv("ONELICENSE_OUTBOX_LEASE_SECONDS", "1.5")  # renewed every 0.5 s while the work goes on
    monkeypatch.setenv("ONELICENSE_DEPARTMENT_PUSH_RETRIES", "0")
    _use_endpoints(monkeypatch, db_url, tmp_path, endpoints)
    with use_transport(httpx.MockTransport(pushes.handler)):
        yield pushes
    pushes.release.set()
    get_settings.cache_clear()


def _pushes_done(application_id: str) -> tuple[int, int]:
    """(delivered, all) department pushes of the application."""
    with session_scope() as session:
        done = session.exec(
            select(OutboxMessage.done_at).where(
                col(OutboxMessage.application_id) == application_id,
                col(OutboxMessage.kind) == outbox_work.DEPARTMENT_PUSH,
            )
        ).all()
    return sum(1 for at in done if at is not None), len(done)


def _until(predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


@pytest.fixture
def running() -> Iterator[Callable[[Dispatcher], None]]:
    """Start a dispatcher's loops in a thread; they are stopped after the test."""
    stops: list[tuple[threading.Event, threading.Thread]] = []

    def start(dispatcher: Dispatcher) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=dispatcher.run, args=(stop, 0.05), daemon=True)
        thread.start()
        stops.append((stop, thread))

    yield start
    for stop, thread in stops:
        stop.set()
        thread.join(30)


def test_a_slow_fan_out_does_not_hold_back_the_next_batch(sample, held: HeldPushes, running) -> None:
    slow = submit(sample)
    held.held.add(slow)
    running(Dispatcher())
    assert held.waiting.wait(60), "the first application's fan-out never reached its departments"
    quick = submit(sample)
    # the second application's fan-out is a run of its own, started while the first still waits on a department
    _until(lambda: _pushes_done(quick)[0] == _pushes_done(quick)[1] == 9)
    assert _pushes_done(slow)[0] < 9
    held.release.set()
    _until(lambda: _pushes_done(slow)[0] == 9)


def test_a_flow_run_longer_than_its_lease_keeps_its_messages(sample, held: HeldPushes, running) -> None:
    slow = submit(sample)
    held.held.add(slow)
    running(Dispatcher())
    assert held.waiting.wait(60)
    other = Dispatcher()  # another dispatcher, as on a second machine: it must find nothing due
    deadline = time.monotonic() + 3 * get_settings().outbox_lease_seconds
    while time.monotonic() < deadline:
        assert other.dispatch_once(kinds=(outbox_work.DEPARTMENT_PUSH,)) == 0
        time.sleep(0.2)
    held.release.set()
    _until(lambda: _pushes_done(slow)[0] == 9)
    assert len(held.keys) == len(set(held.keys)) == 9  # each message pushed once
