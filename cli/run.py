"""Top-level commands: `demo` (the main job), `serve` (API + worker on one machine), `worker`."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # the demo and the services are imported where the commands run
    from onelicense.demo.run import DemoResult
    from onelicense.services.applications import ApplicationProgress

console = Console()


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("serve")(serve)
    app.command("worker")(worker)


def _progress_table(progress: ApplicationProgress) -> Table:
    from onelicense.services.catalog import catalog

    departments = catalog().departments
    app = progress.application
    table = Table(title=f"申请 {app.reference}（{app.status.label}）  各部门并联审批进度")
    for header in ("部门", "状态", "轮次", "审批人", "意见"):
        table.add_column(header)
    for r in progress.reviews:
        colour = {"approved": "green", "rejected": "red", "supplement_requested": "yellow"}.get(r.status.value, "")
        status = f"[{colour}]{r.status.label}[/{colour}]" if colour else r.status.label
        name = escape(departments[r.department_code].name)
        table.add_row(name, status, str(r.round), escape(r.assignee or "—"), escape(r.opinion or ""))
    return table


def demo(
    min_delay: Annotated[float, typer.Option(help="模拟审批员最短等待（秒）")] = 0.3,
    max_delay: Annotated[float, typer.Option(help="模拟审批员最长等待（秒）")] = 2.0,
    supplement: Annotated[list[str] | None, typer.Option(help="要求补正一次的部门编码，可多次给出")] = None,
    reject: Annotated[list[str] | None, typer.Option(help="不予许可的部门编码，可多次给出")] = None,
    industry: Annotated[str | None, typer.Option(help="行业编码（默认：涉及部门最多的行业）")] = None,
    seed: Annotated[int | None, typer.Option(help="随机种子")] = None,
) -> None:
    """演示：提交一份涉及部门最多（内置目录中为九个部门）的申请，模拟审批员办理，输出综合审批意见、时间线和许可证。"""
    console.print("[bold]一业一证 演示[/bold]：提交合并申请 → 预审 → 各部门并联审查 → 综合审批意见 → 综合许可证")
    with _own_prefect() as prefect_url:
        console.print(f"Prefect 服务器：{prefect_url}")
        from onelicense.demo.run import ReviewerPlan, run_demo

        plan = ReviewerPlan(min_delay, max_delay, tuple(supplement or ()), tuple(reject or ()), seed)
        with Live(console=console, refresh_per_second=5, transient=False) as live:
            result = run_demo(plan, industry_code=industry, on_progress=lambda p: live.update(_progress_table(p)))
    opinion = result.opinion or {}
    console.print(f"\n[bold]综合审批意见[/bold]（{result.status.label}）：{escape(str(opinion.get('summary', '—')))}")
    if result.amended:
        console.print(f"申请人已补正：{escape('、'.join(result.amended))}（仅要求补正的部门重新审查）")
    _print_timeline(result)
    if result.license_number:
        console.print(f"\n[bold green]行业综合许可证[/bold green] {result.license_number}")
        console.print(f"  PDF：{result.pdf_path}")
        console.print(f"  扫码核验：{result.verify_url}")
        console.print("  离线核验：onelicense verify <PDF 或网址>；在线核验：onelicense serve 后打开上面的网址")
    console.print(f"用时 {result.elapsed:.1f} 秒")
    if result.status.value not in ("issued", "rejected"):
        raise typer.Exit(1)


def _print_timeline(result: DemoResult) -> None:
    from onelicense.services.catalog import catalog

    departments = catalog().departments
    table = Table(title="时间线（Prefect 任务运行 与 部门审查）")
    for header in ("部门", "分发任务开始", "分发任务结束", "进入队列", "作出决定"):
        table.add_column(header)
    spans = {s.department_code: s for s in result.task_spans}

    def t(value: datetime | None) -> str:
        return value.astimezone().strftime("%H:%M:%S.%f")[:-3] if value else "—"

    for r in result.reviews:
        span = spans.get(r.department_code)
        table.add_row(
            escape(departments[r.department_code].name),
            t(span.start if span else None),
            t(span.end if span else None),
            t(r.opened_at),
            t(r.decided_at),
        )
    console.print(table)
    verdict = "是" if result.fan_out_overlapped else "否"
    console.print(f"各部门任务是否并发运行（每个任务都在其他任务结束前开始）：{verdict}")
    if result.pushed:
        console.print(f"已推送至部门系统（模拟）：{len(result.pushed)} 个部门")


def worker(
    interval: Annotated[
        float | None, typer.Option(help="检查待办消息的间隔（秒），默认取 ONELICENSE_DISPATCH_INTERVAL_SECONDS")
    ] = None,
    deployments: Annotated[
        bool, typer.Option("--deployments", help="由 Prefect 工作进程执行流程（serve --workers 的部署方式）")
    ] = False,
) -> None:
    """只运行调度器：分发到各部门、汇总审批意见、发证、生成许可证 PDF（可多实例、多机器运行）。

    使用 ONELICENSE_PREFECT_API_URL（或 PREFECT_API_URL）指定的 Prefect 服务器。"""
    from onelicense.flows.runtime import configure
    from onelicense.settings import get_settings

    settings = get_settings()
    if not (settings.prefect_api_url or os.environ.get("PREFECT_API_URL")):
        _fail(
            "worker 需要一个 Prefect 服务器：请设置 ONELICENSE_PREFECT_API_URL（例如 serve 启动的 http://127.0.0.1:4200/api）"
        )
    configure(settings)
    _warn_if_the_clock_is_moved()
    from onelicense.services.priority import yield_to_requests

    yield_to_requests()  # its flows and its certificate renderers (they inherit it) after the API's requests
    from onelicense.flows.dispatcher import run_dispatcher
    from onelicense.store.db import migrate

    migrate()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print("调度器已启动（Ctrl-C 停止）")
    try:
        run_dispatcher(stop, interval, deployments=deployments)
    except KeyboardInterrupt:
        stop.set()


def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    api_workers: Annotated[int, typer.Option("--api-workers", min=1, help="API 进程数")] = 1,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            help="Prefect 工作进程数：0（默认）在调度器进程内运行流程；N>0 把流程注册为部署，由 N 个 Prefect 工作进程执行",
        ),
    ] = 0,
    api_only: Annotated[
        bool,
        typer.Option("--api-only", help="只运行 API（调度器、Prefect 服务器与工作进程在别处运行，见 docs/durability.md）"),
    ] = False,
) -> None:
    """一条命令启动部署：API 与公开核验页面、调度器进程、本地 Prefect 服务器（界面可查看流程运行），以及可选的 Prefect 工作进程。

    Prefect 服务器端口取 ONELICENSE_PREFECT_PORT（默认 4200），数据库取 ONELICENSE_PREFECT_DATABASE_URL；
    已设置 ONELICENSE_PREFECT_API_URL 时使用该服务器。Ctrl-C 或 SIGTERM 停止时，所有子进程随之停止。"""
    _warn_if_the_clock_is_moved()
    if api_only:
        _serve_api(host, port, api_workers)
        return
    with _own_prefect() as prefect_url:
        from onelicense.errors import OneLicenseError
        from onelicense.flows.runtime import spawn_child, stop_children
        from onelicense.services.licenses import provision_keys
        from onelicense.settings import get_settings
        from onelicense.store.db import migrate
        migrate()
        provision_keys()  # the published key set answers from the first request on
        _demo_registry()
        from onelicense.services.calendar import coverage_warning

        if calendar_warning := coverage_warning():
            console.print(f"[bold yellow]警告：{calendar_warning}[/bold yellow]", soft_wrap=True)
        settings = get_settings()
        logs = settings.data_dir / "logs"
        children = []
        if workers:
            from onelicense.flows.deployments import PREFECT_FILE, pool_name
            from onelicense.flows.deployments import register as deploy
            from onelicense.services.priority import yield_to_requests

            pool = pool_name()
            try:
                deployed = deploy()
            except OneLicenseError as exc:
                _fail(exc.message)
            console.print(f"已按 {PREFECT_FILE.name} 部署：{'、'.join(deployed)}（工作池 {pool}）")
            worker_env = {
                **os.environ,
                "PREFECT_WORKER_QUERY_SECONDS": os.environ.get("PREFECT_WORKER_QUERY_SECONDS", "1"),
            }
            for n in range(workers):
                command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process"]
                children.append(spawn_child(command, logs / f"prefect-worker-{n + 1}.log", worker_env))
                yield_to_requests(children[-1].pid)
        dispatcher = [sys.executable, "-m", "onelicense", "worker", *(["--deployments"] if workers else [])]
        children.append(spawn_child(dispatcher, logs / "dispatcher.log"))
        console.print(f"Prefect 界面：{prefect_url.removesuffix('/api')}   工作进程：{workers}   日志：{logs}")
        console.print(f"API 与文档：http://{host}:{port}/docs   公示：http://{host}:{port}/publicity")
        console.print(f"核验网址前缀：{settings.public_base_url}/v/…   数据目录：{settings.data_dir}")
        try:
            _run_api(host, port, api_workers)
        finally:
            stop_children(children)


def _serve_api(host: str, port: int, api_workers: int) -> None:
    """The API alone: no Prefect, no dispatcher (they run elsewhere and share the database)."""
    from onelicense.services.calendar import coverage_warning
    from onelicense.services.licenses import provision_keys
    from onelicense.store.db import migrate

    migrate()
    provision_keys()
    if calendar_warning := coverage_warning():
        console.print(f"[bold yellow]警告：{calendar_warning}[/bold yellow]", soft_wrap=True)
    console.print(f"API 与文档：http://{host}:{port}/docs（只运行 API：调度器与 Prefect 在别处运行）")
    _run_api(host, port, api_workers)


def _run_api(host: str, port: int, api_workers: int) -> None:
    # request heads up to 64 KB (web.serving): a long URL reaches our own Chinese 414 instead of uvicorn's refusal
    from onelicense.settings import get_settings
    from onelicense.web.serving import run_api, share_metrics

    if api_workers > 1:  # one request histogram for all the workers (web.metrics): set before they start
        share_metrics(get_settings().data_dir / "metrics")

    proxies = get_settings().forwarded_allow_ips.strip()
    run_api(
        "onelicense.web.app:create_app",
        host=host,
        port=port,
        workers=api_workers,
        # X-Forwarded-For is believed from the named reverse proxies only (none by default): a client cannot
        # choose the address its sign-in attempts are counted against (docs/security.md)
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )


@contextlib.contextmanager
def _own_prefect() -> Iterator[str]:
    """The one Prefect API of this process (started here unless the settings name one), or exit with the reason."""
    from onelicense.errors import OneLicenseError
    from onelicense.flows.runtime import owned_prefect
    from onelicense.settings import get_settings

    stack = contextlib.ExitStack()
    try:
        url = stack.enter_context(owned_prefect(get_settings(), progress=lambda line: console.print(line)))
    except OneLicenseError as exc:
        _fail(exc.message)
    with stack:
        yield url


def _demo_registry() -> None:
    """An empty local registry stand-in (no ONELICENSE_REGISTRY_URL, not production) gets the demo companies, so a
    newcomer can register at /register and verify a binding on one machine."""
    from onelicense.demo.registry import seed_demo_registry

    seeded = seed_demo_registry()
    if seeded:
        console.print(f"本地市场主体登记（演示数据）：{'、'.join(seeded)}（可用于 /register 注册）")


def _warn_if_the_clock_is_moved() -> None:
    from onelicense.clock import moved_notice

    notice = moved_notice()
    if notice:
        console.print(f"[bold yellow]警告：{notice}[/bold yellow]", soft_wrap=True)


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(1)
