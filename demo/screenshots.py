"""Screenshots of the portal's key pages at 360 px (a phone) and 1280 px (a desk) for docs/portal.md.

A fresh data folder and SQLite database, sample data made through the services (a draft, an application in
review, an issued license), `onelicense serve` on 127.0.0.1 and Debian's Chromium (Playwright, a test extra):
    .venv/bin/python -m onelicense.demo.screenshots [--out docs/screens]
Nothing is fetched from outside; the pages are the ones a person opens, signed in as they would be."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WIDTHS = ((360, 740), (1280, 900))  # a phone, a desk
PASSWORD = "Screenshots-Passw0rd"
CHROMIUM = "/usr/bin/chromium"
DEFAULT_OUT = Path("docs/screens")


@dataclass(frozen=True)
class Shot:
    name: str  # the file is <name>-<width>.png
    title: str  # its caption in docs/portal.md
    login: str | None  # who is signed in ("" for the public)
    path: str


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="门户关键页面截图（360 px 与 1280 px）")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="保存截图的文件夹")
    args = parser.parse_args(argv)
    for path in take(args.out):
        print(path)


def take(out: Path) -> list[Path]:
    """Every page of `shots` at each width into `out`; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="onelicense-screens-") as folder, _server(Path(folder)) as base_url:
        shots = _seed(base_url)
        return _photograph(base_url, shots, out)


@contextmanager
def _server(folder: Path) -> Iterator[str]:
    """`onelicense serve --api-only` on a free 127.0.0.1 port, on a database and data folder of its own; this
    process's settings point at the same ones (the data is made here, through the services)."""
    import httpx

    from onelicense.settings import get_settings
    from onelicense.store.db import dispose_engine, migrate

    port = _free_port()
    url = f"sqlite:///{folder / 'screens.db'}"
    settings = {
        "ONELICENSE_DATABASE_URL": url,
        "ONELICENSE_DATA_DIR": str(folder / "data"),
        "ONELICENSE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "ONELICENSE_PREFECT_PORT": str(_free_port()),
    }
    os.environ.update(settings)
    get_settings.cache_clear()
    migrate(url)
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "onelicense", "serve", "--api-only", "--port", str(port)]
    with (folder / "serve.log").open("w") as log:
        server = subprocess.Popen(command, env={**os.environ, **settings}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start: " + (folder / "serve.log").read_text()[-2000:])
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        dispose_engine(url)
        get_settings.cache_clear()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed(base_url: str) -> list[Shot]:
    """The data the pages show, made through the services: accounts with passwords, a draft, an application in
    review, an issued license."""
    from onelicense.demo.registry import seed_demo_registry
    from onelicense.demo.sample import sample_application
    from onelicense.licenses.qr import verify_url
    from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role
    from onelicense.services import aggregation, applications, drafts, licenses, reviews
    from onelicense.services.accounts import hash_password
    from onelicense.services.users import create_user
    from onelicense.store.db import session_scope

    seed_demo_registry()
    issued_sample = sample_application("HOTEL")
    waiting_sample = sample_application("HOTEL", serial=7)
    password = hash_password(PASSWORD)
    with session_scope() as session:
        user, _ = create_user(
            session,
            "演示经营者",
            Role.APPLICANT,
            usccs=[issued_sample.answers["uscc"], waiting_sample.answers["uscc"]],
            login="applicant",
            password_hash=password,
        )
        applicant = Actor(user.id, Role.APPLICANT, usccs=frozenset({issued_sample.answers["uscc"]}))
        reviewers = {}
        for department in issued_sample.form.departments:
            reviewer, _ = create_user(
                session, f"{department.name}审查员", Role.REVIEWER, department.code, login=f"r-{department.code}",
                password_hash=password,
            )  # fmt: skip
            reviewers[department.code] = Actor(reviewer.id, Role.REVIEWER, department.code)
        create_user(session, "督办员", Role.SUPERVISOR, login="supervisor", password_hash=password)
        draft = drafts.new_draft(session, applicant, "CONVENIENCE_STORE")
        issued = applications.submit(
            session, applicant, industry_code="HOTEL", answers=issued_sample.answers, materials=issued_sample.materials
        ).application.id
        waiting_actor = Actor(user.id, Role.APPLICANT, usccs=frozenset({waiting_sample.answers["uscc"]}))
        waiting = applications.submit(
            session,
            waiting_actor,
            industry_code="HOTEL",
            answers=waiting_sample.answers,
            materials=waiting_sample.materials,
        ).application.id
        for review in applications.list_progress(session, applicant, issued).reviews:
            reviews.decide(session, reviewers[review.department_code], review.id, "approve", "符合许可条件，同意。")
        aggregation.aggregate(session, issued)
        token = licenses.issue_license(session, SYSTEM_ACTOR, issued).token
        some_department = next(iter(reviewers))
    return [
        Shot("login", "登录", None, "/login"),
        Shot("applicant-home", "申请人首页", "applicant", "/portal"),
        Shot("form", "一表申请（操作栏固定在屏幕底部）", "applicant", f"/portal/drafts/{draft.id}"),
        Shot("progress-review", "办理进度：并联审查中", "applicant", f"/portal/applications/{waiting}"),
        Shot("progress-issued", "办理进度：已发证", "applicant", f"/portal/applications/{issued}"),
        Shot("verify", "扫码核验（公众）", "", verify_url(base_url, token).removeprefix(base_url)),
        Shot("publicity", "证照公示（公众）", "", "/publicity"),
        Shot("desk", "部门审查工作台", f"r-{some_department}", "/desk"),
        Shot("board", "督办看板", "supervisor", "/board"),
    ]


def _photograph(base_url: str, shots: list[Shot], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for width, height in WIDTHS:
                contexts: dict[str | None, Any] = {}
                for shot in shots:
                    if shot.login not in contexts:
                        contexts[shot.login] = _signed_in(browser, base_url, shot.login, width, height)
                    page = contexts[shot.login]
                    page.goto(shot.path)
                    target = out / f"{shot.name}-{width}.png"
                    page.screenshot(path=str(target))
                    written.append(target)
        finally:
            browser.close()
    return written


def _signed_in(browser: Any, base_url: str, login: str | None, width: int, height: int) -> Any:
    page = browser.new_context(viewport={"width": width, "height": height}, base_url=base_url).new_page()
    if login:
        page.goto("/login")
        page.fill("#login", login)
        page.fill("#password", PASSWORD)
        page.click("button:has-text('登录')")
        page.wait_for_load_state()
    return page


if __name__ == "__main__":
    main()
