"""Benchmark: N applications end to end — submit → nine department reviews prepared (fan-out) → nine instant
decisions → composite opinion → license issued → certificate PDF rendered — through the Prefect flows and the
dispatcher, and the same work driven by plain asyncio, in one run on the same database.

    .venv/bin/python bench/bench_flows.py --n 100                 # SQLite in a temporary folder
    .venv/bin/python bench/bench_flows.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/bench_flows.py --workers 2 ...         # as `serve --workers 2`: Prefect workers run them

The Prefect path is the real one: a Prefect server of its own (started like `onelicense serve` does), the
dispatcher in a process of its own (running through warm-up and run, as in service), flow runs per dispatch round,
certificates in its pool of processes. The plain path does the same work — the flows' task bodies
(`department_review`, `aggregate_and_issue`, each marking its outbox message done) and the dispatcher's render
step — called by asyncio as soon as each can run, with the same pool. Reviewers decide as soon as a review is
prepared. Besides the figures it prints the CPU seconds of each process over the run (from /proc) and the flow
and task runs Prefect recorded: where the Prefect path's extra time goes. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

INDUSTRY = "HOTEL"  # nine departments, twenty permits with every scope question answered yes


@dataclass
class Timeline:
    submitted: float = 0.0
    accepted: float = 0.0  # the submit call returned
    decided: float = 0.0  # the last of the nine decisions
    issued: float = 0.0  # the license row (verifiable)
    rendered: float = 0.0  # the PDF on disk


@dataclass
class Run:
    name: str
    wall: float = 0.0
    apps: dict[str, Timeline] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process role over the run
    prefect_runs: tuple[int, int] = (0, 0)  # flow runs, task runs Prefect recorded over the run


def _prefect_runs() -> tuple[int, int]:
    """Flow runs and task runs Prefect's server has recorded so far (task runs arrive as events: a moment late)."""
    import httpx

    api = os.environ["PREFECT_API_URL"].rstrip("/")
    flows, tasks = (
        httpx.post(f"{api}/{kind}/count", json={}, timeout=30).json() for kind in ("flow_runs", "task_runs")
    )
    return int(flows), int(tasks)


TICKS = os.sysconf("SC_CLK_TCK")


def _role(pid: int, root: int) -> str:
    """What a process of this run is, from its command line and parent."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    if pid == root:
        return "bench (submitters, reviewers; asyncio path: its orchestration)"
    if "prefect server" in command:
        return "Prefect server"
    if "onelicense worker" in command:
        return "dispatcher (flow runs)"
    if "prefect worker" in command:
        return "Prefect workers (with their flow-run processes)"
    if "multiprocessing" in command:
        return "PDF renders" if parent == root or _role(parent, root).startswith("dispatcher") else "other"
    return "other"


def _cpu_by_role() -> dict[str, float]:
    """CPU seconds used so far by this process and every process below it, by role (/proc, Linux). A Prefect
    worker's count includes its flow-run processes that have ended (their time is added to it when it reaps them)."""
    root = os.getpid()
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    totals: dict[str, float] = {}
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            role = _role(pid, root)
        except OSError:
            continue
        used = int(fields[11]) + int(fields[12])
        if role.startswith("Prefect workers"):
            used += int(fields[13]) + int(fields[14])
            stack = [p for p in stack if p not in children.get(pid, [])]  # counted when reaped, not twice now
        totals[role] = totals.get(role, 0.0) + used / TICKS
    return totals


def _cpu_since(before: dict[str, float]) -> dict[str, float]:
    now = _cpu_by_role()
    return {role: now[role] - before.get(role, 0.0) for role in now}


def _configure(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="onelicense-bench-"))
    os.environ["ONELICENSE_DATA_DIR"] = str(data)
    if args.database_url:
        os.environ["ONELICENSE_DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("ONELICENSE_DATABASE_URL", None)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # the dispatcher and Prefect's workers at the priority of the plain path's work (serve lowers them, for requests)
    os.environ["ONELICENSE_BACKGROUND_NICENESS"] = "0"
    os.environ["PREFECT_HOME"] = str(data / "prefect")


def _users(n: int) -> tuple[object, list[object]]:
    from onelicense.review.roles import Actor, Role
    from onelicense.services.catalog import catalog

    applicant = Actor("bench-applicant", Role.APPLICANT)  # built in code: acts for any USCC (see review.roles)
    reviewers = [Actor(f"bench-{d}", Role.REVIEWER, d) for d in catalog().departments]
    return applicant, reviewers


def _submit(applicant: object, serial: int) -> str:
    from onelicense.demo.sample import sample_application
    from onelicense.services import applications
    from onelicense.store.db import session_scope

    sample = sample_application(INDUSTRY, serial=serial)
    with session_scope() as session:
        return applications.submit(
            session,
            applicant,  # type: ignore[arg-type]
            industry_code=sample.industry_code,
            answers=sample.answers,
            materials=sample.materials,
        ).application.id


def _decide_prepared(reviewers: list[object]) -> list[str]:
    """Every prepared open review decided at once (instant reviewers); returns the applications touched. One
    query finds them (a reviewer's queue page would cost the benchmark more than the work it measures)."""
    from sqlmodel import col, select

    from onelicense.review.transitions import Decision, ReviewStatus
    from onelicense.services import reviews
    from onelicense.store.db import session_scope
    from onelicense.store.tables.application import DepartmentReview

    by_department = {r.department_code: r for r in reviewers}  # type: ignore[attr-defined]
    touched = []
    with session_scope() as session:
        prepared = session.exec(
            select(DepartmentReview.id, DepartmentReview.department_code, DepartmentReview.application_id).where(
                col(DepartmentReview.status) == ReviewStatus.PENDING,
                col(DepartmentReview.suggested_opinion).is_not(None),
            )
        ).all()
        for review_id, department, application_id in prepared:
            reviews.decide(session, by_department[department], review_id, Decision.APPROVE, "同意")
            touched.append(application_id)
    return touched


def _progress(run: Run) -> None:
    """Fill in the issue and render times of the run's applications from what is stored."""
    from sqlmodel import select

    from onelicense.store.db import session_scope
    from onelicense.store.tables.license import License

    now = time.perf_counter()
    waiting = [a for a, t in run.apps.items() if not t.rendered]
    if not waiting:
        return
    with session_scope() as session:
        for license_ in session.exec(select(License).where(License.application_id.in_(waiting))):  # type: ignore[attr-defined]
            timeline = run.apps[license_.application_id]
            timeline.issued = timeline.issued or now
            if license_.pdf_path and Path(license_.pdf_path).is_file():
                timeline.rendered = now


@contextlib.contextmanager
def dispatcher(workers: int = 0) -> Iterator[subprocess.Popen[bytes]]:
    """The dispatcher as `onelicense serve` runs it: a process of its own, running as long as the service does (the
    warm-up and the measured run share it, as the plain path's warm-up and run share this process and its pool).
    With `workers`, as `serve --workers N`: the flows deployed, N Prefect workers run them, the dispatcher starts
    deployment runs."""
    from onelicense.flows.runtime import spawn_child, stop_children

    children = []
    if workers:
        from onelicense.flows.deployments import pool_name, register

        register()
        env = {**os.environ, "PREFECT_WORKER_QUERY_SECONDS": "1"}
        command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool_name(), "--type", "process"]
        logs = Path(os.environ["ONELICENSE_DATA_DIR"]) / "logs"
        children = [spawn_child(command, logs / f"prefect-worker-{n}.log", env) for n in range(workers)]
    deployments = ["--deployments"] if workers else []
    process = subprocess.Popen(
        [sys.executable, "-m", "onelicense", "worker", "--interval", "0.2", *deployments], env=dict(os.environ)
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        stop_children(children)


def prefect_path(n: int, submitters: int, offset: int) -> Run:
    """The dispatcher (running) starts the flows and renders in its pool of processes."""
    applicant, reviewers = _users(n)
    run = Run("prefect")
    cpu = _cpu_by_role()
    runs = _prefect_runs()
    start = time.perf_counter()

    def submit(serial: int) -> None:
        timeline = Timeline(submitted=time.perf_counter())
        app_id = _submit(applicant, serial)
        timeline.accepted = time.perf_counter()
        run.apps[app_id] = timeline

    with ThreadPoolExecutor(submitters) as pool:
        futures = [pool.submit(submit, serial) for serial in range(offset, offset + n)]
        while len(run.apps) < n or not all(t.rendered for t in run.apps.values()):
            for app_id in _decide_prepared(reviewers):
                if app_id in run.apps:
                    run.apps[app_id].decided = time.perf_counter()
            _progress(run)
            time.sleep(0.2)
        for future in futures:
            future.result()
    run.wall = time.perf_counter() - start
    run.cpu = _cpu_since(cpu)
    time.sleep(2)  # the last task runs' events reach the server
    flows, tasks = _prefect_runs()
    run.prefect_runs = (flows - runs[0], tasks - runs[1])
    return run


def plain_path(n: int, submitters: int, offset: int, renders: ProcessPoolExecutor) -> Run:
    """The same work without Prefect: the flows' task bodies (`department_review`, `aggregate_and_issue`, each
    marking its outbox message done) and the dispatcher's render step, called by asyncio as soon as each can run;
    no flow or task run, no dispatcher rounds."""
    from sqlmodel import col, select

    from onelicense.flows.aggregation import aggregate_and_issue
    from onelicense.flows.dispatcher import store_rendered
    from onelicense.flows.fan_out import department_review
    from onelicense.review.transitions import Decision
    from onelicense.services import licenses, outbox_work, reviews
    from onelicense.store.db import session_scope
    from onelicense.store.tables.application import OutboxMessage

    applicant, reviewers = _users(n)
    by_department = {r.department_code: r for r in reviewers}  # type: ignore[attr-defined]
    run = Run("asyncio")

    def messages(app_id: str, kind: str) -> list[OutboxMessage]:
        with session_scope() as session:
            return list(
                session.exec(
                    select(OutboxMessage).where(
                        col(OutboxMessage.application_id) == app_id,
                        col(OutboxMessage.kind) == kind,
                        col(OutboxMessage.done_at).is_(None),
                    )
                )
            )

    def prepare(app_id: str, push: OutboxMessage) -> str:
        [branch] = department_review.fn(push.department_code or "", [app_id], [push.id])
        assert branch.review_id is not None, f"{push.department_code}: not prepared"
        return branch.review_id

    def decide(review_id: str, department: str) -> None:
        with session_scope() as session:
            reviews.decide(session, by_department[department], review_id, Decision.APPROVE, "同意")

    def issue(app_id: str) -> tuple[licenses.Certificate, str]:
        [message] = messages(app_id, outbox_work.AGGREGATE)
        [result] = aggregate_and_issue.fn([app_id], [message.id])
        [render] = messages(app_id, outbox_work.RENDER_PDF)
        with session_scope() as session:
            return licenses.certificate(session, licenses.load_license(session, result.license_number or "")), render.id

    async def one(serial: int, limit: asyncio.Semaphore) -> None:
        async with limit:
            timeline = Timeline(submitted=time.perf_counter())
            app_id = await asyncio.to_thread(_submit, applicant, serial)
            timeline.accepted = time.perf_counter()
            run.apps[app_id] = timeline
        pushes = await asyncio.to_thread(messages, app_id, outbox_work.DEPARTMENT_PUSH)
        review_ids = await asyncio.gather(*(asyncio.to_thread(prepare, app_id, push) for push in pushes))
        departments = [push.department_code or "" for push in pushes]
        await asyncio.gather(*(asyncio.to_thread(decide, r, d) for r, d in zip(review_ids, departments, strict=True)))
        timeline.decided = time.perf_counter()
        wanted, render = await asyncio.to_thread(issue, app_id)
        timeline.issued = time.perf_counter()
        pdf = await asyncio.wrap_future(renders.submit(licenses.render_certificate, wanted))
        await asyncio.to_thread(store_rendered, wanted, pdf, render)
        timeline.rendered = time.perf_counter()

    async def main() -> None:
        limit = asyncio.Semaphore(submitters)
        await asyncio.gather(*(one(serial, limit) for serial in range(offset, offset + n)))

    cpu = _cpu_by_role()
    start = time.perf_counter()
    asyncio.run(main())
    run.wall = time.perf_counter() - start
    run.cpu = _cpu_since(cpu)
    return run


def _ms(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def _row(run: Run) -> dict[str, float]:
    apps = list(run.apps.values())
    n = len(apps)
    return {
        "per_min": n / run.wall * 60,
        "submit_p95": _ms([a.accepted - a.submitted for a in apps], 0.95),
        "e2e_p50": statistics.median(a.rendered - a.submitted for a in apps) * 1000,
        "e2e_p95": _ms([a.rendered - a.submitted for a in apps], 0.95),
        "license_p50": statistics.median(max(0.0, a.issued - a.decided) for a in apps) * 1000,
        "pdf_p95": _ms([a.rendered - a.issued for a in apps], 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="applications per path")
    parser.add_argument("--submitters", type=int, default=5, help="concurrent submitters")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--workers", type=int, default=0, help="as serve --workers N: flows run by N Prefect workers")
    args = parser.parse_args()
    _configure(args)

    from onelicense.flows.runtime import owned_prefect
    from onelicense.settings import get_settings

    with owned_prefect(get_settings(), progress=print):
        from onelicense.store.db import database_url, migrate

        migrate()
        backend = database_url().split(":", 1)[0]
        print(f"{os.cpu_count()} CPUs, {backend}; each application: {INDUSTRY}, 9 departments, 20 permits, a PDF")
        with ProcessPoolExecutor(get_settings().pdf_workers, mp_context=get_context("spawn")) as renders:
            print(f"warming up ({args.warmup} applications per path)…")
            plain_path(args.warmup, 1, 900_000, renders)
            plain = plain_path(args.n, args.submitters, 0, renders)
        with dispatcher(args.workers):
            prefect_path(args.warmup, 1, 910_000)
            prefect = prefect_path(args.n, args.submitters, 100_000)
        base, flow = _row(plain), _row(prefect)
        print()
        print(f"| {args.n} applications, {args.submitters} submitters | asyncio | Prefect | goal |")
        print("|---|---|---|---|")
        rows = [
            ("applications / min, end to end", "per_min", "{:.0f}", "≥ 300"),
            ("submit p95 (ms)", "submit_p95", "{:.0f}", "≤ 300"),
            ("last decision → verifiable license p50 (ms)", "license_p50", "{:.0f}", "≤ 1000"),
            ("issued → PDF rendered p95 (ms)", "pdf_p95", "{:.0f}", "≤ 5000"),
            ("submit → PDF p50 (ms)", "e2e_p50", "{:.0f}", ""),
            ("submit → PDF p95 (ms)", "e2e_p95", "{:.0f}", ""),
        ]
        for label, key, fmt, goal in rows:
            print(f"| {label} | {fmt.format(base[key])} | {fmt.format(flow[key])} | {goal} |")
        print(f"| Prefect / asyncio wall-time ratio | | {base['per_min'] / flow['per_min']:.2f}× | ≤ 1.5× |")
        flows, tasks = prefect.prefect_runs
        print(f"| Prefect flow runs / task runs over the run | | {flows} / {tasks} | |")
        print()
        print("| CPU seconds over the run, by process | asyncio | Prefect |")
        print("|---|---|---|")
        for role in sorted(set(plain.cpu) | set(prefect.cpu)):
            print(f"| {role} | {plain.cpu.get(role, 0.0):.1f} | {prefect.cpu.get(role, 0.0):.1f} |")
        total_plain, total_prefect = sum(plain.cpu.values()), sum(prefect.cpu.values())
        print(
            f"| all (wall × 2 cores: {plain.wall * 2:.0f} / {prefect.wall * 2:.0f}) "
            f"| {total_plain:.1f} | {total_prefect:.1f} |"
        )


if __name__ == "__main__":
    main()
