"""`onelicense queue ...`: the department review queue from the terminal, for reviewers.

Runs in-process against the database with the Actor of the reviewer's API token (--token or ONELICENSE_TOKEN) and
calls the same service functions as the API routes (services.reviews), so the CLI cannot do anything the API would
refuse; it shows reviews through the API's own presenters (web.api.views), so both show the same thing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from onelicense.cli.common import as_user, fail

if TYPE_CHECKING:
    from onelicense.review.roles import Actor
    from onelicense.web.api import schemas

app = typer.Typer(no_args_is_help=True, help="部门审批队列：查看、受理、退回、审查决定")
console = Console()

TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="ONELICENSE_TOKEN", help="访问令牌（或环境变量 ONELICENSE_TOKEN）", show_default=False
    ),
]
ReviewArgument = Annotated[str, typer.Argument(help="审查任务 ID")]
VersionOption = Annotated[int | None, typer.Option("--expected-version", help="乐观锁版本号：不一致时拒绝")]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出")]


@app.command("list")
def list_queue(
    token: TokenOption = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="审查状态，可重复：pending/claimed/...")] = None,
    industry: Annotated[str | None, typer.Option("--industry", help="行业代码")] = None,
    older_than_hours: Annotated[
        float | None, typer.Option("--older-than-hours", min=0, help="等待至少多少小时")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOption = False,
) -> None:
    """列出本部门的审查队列（默认只列未办结的）。"""
    from onelicense.services import reviews
    from onelicense.web.api import views

    with as_user(token) as (session, actor):
        items = views.queue(
            reviews.list_queue(
                session,
                actor,
                status=status or None,
                industry=industry,
                older_than=timedelta(hours=older_than_hours) if older_than_hours is not None else None,
                limit=limit,
                offset=offset,
            )
        )
    if as_json:
        _print_json([i.model_dump(mode="json") for i in items])
        return
    table = Table(title=f"审查队列（{len(items)} 件）")
    for header in ("审查任务 ID", "申请编号", "行业", "申请人", "状态", "轮次", "受理人", "等待（小时）", "版本"):
        table.add_column(header)
    for i in items:
        table.add_row(
            i.review_id,
            i.reference,
            escape(i.industry_name),
            escape(i.holder_name),
            i.status_label,
            str(i.round),
            escape(i.assignee or ""),
            f"{i.age_hours:.1f}",
            str(i.version),
        )
    console.print(table)


@app.command("show")
def show(review_id: ReviewArgument, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """显示审查任务：关键字段、系统建议意见、可要求补正的事项、历次决定。"""
    from onelicense.services import reviews

    with as_user(token) as (session, actor):
        detail = _detail(session, actor, reviews.get_review(session, actor, review_id))
    _print_review(detail, as_json)


@app.command("claim")
def claim(
    review_id: ReviewArgument,
    token: TokenOption = None,
    expected_version: VersionOption = None,
    as_json: JsonOption = False,
) -> None:
    """受理：把审查任务领到自己名下。"""
    from onelicense.services import reviews

    with as_user(token) as (session, actor):
        review = reviews.claim(session, actor, review_id, expected_version=expected_version)
        detail = _detail(session, actor, review)
    _done(f"已受理 {detail.reference}（{detail.department_code}）", detail, as_json)


@app.command("release")
def release(
    review_id: ReviewArgument,
    token: TokenOption = None,
    expected_version: VersionOption = None,
    as_json: JsonOption = False,
) -> None:
    """退回队列：放弃已受理的审查任务。"""
    from onelicense.services import reviews

    with as_user(token) as (session, actor):
        review = reviews.release(session, actor, review_id, expected_version=expected_version)
        detail = _detail(session, actor, review)
    _done(f"已退回队列 {detail.reference}（{detail.department_code}）", detail, as_json)


@app.command("decide")
def decide(
    review_id: ReviewArgument,
    decision: Annotated[str, typer.Option("--decision", "-d", help="approve 同意 | reject 不同意 | supplement 需补正")],
    opinion: Annotated[str, typer.Option("--opinion", "-o", help="审查意见（不同意、需补正时必填）")] = "",
    item: Annotated[
        list[str] | None, typer.Option("--item", "-i", help="需补正的字段键或材料编码，可重复（仅 supplement）")
    ] = None,
    token: TokenOption = None,
    expected_version: VersionOption = None,
    as_json: JsonOption = False,
) -> None:
    """作出审查决定：同意、不同意或要求补正，并填写审查意见。"""
    from pydantic import ValidationError

    from onelicense.services import reviews
    from onelicense.web.api import schemas
    from onelicense.web.errors import field_errors

    try:
        request = schemas.DecideRequest(
            decision=decision, opinion=opinion, requested_items=item or [], expected_version=expected_version
        )
    except ValidationError as exc:
        fail("审查决定有误", [e["message"] for e in field_errors(exc.errors())])
    with as_user(token) as (session, actor):
        review = reviews.decide(
            session,
            actor,
            review_id,
            request.decision,
            request.opinion,
            request.requested_items or None,
            expected_version=request.expected_version,
        )
        detail = _detail(session, actor, review)
    _done(f"已作出审查决定：{detail.decision_label}（{detail.reference}，{detail.department_code}）", detail, as_json)


# --- helpers -------------------------------------------------------------------------------------------


def _detail(session: Any, actor: Actor, review: Any) -> schemas.ReviewDetail:
    from onelicense.services import applications, reviews
    from onelicense.web.api import views

    application = applications.get_application(session, actor, review.application_id)
    history = reviews.decision_history(session, actor, review.id)
    return views.review_detail(review, application, history, reviews.allowed_actions(session, actor, review).names)


def _done(message: str, detail: schemas.ReviewDetail, as_json: bool) -> None:
    if as_json:
        _print_json(detail.model_dump(mode="json"))
    else:
        console.print(f"[green]{escape(message)}[/green]")


def _print_review(detail: schemas.ReviewDetail, as_json: bool) -> None:
    if as_json:
        _print_json(detail.model_dump(mode="json"))
        return
    console.print(
        f"[bold]{detail.reference}[/bold]  {escape(detail.holder_name)}  {escape(detail.industry_name)}  "
        f"部门 {detail.department_code}  第 {detail.round} 轮  状态：[bold]{detail.status_label}[/bold]  "
        f"版本 {detail.version}"
    )
    console.print("许可事项：" + escape("、".join(detail.permits)))
    fields = Table(title="关键字段")
    fields.add_column("字段")
    fields.add_column("内容")
    for entry in detail.key_fields.get("fields", []):
        value = entry.get("value")
        fields.add_row(escape(str(entry.get("label"))), "" if value is None else escape(str(value)))
    for entry in detail.key_fields.get("materials", []):
        fields.add_row(
            escape(str(entry.get("name"))),
            "待补（告知承诺）" if entry.get("pending") else escape(str(entry.get("reference"))),
        )
    console.print(fields)
    if detail.suggested_opinion:
        console.print(Panel(escape(detail.suggested_opinion), title="系统建议意见（辅助审批）"))
    console.print("可要求补正：" + escape("、".join(f"{i.label}（{i.key}）" for i in detail.requestable_items)))
    for record in detail.history:
        console.print(
            f"第 {record.round} 轮 {record.decision_label}：{escape(record.opinion or '')}（{escape(record.actor)}）"
        )


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))
