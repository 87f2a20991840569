"""Instant approval (秒批) against a real `onelicense serve` on 127.0.0.1: how long from submission to a verifiable
license when no human takes part, measured through the API as an applicant sees it (poll the application until it
names its license, then open the public /v/ page), with the submit call alone as the baseline of the same run.

    .venv/bin/python bench/instant.py                 # 20 small beauty shops, one after another
    .venv/bin/python bench/instant.py --count 50 --concurrent 5

Each shop's 公共场所卫生许可 meets the catalog's auto_approve rules, so the fan-out decides it as the system and the
aggregation issues the license; the dispatcher's polling interval (ONELICENSE_DISPATCH_INTERVAL_SECONDS, default
0.5 s) is part of what is measured. Figures, not timed assertions; exit 1 if any shop was not licensed."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_process import running_serve

SMALL_SHOP = {
    "public_venue_category": "美容店",
    "floor_area": 80,
    "employee_count": 6,
    "air_conditioning_type": "分体式空调",
}


def _prepare(count: int) -> list[dict]:
    from onelicense.demo.sample import sample_application
    from onelicense.services import users
    from onelicense.store.db import migrate, session_scope

    migrate()
    shops = []
    with session_scope() as session:
        for n in range(count):
            sample = sample_application("BEAUTY_SALON", serial=700_000 + n, conditions={})
            token = users.create_user(session, f"美容店{n}", "applicant", usccs=[sample.answers["uscc"]])[1]
            answers = {**sample.answers, **SMALL_SHOP}
            body = {"industry_code": "BEAUTY_SALON", "answers": answers, "materials": sample.materials,
                    "commitment_accepted": True}  # fmt: skip
            shops.append({"token": token, "body": body})
    return shops


async def one(base: str, shop: dict, timeout: float) -> tuple[float, float] | None:
    headers = {"Authorization": f"Bearer {shop['token']}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        started = time.perf_counter()
        answer = await client.post("/api/applications", json=shop["body"])
        submitted = time.perf_counter() - started
        if answer.status_code != 201:
            print(f"submit answered {answer.status_code}: {answer.text[:200]}")
            return None
        application_id = answer.json()["application_id"]
        while time.perf_counter() - started < timeout:
            detail = (await client.get(f"/api/applications/{application_id}")).json()
            if detail.get("verify_url"):
                page = await client.get(httpx.URL(detail["verify_url"]).raw_path.decode())
                if page.status_code == 200 and "有效" in page.text:
                    return submitted, time.perf_counter() - started
            await asyncio.sleep(0.05)
    return None


async def run(base: str, shops: list[dict], concurrent: int, timeout: float) -> list[tuple[float, float] | None]:
    gate = asyncio.Semaphore(concurrent)

    async def bounded(shop: dict) -> tuple[float, float] | None:
        async with gate:
            return await one(base, shop, timeout)

    return list(await asyncio.gather(*(bounded(s) for s in shops)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60, help="seconds one shop may take before it counts as lost")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["ONELICENSE_DATA_DIR"] = folder
        os.environ.pop("ONELICENSE_DATABASE_URL", None)
        shops = _prepare(args.count)
        with running_serve(Path(folder)) as base:
            results = asyncio.run(run(base, shops, args.concurrent, args.timeout))
    done = [r for r in results if r is not None]
    if not done:
        raise SystemExit("no shop was licensed")
    submit = [r[0] * 1000 for r in done]
    licensed = [r[1] * 1000 for r in done]
    p50_submit, p50_licensed = statistics.median(submit), statistics.median(licensed)
    print(f"bench/instant.py: {len(done)}/{len(results)} small beauty shops licensed with no human "
          f"({args.concurrent} at a time, SQLite, 1 API process)")  # fmt: skip
    print(f"  submit call alone (baseline)      p50 {p50_submit:7.0f} ms  max {max(submit):7.0f} ms")
    print(f"  submission → verifiable license   p50 {p50_licensed:7.0f} ms  max {max(licensed):7.0f} ms")
    print(f"  ratio p50 license / submit: {p50_licensed / p50_submit:.1f}×")
    if len(done) != len(results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
