"""Load: a district's first busy morning against a real `onelicense serve` on 127.0.0.1 — C concurrent clients,
each an applicant doing the whole journey through the API, with department reviewers working their queues.

    .venv/bin/python bench/load.py --clients 50                     # SQLite (the embedded default)
    .venv/bin/python bench/load.py --clients 5 --journeys 20        # 5 applicants, 20 applications each in turn
    .venv/bin/python bench/load.py --clients 200 --database-url postgresql+psycopg://postgres@127.0.0.1/test

Journey: submit → (the fan-out prepares the reviews) → the reviewers of both departments claim and decide → the
applicant follows its application until 已发证 → downloads the license PDF → opens the public /v/ page.
Prints throughput, p50/p95 per call and the answers by status; then checks that what every response said matches
what was stored (every 201 is an application issued with exactly one license; nothing stored without a 201).
Also counts the requests that got no answer at all (transport errors: connect, closed, timeout), each retried so
the journey goes on. Figures and consistency checks, not timed assertions. Exit status 1 when a 5xx, a transport
error or an inconsistency was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import ssl
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serve_process import running_serve

INDUSTRY = "CONVENIENCE_STORE"
CONDITIONS = {"sells_ready_to_eat_food": True, "sells_tobacco": True}  # two departments: SCJG and SWW
DEPARTMENTS = ("SCJG", "SWW")
OPERATOR = "operator"  # an admin's token: what an operator's monitoring sees during the run
# the /metrics families an operator watches under load (docs/operations.md, "Alerts that matter")
# one TLS context for every client: httpx builds one per client otherwise (~25 ms of CPU loading the CA bundle, even
# for http://), and 50 applicants starting at once spent a second of the load generator's loop on them before the
# answers to their first requests could be read: latency of the bench, not of the server
TLS = ssl.create_default_context()
# each call's line in the server's request log (web.requestlog): the time spent inside the app, without the wait
# to be accepted and read, nor the client's own event loop
ROUTES = {
    "submit": "POST /api/applications",
    "progress": "GET /api/applications/{application_id}",
    "license.pdf": "GET /api/applications/{application_id}/license.pdf",
    "verify": "GET /v/{token}",
    "queue": "GET /api/queue",
    "claim": "POST /api/queue/{review_id}/claim",
    "decide": "POST /api/queue/{review_id}/decide",
}
WATCHED = ("onelicense_outbox_due", "onelicense_outbox_oldest_due_seconds", "onelicense_outbox_dead",
           "onelicense_reviews_open", "onelicense_applications", "onelicense_licenses")  # fmt: skip


def transport_kind(exc: httpx.TransportError) -> str:
    """connect (refused, or the listen queue full), closed (the connection closed or reset under a request: the
    keep-alive race, a killed worker), timeout (no answer within the client's 120 s), other."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return "connect"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return "closed"
    return "other"


class Calls:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: Counter[tuple[str, int]] = Counter()
        self.transport: Counter[tuple[str, str]] = Counter()  # (call, kind): requests that got no answer at all

    async def __call__(
        self, name: str, client: httpx.AsyncClient, method: str, url: str, **kwargs: object
    ) -> httpx.Response:
        started = time.perf_counter()
        while True:
            try:
                response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError as exc:
                # counted, and the run fails for it; the journey goes on (the submit carries its idempotency key,
                # a repeated claim or decision is a clean 409) so the consistency check still means something
                self.transport[(name, transport_kind(exc))] += 1
                print(f"transport error on {name} {method} {url}: {type(exc).__name__}: {exc}", file=sys.stderr)
                await asyncio.sleep(0.5)
                continue
            self.status[(name, response.status_code)] += 1
            if response.status_code != 503:
                break
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))  # a clean 503: wait, try again
        self.latency[name].append(time.perf_counter() - started)
        return response


def _prepare(clients: int, data: Path) -> tuple[list[dict], dict[str, list[str]]]:
    """Users and the applicants' valid applications, made through the services before the server starts."""
    from onelicense.demo.sample import sample_application
    from onelicense.services import users
    from onelicense.store.db import migrate, session_scope

    migrate()
    journeys, reviewers = [], {}
    with session_scope() as session:
        for n in range(clients):
            sample = sample_application(INDUSTRY, serial=500_000 + n, conditions=CONDITIONS)
            token = users.create_user(session, f"申请人{n}", "applicant", usccs=[sample.answers["uscc"]])[1]
            body = {"industry_code": INDUSTRY, "answers": sample.answers, "materials": sample.materials}
            journeys.append(
                {"token": token, "body": {**body, "commitment_accepted": True, "idempotency_key": f"load-{n}"}}
            )
        for department in DEPARTMENTS:
            reviewers[department] = [
                users.create_user(session, f"审批员{department}{k}", "reviewer", department)[1] for k in range(3)
            ]
        reviewers[OPERATOR] = [users.create_user(session, "运维", "admin")[1]]
    return journeys, reviewers


async def applicant(base: str, journey: dict, calls: Calls, outcome: dict) -> None:
    headers = {"Authorization": f"Bearer {journey['token']}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, verify=TLS) as client:
        submitted = await calls("submit", client, "POST", "/api/applications", json=journey["body"])
        outcome["submit"] = submitted.status_code
        if submitted.status_code not in (200, 201):
            return
        application_id = submitted.json()["application_id"]
        outcome["application_id"] = application_id
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            detail = await calls("progress", client, "GET", f"/api/applications/{application_id}")
            if detail.status_code == 200 and detail.json()["status"] == "issued":
                break
            await asyncio.sleep(0.5)
        else:
            outcome["stuck"] = True
            return
        found = detail.json()
        outcome["license_number"] = found["license_number"]
        pdf = await calls("license.pdf", client, "GET", found["license_pdf"])
        outcome["pdf"] = pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        page = await calls(
            "verify",
            client,
            "GET",
            "/v/" + found["verify_url"].rsplit("/v/", 1)[1],
            headers={"Accept": "application/json"},
        )
        outcome["verified"] = page.status_code == 200 and page.json().get("number") == found["license_number"]


async def reviewer(base: str, token: str, calls: Calls, stop: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, verify=TLS) as client:
        while not stop.is_set():
            queue = await calls("queue", client, "GET", "/api/queue", params={"status": "pending", "page_size": 20})
            items = queue.json()["items"] if queue.status_code == 200 else []
            if not items:
                await asyncio.sleep(0.3)
                continue
            for item in items:
                claimed = await calls("claim", client, "POST", f"/api/queue/{item['review_id']}/claim")
                if claimed.status_code != 200:
                    continue  # a colleague was first: a clean 409
                await calls(
                    "decide",
                    client,
                    "POST",
                    f"/api/queue/{item['review_id']}/decide",
                    json={"decision": "approve", "opinion": "经审查，符合许可条件，同意。"},
                )


async def morning(
    base: str, journeys: list[dict], reviewers: dict[str, list[str]], calls: Calls, clients: int
) -> list[dict]:
    outcomes: list[dict] = [{} for _ in journeys]
    stop = asyncio.Event()
    operator = reviewers[OPERATOR][0]
    staff = [
        asyncio.create_task(reviewer(base, t, calls, stop))
        for department, tokens in reviewers.items()
        if department != OPERATOR
        for t in tokens
    ]
    watch = asyncio.create_task(monitor(base, operator, outcomes, stop))

    async def client(first: int) -> None:  # one applicant after another, `clients` at a time
        for n in range(first, len(journeys), clients):
            await applicant(base, journeys[n], calls, outcomes[n])

    await asyncio.gather(*(client(first) for first in range(clients)))
    stop.set()
    await asyncio.gather(*staff, watch)
    return outcomes


async def monitor(base: str, token: str, outcomes: list[dict], stop: asyncio.Event) -> None:
    """What an operator sees mid-run: /readyz and the watched /metrics lines, once half the applications are in."""
    async with httpx.AsyncClient(base_url=base, timeout=30, verify=TLS) as client:
        while not stop.is_set() and sum(1 for o in outcomes if "submit" in o) < len(outcomes) / 2:
            await asyncio.sleep(0.2)
        ready = await client.get("/readyz")
        checks = ", ".join(f"{c['name']} {c['status']}" for c in ready.json().get("checks", []))
        print(f"mid-run /readyz: {ready.status_code} ({checks})")
        metrics = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        print(f"mid-run /metrics: {metrics.status_code}, {len(metrics.text.splitlines())} lines; an excerpt:")
        for line in metrics.text.splitlines():
            if line.startswith(WATCHED) and not line.endswith(" 0.0"):
                print("    " + line)


def _check(outcomes: list[dict], calls: Calls) -> list[str]:
    """What the responses said against what is stored."""
    from sqlmodel import select

    from onelicense.store.db import session_scope
    from onelicense.store.tables import Application
    from onelicense.store.tables.license import License

    problems = []
    with session_scope() as session:
        stored = {a.id: a for a in session.exec(select(Application))}
        licenses = Counter(lic.application_id for lic in session.exec(select(License)))
    accepted = {o["application_id"] for o in outcomes if o.get("submit") in (200, 201)}
    if set(stored) != accepted:
        problems.append(f"stored {len(stored)} applications, responses accepted {len(accepted)}")
    for outcome in outcomes:
        if outcome.get("submit") not in (200, 201):
            problems.append(f"submit answered {outcome.get('submit')}")
        elif outcome.get("stuck"):
            problems.append(f"{outcome['application_id']} not issued in time")
        elif licenses[outcome["application_id"]] != 1 or not outcome.get("pdf") or not outcome.get("verified"):
            problems.append(f"{outcome['application_id']}: {licenses[outcome['application_id']]} licenses, {outcome}")
    errors = sum(n for (_, status), n in calls.status.items() if status >= 500 and status != 503)
    if errors:
        problems.append(f"{errors} answers 5xx (other than 503)")
    if calls.transport:
        problems.append(f"{sum(calls.transport.values())} transport errors")
    return problems


def served_times(log: Path) -> dict[str, list[float]]:
    """Seconds inside the app per call (503s included), from the request lines of the server's log."""
    line = re.compile(r"\] (\S+ \S+) (\d{3}) ([\d.]+)ms$")
    calls = {route: name for name, route in ROUTES.items()}
    times: dict[str, list[float]] = defaultdict(list)
    for text in log.read_text(errors="replace").splitlines():
        if (found := line.search(text)) and found.group(1) in calls:
            times[calls[found.group(1)]].append(float(found.group(3)) / 1000)
    return times


def _p(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))] * 1000 if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent applicants")
    parser.add_argument("--journeys", type=int, default=1, help="applications per client, one after another")
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="onelicense-load-"))
    os.environ["ONELICENSE_DATA_DIR"] = str(data)
    if args.database_url:
        from sqlalchemy import create_engine, text

        schema = f"load_{os.getpid()}"
        with create_engine(args.database_url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        from sqlalchemy.engine import make_url

        url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        os.environ["ONELICENSE_DATABASE_URL"] = url.render_as_string(hide_password=False)
    else:
        os.environ.pop("ONELICENSE_DATABASE_URL", None)
    journeys, reviewers = _prepare(args.clients * args.journeys, data)
    with running_serve(data, api_workers=args.api_workers) as base:
        calls = Calls()
        load_before = os.getloadavg()
        started = time.perf_counter()
        outcomes = asyncio.run(morning(base, journeys, reviewers, calls, args.clients))
        wall = time.perf_counter() - started
        load_after = os.getloadavg()
    served = served_times(data / "serve.log")

    backend = "PostgreSQL" if args.database_url else "SQLite"
    done = sum(1 for o in outcomes if o.get("verified"))
    print(
        f"{args.clients} clients × {args.journeys} journeys, {backend}, {args.api_workers} API process(es), {os.cpu_count()} CPUs"
    )
    print(f"{done} journeys completed in {wall:.1f} s: {done / wall * 60:.0f} licenses/min")
    before, after = (" ".join(f"{n:.2f}" for n in load) for load in (load_before, load_after))
    print(f"load average (1, 5, 15 min) before: {before}, after: {after}")
    print("p50/p95: the client's, from sending to the last answer (503s waited out included); served: inside the app")
    print("| call | n | p50 ms | p95 ms | served p50 / p95 ms | answers |")
    print("|---|---|---|---|---|---|")
    for name, values in calls.latency.items():
        answers = ", ".join(f"{status}×{n}" for (call, status), n in sorted(calls.status.items()) if call == name)
        inside = f"{_p(served[name], 0.5):.0f} / {_p(served[name], 0.95):.0f}"
        print(f"| {name} | {len(values)} | {_p(values, 0.5):.0f} | {_p(values, 0.95):.0f} | {inside} | {answers} |")
    kinds = Counter[str]()
    for (_, kind), n in calls.transport.items():
        kinds[kind] += n
    print(
        "transport errors: "
        + ", ".join(f"{kind} {kinds[kind]}" for kind in ("connect", "closed", "timeout", "other"))
        + "".join(f"; {call} {kind}×{n}" for (call, kind), n in sorted(calls.transport.items()))
    )
    problems = _check(outcomes, calls)
    print("consistency: " + ("every response matches what was stored" if not problems else "; ".join(problems[:10])))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
