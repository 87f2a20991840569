"""Submit's CPU: N submits (POST that creates an application, `services.applications.submit`) one after another in
one process, measured with the process's CPU clock, beside a baseline measured in the same run (issue 23: a burst of
50 submits on 2 cores needs ≤ ~11 ms of CPU each for a p95 of 300 ms).

    .venv/bin/python bench/submit.py                          # SQLite in a temporary folder, 200 submits
    .venv/bin/python bench/submit.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/submit.py --api                    # through the ASGI app: route, token, JSON too
    .venv/bin/python bench/submit.py --profile 20             # and the cProfile (CPU clock) lines to read

`service`: the service function with its own session per submit (as a request has). Baseline: one audit row
written through the same session and transaction machinery. `--api`: POST /api/applications through the app
in-process (Starlette's TestClient), baseline GET /healthz through the same app. The industry and conditions are
bench/load.py's (CONVENIENCE_STORE, two departments). Figures, no assertions; on PostgreSQL it works in a schema
of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

INDUSTRY = "CONVENIENCE_STORE"
CONDITIONS = {"sells_ready_to_eat_food": True, "sells_tobacco": True}  # as bench/load.py: SCJG and SWW


def _use_database(database_url: str | None) -> Callable[[], None]:
    """Point the settings at a fresh SQLite folder or a fresh PostgreSQL schema; returns the clean-up."""
    os.environ["ONELICENSE_DATA_DIR"] = tempfile.mkdtemp(prefix="onelicense-submit-")
    if not database_url:
        os.environ.pop("ONELICENSE_DATABASE_URL", None)
        return lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_submit_{os.getpid()}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    os.environ["ONELICENSE_DATABASE_URL"] = url.render_as_string(hide_password=False)

    def drop() -> None:
        from onelicense.store.db import dispose_engine

        dispose_engine()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    return drop


def _applicants(count: int) -> list[tuple[str, dict[str, Any]]]:
    """(token, request body) per submit: one applicant account and holder each, made through the services."""
    from onelicense.demo.sample import sample_application
    from onelicense.services import users
    from onelicense.store.db import migrate, session_scope

    migrate()
    made = []
    with session_scope() as session:
        for n in range(count):
            sample = sample_application(INDUSTRY, serial=700_000 + n, conditions=CONDITIONS)
            token = users.create_user(session, f"申请人{n}", "applicant", usccs=[sample.answers["uscc"]])[1]
            body = {
                "industry_code": INDUSTRY,
                "answers": sample.answers,
                "materials": sample.materials,
                "commitment_accepted": True,
                "idempotency_key": f"bench-submit-{n}",
            }
            made.append((token, body))
    return made


def _service_calls(made: list[tuple[str, dict[str, Any]]]) -> tuple[list[Callable[[], None]], Callable[[], None]]:
    from onelicense.review.roles import SYSTEM_ACTOR
    from onelicense.services import applications, users
    from onelicense.store import audit
    from onelicense.store.db import session_scope, transaction

    def submit(token: str, body: dict[str, Any]) -> Callable[[], None]:
        def call() -> None:
            with session_scope() as session:
                actor = users.authenticate(session, token)
                assert actor is not None
                applications.submit(session, actor, **body)

        return call

    def baseline() -> None:
        with session_scope() as session, transaction(session):
            audit.record(session, SYSTEM_ACTOR, "bench.baseline", "bench", "baseline", None, {"n": 1})

    return [submit(token, body) for token, body in made], baseline


def _api_calls(made: list[tuple[str, dict[str, Any]]]) -> tuple[list[Callable[[], None]], Callable[[], None]]:
    from fastapi.testclient import TestClient

    from onelicense.web.app import create_app

    client = TestClient(create_app())
    client.__enter__()  # the lifespan's warm-up, before anything is measured

    def submit(token: str, body: dict[str, Any]) -> Callable[[], None]:
        def call() -> None:
            response = client.post("/api/applications", json=body, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 201, response.text

        return call

    def baseline() -> None:
        assert client.get("/healthz").status_code == 200

    return [submit(token, body) for token, body in made], baseline


def _measure(calls: list[Callable[[], None]]) -> tuple[list[float], float]:
    """CPU ms of each call, and the wall seconds of all."""
    cpu = []
    started = time.perf_counter()
    for call in calls:
        before = time.process_time()
        call()
        cpu.append((time.process_time() - before) * 1000)
    return cpu, time.perf_counter() - started


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--submits", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--api", action="store_true", help="through the ASGI app (route, token, JSON)")
    parser.add_argument("--profile", type=int, default=0, metavar="LINES", help="also profile (CPU clock) the run")
    parser.add_argument("--profile-out", type=Path, default=None, help="and save the profile (pstats) there")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    clean_up = _use_database(args.database_url)
    try:
        warm = 10  # first calls load the catalog, templates, statements: not what a busy morning pays
        made = _applicants(args.submits + warm)
        calls, baseline = (_api_calls if args.api else _service_calls)(made)
        for call in calls[:warm]:
            call()
        for _ in range(warm):
            baseline()
        base_cpu, base_wall = _measure([baseline] * args.submits)
        profiler = cProfile.Profile(time.process_time) if args.profile or args.profile_out else None
        if profiler is not None:
            profiler.enable()
        cpu, wall = _measure(calls[warm:])
        if profiler is not None:
            profiler.disable()
    finally:
        clean_up()

    backend = "PostgreSQL" if args.database_url else "SQLite"
    path = "POST /api/applications (in-process ASGI)" if args.api else "services.applications.submit"
    baseline_name = "GET /healthz" if args.api else "one audit row in one transaction"
    print(f"{args.submits} submits, {backend}, {path}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(
        f"  submit    CPU p50 {statistics.median(cpu):6.2f} ms  p95 {_p95(cpu):6.2f} ms  mean {statistics.fmean(cpu):6.2f} ms"
        f"  wall {wall / args.submits * 1000:6.2f} ms each"
    )
    print(
        f"  baseline  CPU p50 {statistics.median(base_cpu):6.2f} ms  p95 {_p95(base_cpu):6.2f} ms"
        f"  mean {statistics.fmean(base_cpu):6.2f} ms  wall {base_wall / args.submits * 1000:6.2f} ms each"
        f"  ({baseline_name})"
    )
    print(f"  submit ÷ baseline (CPU p50): {statistics.median(cpu) / statistics.median(base_cpu):.1f}")
    if profiler is not None and args.profile_out is not None:
        profiler.dump_stats(args.profile_out)
    if profiler is not None and args.profile:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
