"""Benchmark: N applications end to end (submit → nine department reviews → aggregation → license) on the
embedded default, through the Prefect flows, and the same work driven by plain asyncio in the same run.

    .venv/bin/python bench/bench_flows.py --n 40 --concurrency 4

Reviewers are instant (the store's decide() called as soon as the reviews are open). Prints applications/min,
p50/p95 latency for both, and the overhead ratio Prefect / asyncio. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _configure(data_dir: Path) -> None:
    os.environ["ONELICENSE_DATA_DIR"] = str(data_dir)
    os.environ.pop("ONELICENSE_DATABASE_URL", None)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_HOME", str(data_dir / "prefect"))


def _decide_all(application_id: str) -> None:
    from review.roles import Actor, Role
    from review.transitions import Decision
    from services import applications, reviews
    from store.db import session_scope

    admin = Actor("bench-admin", Role.ADMIN)
    with session_scope() as session:
        for review in applications.list_progress(session, admin, application_id).reviews:
            actor = Actor(f"bench-{review.department_code}", Role.REVIEWER, review.department_code)
            reviews.decide(session, actor, review.id, Decision.APPROVE, "同意")


def prefect_path(serial: int) -> float:
    """One application through the real flows; returns its end-to-end latency in seconds."""
    from flows.application import submit_application

    from demo.sample import sample_application
    from flows.aggregation import aggregate_application

    sample = sample_application(serial=serial)
    start = time.perf_counter()
    result = submit_application(sample.industry_code, sample.answers, sample.materials, "bench-applicant")
    _decide_all(result["application_id"])
    outcome = aggregate_application(result["application_id"])
    assert outcome["status"] == "issued", outcome
    return time.perf_counter() - start


async def asyncio_path(serial: int) -> float:
    """The same work without Prefect: the tasks' plain functions (`.fn`) orchestrated by asyncio."""
    from flows.application import check_submission, department_review, store_application

    from demo.sample import sample_application
    from flows.aggregation import compose_opinion, issue, record_outcome

    sample = sample_application(serial=serial)
    start = time.perf_counter()
    checked = check_submission.fn(sample.industry_code, sample.answers, sample.materials, True)
    stored = store_application.fn(checked, sample.industry_code, "bench-applicant", None)
    app_id = stored["application_id"]
    await asyncio.gather(*(asyncio.to_thread(department_review.fn, app_id, code) for code in checked["departments"]))
    await asyncio.to_thread(_decide_all, app_id)
    composed = await asyncio.to_thread(compose_opinion.fn, app_id)
    status = await asyncio.to_thread(record_outcome.fn, app_id, composed)
    assert status == "approved", status
    await asyncio.to_thread(issue.fn, app_id)
    return time.perf_counter() - start


def run_prefect(n: int, concurrency: int, offset: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(prefect_path, range(offset, offset + n)))
    return time.perf_counter() - start, latencies


def run_asyncio(n: int, concurrency: int, offset: int) -> tuple[float, list[float]]:
    async def main() -> list[float]:
        limit = asyncio.Semaphore(concurrency)

        async def one(serial: int) -> float:
            async with limit:
                return await asyncio_path(serial)

        return await asyncio.gather(*(one(i) for i in range(offset, offset + n)))

    start = time.perf_counter()
    latencies = asyncio.run(main())
    return time.perf_counter() - start, latencies


def _figures(name: str, n: int, wall: float, latencies: list[float]) -> dict[str, float]:
    q = statistics.quantiles(latencies, n=20)
    row = {"per_min": n / wall * 60, "p50": statistics.median(latencies), "p95": q[18], "wall": wall}
    print(f"{name:<10} {n:>4} apps  {wall:7.1f} s  {row['per_min']:7.1f} apps/min  "
          f"p50 {row['p50'] * 1000:7.0f} ms  p95 {row['p95'] * 1000:7.0f} ms")  # fmt: skip
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=40, help="applications per path")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    _configure(Path(tempfile.mkdtemp(prefix="onelicense-bench-")))

    from store.db import migrate

    migrate()
    print(f"warming up ({args.warmup} per path: Prefect's local server, WeasyPrint fonts, catalog)…")
    run_prefect(args.warmup, 1, 10_000)
    run_asyncio(args.warmup, 1, 20_000)
    print(f"{os.cpu_count()} CPUs; each application: 9 departments, 19 permits, aggregation and a PDF license")
    base = _figures("asyncio", args.n, *run_asyncio(args.n, args.concurrency, 0))
    flow = _figures("prefect", args.n, *run_prefect(args.n, args.concurrency, 50_000))
    print(f"overhead ratio prefect/asyncio (wall time): {flow['wall'] / base['wall']:.2f}x  (goal ≤ 3x)")
    print(f"p50 latency ratio: {flow['p50'] / base['p50']:.2f}x")
    print(f"throughput on the embedded default: {flow['per_min']:.0f} applications/min (goal ≥ 300)")


if __name__ == "__main__":
    main()
