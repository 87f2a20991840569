"""Portal pages: the reviewer's queue (/desk) over 10,000 open reviews, an applicant's HOTEL form and its live
scope-question partial, timed through a real `onelicense serve` on 127.0.0.1 with browsers signed in by cookie.

    .venv/bin/python bench/portal.py                                   # SQLite in a temporary folder
    .venv/bin/python bench/portal.py --clients 4 --requests 200
    .venv/bin/python bench/portal.py --database-url postgresql+psycopg://postgres@127.0.0.1/test

The queue is seeded straight through SQLModel (bulk inserts of Application + DepartmentReview rows with the
catalog's permits, opened over the last 30 days, colour days from services.catalog.review_date_columns). Each
page is requested `--requests` times by `--clients` concurrent browsers (each with its own session cookie);
/static/portal.css, measured in the same run, is the baseline the ratios divide by. Figures, not assertions:
exit status 1 only when a page answered 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serve_process import running_serve

DEPARTMENT = "SCJG"  # 市场监管: permits in most industries
PASSWORD = "Bench-Passw0rd-portal"
PHONE = "13800138999"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _seed(reviews: int) -> str:
    """The reviewer, the applicant with one HOTEL draft, `reviews` open reviews in DEPARTMENT; returns the draft id."""
    from onelicense.demo.sample import sample_application
    from onelicense.review.roles import Actor, Role
    from onelicense.review.transitions import ApplicationStatus, ReviewStatus
    from onelicense.services import accounts, drafts, users
    from onelicense.services.adapters import registry
    from onelicense.services.catalog import catalog, review_date_columns
    from onelicense.store.db import migrate, session_scope
    from onelicense.store.tables.application import Application, DepartmentReview
    from onelicense.store.tables.types import new_id

    migrate()
    rng = random.Random(7)
    uscc = sample_application("HOTEL", serial=900_000).answers["uscc"]
    with session_scope() as session:
        reviewer, _ = users.create_user(
            session,
            "审批员甲",
            Role.REVIEWER,
            DEPARTMENT,
            login="desk1",
            password_hash=accounts.hash_password(PASSWORD),
        )
        registry.import_entries(session, Actor("bench", Role.ADMIN), [
            {"uscc": uscc, "name": "重庆山城宾馆有限公司", "legal_representative": "王五", "legal_rep_phone": "13900000009"}
        ])  # fmt: skip
        code = accounts.send_registration_code(session, PHONE).shown_code  # no SMS gateway here: shown
        applicant = accounts.register_applicant(
            session, name="王小二", phone=PHONE, uscc=uscc, password=PASSWORD, code=str(code)
        )
        draft_id = drafts.new_draft(session, users.actor_of(applicant), "HOTEL").id
        reviewer_id, applicant_id = reviewer.id, applicant.id

    cat = catalog()
    kinds = []  # (industry, the permits always needed, the department's permits: always / if a condition holds)
    for industry in cat.industries.values():
        mine = [p for p in industry.permits if cat.permits[p.permit].department == DEPARTMENT]
        if mine:
            base = [p.permit for p in industry.permits if p.when is None]
            kinds.append((industry.code, base, [p.permit for p in mine if p.when is None], [p.permit for p in mine]))
    now = datetime.now(UTC)
    apps, rows = [], []
    for n in range(reviews):
        code, base, always, possible = rng.choice(kinds)
        permits = sorted(set(always) | {p for p in possible if rng.random() < 0.4}) or [possible[0]]
        opened = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
        roll = rng.random()
        status = (
            ReviewStatus.CLAIMED if roll < 0.1 else ReviewStatus.RESUBMITTED if roll < 0.15 else ReviewStatus.PENDING
        )
        app_id = new_id()
        apps.append(
            dict(
                id=app_id,
                reference=f"SQB{n:08d}",
                industry_code=code,
                holder_name=f"重庆测试商户{n}有限公司",
                uscc=uscc,
                answers={},
                materials={},
                permit_codes=sorted(set(base) | set(permits)),
                status=ApplicationStatus.IN_REVIEW,
                version=1,
                submitted_by=applicant_id,
                created_at=opened,
                updated_at=opened,
            )
        )
        rows.append(
            dict(
                id=new_id(),
                application_id=app_id,
                department_code=DEPARTMENT,
                permit_codes=permits,
                status=status,
                assignee=reviewer_id if status is ReviewStatus.CLAIMED else None,
                requested_items=[],
                key_fields={},
                round=2 if status is ReviewStatus.RESUBMITTED else 1,
                opened_at=opened,
                claimed_at=opened if status is ReviewStatus.CLAIMED else None,
                version=1,
                **review_date_columns(permits, opened),
            )
        )
    with session_scope() as session:
        connection = session.connection()
        for first in range(0, reviews, 2000):
            connection.execute(Application.__table__.insert(), apps[first : first + 2000])  # type: ignore[attr-defined]
            connection.execute(DepartmentReview.__table__.insert(), rows[first : first + 2000])  # type: ignore[attr-defined]
        session.commit()
    return draft_id


async def _browser(base: str, login: str | None) -> httpx.AsyncClient:
    """A client with its own cookie jar, signed in through the login page as a browser would be."""
    client = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False)
    if login is not None:
        page = await client.get("/login")
        token = CSRF.search(page.text)
        assert token, page.text[:300]
        answer = await client.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": token[1]})
        assert answer.status_code == 303 and "ol_session" in client.cookies, (answer.status_code, answer.text[:300])
    return client


async def _measure(clients: list[httpx.AsyncClient], urls: list[str], n: int) -> tuple[list[float], Counter[int]]:
    """`n` requests over the clients, each client one request at a time, cycling through `urls`."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    for client in clients:  # warm-up, not counted
        await client.get(urls[0])
    counter = iter(range(n))

    async def run(client: httpx.AsyncClient) -> None:
        for k in counter:
            started = time.perf_counter()
            response = await client.get(urls[k % len(urls)])
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] += 1

    await asyncio.gather(*(run(c) for c in clients))
    return latencies, statuses


async def _bench(base: str, draft_id: str, n_clients: int, n: int) -> list[tuple[str, list[float], Counter, float]]:
    reviewers = [await _browser(base, "desk1") for _ in range(n_clients)]
    applicants = [await _browser(base, PHONE) for _ in range(n_clients)]
    anonymous = [await _browser(base, None) for _ in range(n_clients)]
    yes = "&".join(f"{k}=true" for k in ("has_restaurant", "has_laundry", "has_pool", "has_elevator", "sells_tobacco"))
    no = "&".join(f"{k}=false" for k in ("has_restaurant", "has_laundry", "has_pool", "has_elevator", "sells_tobacco"))
    pages = [
        ("/static/portal.css (baseline)", anonymous, ["/static/portal.css"], 0.0),
        ("/login (anonymous)", anonymous, ["/login"], 0.0),
        ("/desk, 10k open reviews", reviewers, ["/desk"], 150.0),
        ("/desk?level=red", reviewers, ["/desk?level=red"], 150.0),
        ("/desk?sort=opened&page=40", reviewers, ["/desk?sort=opened&page=40"], 150.0),
        ("/portal/drafts/{id} (HOTEL)", applicants, [f"/portal/drafts/{draft_id}"], 100.0),
        (
            "/portal/drafts/{id}/scope (htmx)",
            applicants,
            [f"/portal/drafts/{draft_id}/scope?{q}" for q in (yes, no)],
            100.0,
        ),
    ]
    results = []
    try:
        for name, clients, urls, goal in pages:
            latencies, statuses = await _measure(clients, urls, n)
            results.append((name, latencies, statuses, goal))
    finally:
        for client in reviewers + applicants + anonymous:
            await client.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="concurrent browsers")
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--reviews", type=int, default=10_000, help="open reviews in the reviewer's department")
    parser.add_argument("--settle", type=float, default=20, help="seconds to wait after the server answers")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--api-workers", type=int, default=1, help="API processes of the server (serve --api-workers)")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="onelicense-portal-"))
    os.environ["ONELICENSE_DATA_DIR"] = str(data)
    schema = f"portal_{os.getpid()}"
    if args.database_url:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        with create_engine(args.database_url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        os.environ["ONELICENSE_DATABASE_URL"] = url.render_as_string(hide_password=False)
    else:
        os.environ.pop("ONELICENSE_DATABASE_URL", None)
    started = time.perf_counter()
    draft_id = _seed(args.reviews)
    seeded = time.perf_counter() - started
    if args.database_url:  # statistics for the bulk-loaded rows, as autovacuum would gather within its minute
        with create_engine(os.environ["ONELICENSE_DATABASE_URL"], isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text("ANALYZE"))

    try:
        with running_serve(data, api_workers=args.api_workers) as base:
            time.sleep(args.settle)  # `serve` also starts Prefect's server and the dispatcher: let them settle
            results = asyncio.run(_bench(base, draft_id, args.clients, args.requests))
    finally:
        if args.database_url:
            with create_engine(args.database_url, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{backend}, {args.reviews:,} open reviews seeded in {seeded:.1f} s; {args.api_workers} uvicorn worker(s), {os.cpu_count()} CPUs")
    print(f"{args.clients} concurrent browsers, {args.requests} requests per page")
    print("| page | n | p50 ms | p95 ms | max ms | goal p95 | met? | p50 ÷ baseline |")
    print("|---|---|---|---|---|---|---|---|")
    baseline = statistics.median(results[0][1])
    non_2xx: Counter[int] = Counter()
    for name, latencies, statuses, goal in results:
        ordered = sorted(latencies)
        p50, p95 = statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]
        met = ("yes" if p95 * 1000 <= goal else "**no**") if goal else "–"
        goal_text = f"≤ {goal:.0f} ms" if goal else "–"
        print(
            f"| {name} | {len(ordered)} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {ordered[-1] * 1000:.1f} "
            f"| {goal_text} | {met} | {p50 / baseline:.1f}× |"
        )
        non_2xx.update({s: k for s, k in statuses.items() if not 200 <= s < 300})
    print("non-2xx answers: " + (", ".join(f"{s}×{k}" for s, k in sorted(non_2xx.items())) or "0"))
    sys.exit(1 if any(s >= 500 for s in non_2xx) else 0)


if __name__ == "__main__":
    main()
