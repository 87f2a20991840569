"""The daily sweep over many obligations on PostgreSQL (goal: 1,000,000 obligations in ≤ 60 s), with ratios measured
in the same run against two baselines: one full scan of the obligations table (reading every row once) and the
same sweep over a table 10× smaller.

    .venv/bin/python bench/sweep.py                      # 1,000,000 obligations, a few minutes to load
    .venv/bin/python bench/sweep.py --obligations 200000

The table is loaded set-based (generate_series) in steady state: due dates spread over ±200 days around the sweep
day; those due before yesterday were swept on earlier days (overdue, fulfilled, in rectification); a share is in
rectification with deadlines around today; permits expire across the year. Then `services.obligations.sweep` runs
for the day (reminders 5 / 1 / 0 working days ahead, overdue, lapsed rectifications, renewal reminders), once more
(idempotent: it must find nothing new), and once on a backlog (every past-due obligation still open: the first
sweep after an outage of months).

PostgreSQL: --postgres-url or ONELICENSE_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
the benchmark works in a schema of its own and drops it at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from onelicense.services import obligations  # noqa: E402
from onelicense.settings import get_settings  # noqa: E402
from onelicense.store.db import dispose_engine, migrate, session_scope  # noqa: E402

DAY = date(2026, 12, 1)  # a Tuesday
LICENSES = 2000


@contextmanager
def schema(admin_url: str) -> Iterator[str]:
    name = f"bench_sweep_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(False)
    try:
        yield url
    finally:
        dispose_engine(url)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


def load(url: str, count: int, *, backlog: bool = False) -> float:
    """Licenses, permits and `count` obligations, set-based; returns the seconds it took."""
    started = time.perf_counter()
    engine = create_engine(url, poolclass=NullPool)
    day = DAY.isoformat()
    with engine.begin() as c:
        c.execute(text("TRUNCATE notifications, credit_records, obligations, license_permits, licenses, applications "
                       "CASCADE"))  # fmt: skip
        c.execute(
            text("""
            INSERT INTO applications (id, reference, industry_code, holder_name, uscc, answers, materials, permit_codes,
                                      status, version, submitted_by, created_at, updated_at)
            SELECT md5('a' || i), 'SQ' || i, 'CONVENIENCE_STORE', '测试商户' || i, 'USCC' || i, '{}', '{}', '[]',
                   'issued', 1, 'holder' || i, now(), now()
            FROM generate_series(1, :n) AS i"""),
            {"n": LICENSES},
        )
        c.execute(
            text("""
            INSERT INTO licenses (id, number, application_id, holder_name, uscc, legal_representative, business_address,
                                  industry_code, industry_name, authority_name, issued_at, status, key_id, token,
                                  version, updated_at)
            SELECT md5('l' || i), '5001072026' || lpad(i::text, 6, '0'), md5('a' || i), '测试商户' || i, 'USCC' || i,
                   '张三', '地址', 'CONVENIENCE_STORE', '便利店', '发证机关', now(), '01', 'k', '0', 1, now()
            FROM generate_series(1, :n) AS i"""),
            {"n": LICENSES},
        )
        c.execute(
            text("""
            INSERT INTO license_permits (id, license_id, position, permit_code, permit_name, department_code,
                                         department_name, number, issued_on, valid_until, mandatory, status, version,
                                         updated_at)
            SELECT md5('p' || l || '-' || k), md5('l' || l), k, 'P' || k, '许可' || k, 'CGJ', '城管局',
                   '5001072026' || lpad(l::text, 6, '0') || '-0' || k, CAST(:day AS date) - 400,
                   CAST(:day AS date) + ((l * 7 + k * 13) % 400) - 10, true, '01', 1, now()
            FROM generate_series(1, :n) AS l, generate_series(1, 3) AS k"""),
            {"n": LICENSES, "day": day},
        )
        # steady state: due over ±200 days; past-due ones already moved by earlier sweeps (unless backlog)
        c.execute(text("""
            INSERT INTO obligations (id, license_id, uscc, permit_code, permit_number, department_code, kind,
                                     commitment, materials, due_on, status, breached, rectify_due_on, version,
                                     created_at, updated_at, holder_user_id, application_id)
            SELECT md5('o' || i), md5('l' || (i % :licenses + 1)), 'USCC' || (i % :licenses + 1), 'OUTDOOR_SIGN',
                   'n' || i, 'CGJ', CASE WHEN i % 3 = 0 THEN 'inspection' ELSE 'supply' END, '要件后补', '[]',
                   d.due,
                   CASE WHEN i % 50 = 0 THEN 'rectifying'
                        WHEN d.due >= CAST(:day AS date) - 1 OR CAST(:backlog AS boolean) THEN 'open'
                        WHEN i % 5 = 0 THEN 'overdue' ELSE 'fulfilled' END,
                   false,
                   CASE WHEN i % 50 = 0 THEN CAST(:day AS date) + (i % 21) - 10 END,
                   1, now(), now(), 'holder' || (i % :licenses + 1), md5('a' || (i % :licenses + 1))
            FROM generate_series(1, :n) AS i,
                 LATERAL (SELECT CAST(:day AS date) + ((i::bigint * 7919) % 401)::int - 200 AS due) AS d"""),
            {"n": count, "licenses": LICENSES, "day": day, "backlog": backlog})  # fmt: skip
        for table in ("obligations", "license_permits", "licenses", "applications"):
            c.execute(text(f"ANALYZE {table}"))
    engine.dispose()
    return time.perf_counter() - started


def timed_sweep() -> tuple[float, obligations.SweepResult]:
    with session_scope() as session:
        started = time.perf_counter()
        result = obligations.sweep(session, DAY)
        return time.perf_counter() - started, result


def full_scan(url: str) -> float:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        started = time.perf_counter()
        c.execute(text("SELECT count(*), sum(length(id)) FROM obligations")).one()
        elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def describe(result: obligations.SweepResult) -> str:
    return (
        f"reminders {result.reminders:,}, overdue {result.overdue:,}, lapsed {result.lapsed:,}, "
        f"renewal reminders {result.renewal_reminders:,}, expired {result.expired:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obligations", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ONELICENSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, schema(args.postgres_url) as url:
        os.environ["ONELICENSE_DATA_DIR"] = folder
        os.environ["ONELICENSE_DATABASE_URL"] = url
        get_settings.cache_clear()
        migrate(url)
        rows: list[tuple[str, str]] = []
        small = max(1, args.obligations // 10)
        loaded = load(url, small)
        small_sweep, small_result = timed_sweep()
        rows.append((f"sweep, {small:,} obligations (baseline)", f"{small_sweep:.2f} s  ({describe(small_result)})"))
        loaded = load(url, args.obligations)
        scan = full_scan(url)
        first, result = timed_sweep()
        again, repeat = timed_sweep()
        rows.append((f"load {args.obligations:,} obligations (set-based)", f"{loaded:.1f} s"))
        rows.append(("full scan of the table (baseline)", f"{scan:.2f} s"))
        rows.append((f"daily sweep, {args.obligations:,} obligations", f"{first:.2f} s  ({describe(result)})"))
        rows.append(("same day again (idempotent)", f"{again:.2f} s  ({describe(repeat)})"))
        load(url, args.obligations, backlog=True)
        backlog, late = timed_sweep()
        rows.append(("backlog: every past-due obligation still open", f"{backlog:.2f} s  ({describe(late)})"))
        width = max(len(k) for k, _ in rows)
        print(f"bench/sweep.py on PostgreSQL, sweep day {DAY.isoformat()}")
        for key, value in rows:
            print(f"  {key:<{width}}  {value}")
        print(f"  ratio sweep / full scan: {first / scan:.1f}×; {args.obligations:,} vs {small:,} obligations: "
              f"{first / small_sweep:.2f}× the time for 10× the rows")  # fmt: skip
        goal = "met" if first <= 60 else "MISSED"
        print(f"  goal: daily sweep over {args.obligations:,} obligations ≤ 60 s: {goal}")
        if repeat.reminders or repeat.overdue or repeat.lapsed or repeat.renewal_reminders or repeat.expired:
            raise SystemExit("the second sweep of the same day found new work: not idempotent")


if __name__ == "__main__":
    main()
