"""The dispatcher: turns committed outbox messages into work — fan-out and aggregation flow runs, certificate
renders — and holds no application in memory.

Every round reads the due messages from the database and leases them, so a dispatcher killed at any point resumes
where the database says. While it works it renews its leases (short ones: a dead dispatcher's work is due again
within seconds); at start it reclaims at once the leases of dispatchers of this machine that are no longer
running. Several dispatchers can run at once, on several machines (leases keep them apart; the work is idempotent).

    department_push messages → one `fan-out` flow run for the round's batch
    aggregate messages       → one `aggregate` flow run for the round's batch
    render_pdf messages      → the certificate rendered in a pool of processes (Pango is not thread-safe, and
                               rendering is CPU work: processes use every core)
    notify messages          → one notification sent by one channel (webhook, email); each round first turns
                               the notifications not yet dispatched into these messages

Flow runs start in this process (the embedded default) or, with `deployments=True`, as runs of the deployments
Prefect workers serve (flows/deployments.py): the flows mark their own messages, so either way is the same."""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

from onelicense.flows.aggregation import aggregate
from onelicense.flows.fan_out import fan_out
from onelicense.flows.runtime import without_heartbeats
from onelicense.flows.sweep import daily_sweep
from onelicense.services import licenses, notifications, outbox_work
from onelicense.services.priority import exit_with_parent
from onelicense.settings import get_settings
from onelicense.store.db import session_scope
from onelicense.store.tables.application import OutboxMessage

log = logging.getLogger("onelicense.dispatcher")
KINDS = outbox_work.KINDS


def _process_start(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot), to tell a live process from a reused pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Dispatcher:
    def __init__(self, *, deployments: bool = False, pdf_workers: int | None = None) -> None:
        settings = get_settings()
        self.deployments = deployments
        self.host = socket.gethostname()
        self.owner = f"{self.host}:{os.getpid()}:{_process_start(os.getpid()) or time.time_ns()}"
        self.lease = timedelta(seconds=settings.outbox_lease_seconds)
        self.pdf_workers = pdf_workers or settings.pdf_workers
        self.batch_window = settings.dispatch_batch_window_seconds
        self.flow_runs = settings.dispatch_flow_runs
        self._renders: ProcessPoolExecutor | None = None
        self._rendering: dict[str, Future[bytes]] = {}
        self._in_flows: set[str] = set()  # messages of flow runs going on in this process (their leases renewed)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------------ a round

    def dispatch_once(self, limit: int = 50, *, wait: bool = True, kinds: tuple[str, ...] = KINDS) -> int:
        """Lease what is due (of `kinds`) and start it; return once the round's flow runs are done and, with `wait`,
        its renders too. Returns how many messages were leased."""
        leased, flows, renders = self._round(limit, kinds)
        for run in flows:
            run.join()
        if wait:
            for finished in renders:
                finished.wait()
        return leased

    def _round(
        self, limit: int, kinds: tuple[str, ...], finished: Callable[[], None] = lambda: None
    ) -> tuple[int, list[threading.Thread], list[threading.Event]]:
        """Lease what is due of `kinds`, start its flow runs (a thread each, `finished` called as each one ends) and
        renders, send its notifications. Returns the count leased, the flow runs' threads, the renders' events."""

        def due(kind: str, count: int) -> list[OutboxMessage]:
            if kind not in kinds:
                return []
            return outbox_work.lease_due(session, kind, limit=count, lease=self.lease, owner=self.owner)

        with session_scope() as session:
            if outbox_work.NOTIFY in kinds:
                notifications.dispatch_pending(session)
            pushes = due(outbox_work.DEPARTMENT_PUSH, limit * 9)
            aggregations = due(outbox_work.AGGREGATE, limit)
            renders = due(outbox_work.RENDER_PDF, limit)
            notices = due(outbox_work.NOTIFY, limit)
        started = [self._render(m) for m in renders]
        for message in notices:
            self._notify(message)
        flows = []
        if pushes:
            flows.append(self._spawn(fan_out, "fan-out", _columns(pushes, "department_code"), pushes, finished))
        if aggregations:
            flows.append(self._spawn(aggregate, "aggregate", _columns(aggregations), aggregations, finished))
        return len(pushes) + len(aggregations) + len(renders) + len(notices), flows, started

    def _spawn(
        self,
        flow: Callable[..., object],
        name: str,
        parameters: dict[str, list[str]],
        messages: list[OutboxMessage],
        finished: Callable[[], None],
    ) -> threading.Thread:
        """One flow run in a thread of its own; the leases of its messages are renewed until it ends when it runs
        here (a deployment run's are not: a dead Prefect worker's messages must come back after one lease)."""
        ids = {m.id for m in messages} if not self.deployments else set()
        with self._lock:
            self._in_flows |= ids

        def run() -> None:
            try:
                self._start(flow, name, parameters, messages)
            finally:
                with self._lock:
                    self._in_flows -= ids
                finished()

        thread = threading.Thread(target=run, name=f"dispatch-{name}")
        thread.start()
        return thread

    def _notify(self, message: OutboxMessage) -> None:
        """Send one notification by its channel; a channel that is down is tried again later with backoff."""
        try:
            with session_scope() as session:
                notifications.deliver(session, message)
                outbox_work.done(session, message.id)
        except Exception as exc:
            outbox_work.record_failure(message.id, exc)

    def _start(
        self, flow: Callable[..., object], name: str, parameters: dict[str, list[str]], messages: list[OutboxMessage]
    ) -> None:
        try:
            if self.deployments:
                from prefect.deployments import run_deployment

                from onelicense.flows.deployments import deployment_name

                # wait for the run (a Prefect worker starts a process for it), at most one lease: the slot it holds
                # bounds the runs going on, so a busy morning gathers larger batches instead of starting a process
                # per round; past the lease its messages are due again, as when a worker dies with the run
                run_deployment(
                    deployment_name(name), parameters=parameters, timeout=self.lease.total_seconds(), poll_interval=1
                )
            else:
                with without_heartbeats():
                    flow(**parameters)
        except Exception as exc:  # Prefect unreachable: each message is retried later (the flow marks its own)
            log.exception("%s flow run for %d messages failed to run", name, len(messages))
            with session_scope() as session:
                undone = [m.id for m in messages if not outbox_work.is_done(session, m.id)]
            for message_id in undone:
                outbox_work.record_failure(message_id, exc)

    def _render(self, message: OutboxMessage) -> threading.Event:
        """Render in the pool; the returned event is set once the file is written and the message marked."""
        finished = threading.Event()
        number = str(message.payload.get("number", ""))
        try:
            with session_scope() as session:
                wanted = licenses.certificate(session, licenses.load_license(session, number))
            future = self._pool().submit(licenses.render_certificate, wanted)
        except Exception as exc:
            outbox_work.record_failure(message.id, exc)
            finished.set()
            return finished
        with self._lock:
            self._rendering[message.id] = future

        def written(done: Future[bytes]) -> None:
            try:
                store_rendered(wanted, done.result(), message.id)
            except Exception as exc:
                outbox_work.record_failure(message.id, exc)
            finally:
                with self._lock:
                    self._rendering.pop(message.id, None)
                finished.set()

        future.add_done_callback(written)
        return finished

    def _pool(self) -> ProcessPoolExecutor:
        if self._renders is None:
            # spawn: a forked child of a process running threads (Prefect's) may inherit a held lock
            self._renders = ProcessPoolExecutor(
                self.pdf_workers, mp_context=multiprocessing.get_context("spawn"), initializer=exit_with_parent
            )
        return self._renders

    # ------------------------------------------------------------------------------------------------ leases

    def renew(self) -> None:
        """Keep the leases of the renders and flow runs in progress (a batch may take longer than a lease)."""
        with self._lock:
            ids = [*self._rendering, *self._in_flows]
        with session_scope() as session:
            outbox_work.renew_leases(session, self.owner, ids, self.lease)

    def reclaim(self) -> int:
        """Leases of dispatchers of this machine that no longer run are due again now, not a lease later."""
        with session_scope() as session:
            dead = [owner for owner in outbox_work.lease_owners(session) if self._dead(owner)]
            return outbox_work.reclaim_leases(session, dead)

    def _dead(self, owner: str) -> bool:
        host, _, rest = owner.partition(":")
        pid, _, started = rest.partition(":")
        if host != self.host or owner == self.owner or not pid.isdigit():
            return False
        return _process_start(int(pid)) != started

    # ------------------------------------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event, interval: float | None = None) -> None:
        """Loop until `stop` is set: short database polls, never a long sleep inside a flow. Each kind of work has
        a loop of its own, so an aggregation never waits behind a long fan-out, nor a fan-out behind renders."""
        interval = interval if interval is not None else get_settings().dispatch_interval_seconds
        if reclaimed := self.reclaim():
            log.warning("reclaimed %d messages leased by a dispatcher that is no longer running", reclaimed)
        loops = [
            threading.Thread(target=self._loop, args=(kind, stop, interval), name=f"dispatch-{kind}", daemon=True)
            for kind in KINDS
        ]
        loops.append(threading.Thread(target=self._renew_until, args=(stop,), name="lease-renewer", daemon=True))
        loops.append(threading.Thread(target=self._sweep_until, args=(stop,), name="daily-sweep", daemon=True))
        for loop in loops:
            loop.start()
        try:
            stop.wait()
        finally:
            # interrupted (Ctrl-C, the parent's SIGINT) without `stop` set: tell the loops, so they end now and the
            # rendering pool is shut down before whoever stops us runs out of patience (its processes would be
            # left behind as orphans)
            stop.set()
            for loop in loops:
                loop.join(timeout=10)
            self.close()

    def _loop(self, kind: str, stop: threading.Event, interval: float) -> None:
        """One kind's rounds. Up to `dispatch_flow_runs` of its flow runs go on at once: a run spends much of its
        time reporting to Prefect's API, and the next batch need not wait for that."""
        slots = threading.BoundedSemaphore(self.flow_runs)
        while not stop.is_set():
            if not slots.acquire(timeout=interval):
                continue  # every slot taken: wait for a run to end
            flows: list[threading.Thread] = []
            try:
                handled, flows, _ = self._round(50, (kind,), finished=slots.release)
            except Exception:
                log.exception("dispatch of %s failed", kind)
                handled = 0
            finally:
                if not flows:
                    slots.release()
            # idle: poll again after the interval; busy: let the next batch gather a moment, so a flow run serves
            # several applications instead of one (its cost is per run, not per application)
            stop.wait(interval if not handled else self.batch_window)
        for _ in range(self.flow_runs):  # the runs still going end before the loop does
            slots.acquire()

    def _renew_until(self, stop: threading.Event) -> None:
        while not stop.wait(self.lease.total_seconds() / 3):
            try:
                self.renew()
            except Exception:
                log.exception("lease renewal failed")

    def _sweep_until(self, stop: threading.Event) -> None:
        """The daily sweep at start and then every `sweep_interval_seconds` (idempotent: a day swept twice is
        swept once), so reminders and overdue marks never wait for a scheduler that is not running."""
        while not stop.is_set():
            try:
                with without_heartbeats():
                    daily_sweep()
            except Exception:
                log.exception("daily sweep failed; it runs again at the next interval")
            stop.wait(get_settings().sweep_interval_seconds)

    def close(self) -> None:
        if self._renders is not None:
            self._renders.shutdown(wait=True, cancel_futures=False)
            self._renders = None


def store_rendered(wanted: licenses.Certificate, pdf: bytes, message_id: str) -> None:
    """A rendered certificate written, and which document key signed it recorded with its message marked done."""
    licenses.write_certificate(wanted.path, pdf)
    with session_scope() as session:
        licenses.record_document_signer(session, wanted, pdf, commit=False)
        outbox_work.done(session, message_id)


def _columns(messages: list[OutboxMessage], with_department: str | None = None) -> dict[str, list[str]]:
    """A batch as the flow's parameters: ids only, one list per column."""
    columns: dict[str, list[str]] = {"application_ids": [m.application_id for m in messages]}
    if with_department:
        columns["department_codes"] = [m.department_code or "" for m in messages]
    columns["message_ids"] = [m.id for m in messages]
    return columns


_default: Dispatcher | None = None
_default_lock = threading.Lock()


def dispatch_once(limit: int = 50) -> int:
    """One round of this process's dispatcher, waiting for its flows and renders (the tests' and CLI's step)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Dispatcher()
            atexit.register(_default.close)  # its rendering processes end with this one, never as orphans
    return _default.dispatch_once(limit, wait=True)


def run_dispatcher(stop: threading.Event, interval: float | None = None, *, deployments: bool = False) -> None:
    Dispatcher(deployments=deployments).run(stop, interval)
