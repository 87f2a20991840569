"""`onelicense catalog ...`: the reform's figures and an industry's merged form, in the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from onelicense.forms.catalog import load_catalog
from onelicense.forms.errors import CatalogError, UnknownIndustry
from onelicense.forms.merge import merge_form
from onelicense.forms.model import Catalog
from onelicense.forms.stats import Comparison, catalog_figures
from onelicense.services.catalog import catalog as current_catalog

app = typer.Typer(no_args_is_help=True)
console = Console()
if not console.is_terminal:  # piped or captured: do not squeeze the tables into 80 columns
    console = Console(width=140)

CatalogDir = Annotated[Path | None, typer.Option("--catalog", help="目录数据文件夹（默认：内置目录）")]


def _load(folder: Path | None) -> Catalog:
    try:
        return load_catalog(folder) if folder else current_catalog()
    except CatalogError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None


def _pct(c: Comparison) -> str:
    return f"{c.separate}→{c.merged} -{c.reduction:.1%}"


@app.command()
def check(catalog: CatalogDir = None) -> None:
    """校验目录数据，列出全部问题。"""
    data = _load(catalog)
    console.print(
        f"目录有效：{len(data.departments)} 个部门，{len(data.permits)} 个许可事项，"
        f"{len(data.industries)} 个行业，{len(data.fields)} 个字段，{len(data.materials)} 种材料"
    )
    _check_calendar(catalog)


def _check_calendar(folder: Path | None) -> None:
    """The calendar shipped in the folder (checked), and the one in use: a warning when it runs out soon."""
    from onelicense.forms.catalog import SHIPPED_CATALOG
    from onelicense.review.calendar import calendar_of, load_arrangements
    from onelicense.services.calendar import coverage_warning, working_calendar
    from onelicense.settings import get_settings

    settings = get_settings()
    try:
        shipped = load_arrangements(folder or settings.catalog_dir or SHIPPED_CATALOG)
    except CatalogError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    console.print(f"随目录发布的节假日安排：{'、'.join(str(y) for y in shipped) or '无'} 年")
    database_exists = settings.database_url or Path(settings.effective_database_url.removeprefix("sqlite:///")).exists()
    in_use = working_calendar() if database_exists and folder is None else calendar_of(shipped.values())
    end = in_use.covered_until
    console.print(f"工作日历{'（数据库）' if database_exists and folder is None else ''}覆盖至：{end or '无'}")
    if warning := coverage_warning(calendar=in_use):
        console.print(f"[yellow]警告：{escape(warning)}[/yellow]", soft_wrap=True)


@app.command()
def stats(catalog: CatalogDir = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """改革成效：分别申请 vs 一业一证（字段、材料、环节、窗口、时限），由目录数据计算。"""
    figures = catalog_figures(_load(catalog))
    if as_json:
        rows = {
            r.code: {
                **{k: [getattr(r, k).separate, getattr(r, k).merged] for k in _KINDS},
                "permit_codes": list(r.permit_codes),
                "answers": r.answers,
            }
            for r in figures.per_industry
        }
        totals = {k: [getattr(figures, k).separate, getattr(figures, k).merged] for k in _KINDS}
        print(json.dumps({"industries": rows, "total": totals}, ensure_ascii=False, indent=2))
        return
    table = Table(title="一业一证 改革成效（按各行业实际可能出现的最多许可情形计算）")
    for header in (
        "行业",
        "许可",
        "部门",
        "表单字段",
        "申请材料",
        "办理环节",
        "跑动窗口",
        "审批时限（工作日）",
    ):
        table.add_column(header)
    for r in figures.per_industry:
        table.add_row(
            escape(r.name), str(r.permits), str(r.departments),
            *(_pct(getattr(r, k)) for k in _KINDS),
        )  # fmt: skip
    table.add_section()
    table.add_row("合计", str(figures.permits), str(figures.departments), *(_pct(getattr(figures, k)) for k in _KINDS))
    console.print(table)
    console.print(
        f"共 {figures.departments} 个部门、{figures.permits} 个许可事项、{figures.industries} 个行业；"
        f"表单字段精简 {figures.fields.reduction:.2%}，审批时限压缩 {figures.days.reduction:.2%}。"
    )


_KINDS = ("fields", "materials", "steps", "windows", "days")


@app.command()
def form(
    industry: Annotated[str, typer.Argument(help="行业编码，如 HOTEL")],
    answer: Annotated[list[str] | None, typer.Option("--answer", "-a", help="条件问答，如 has_pool=true")] = None,
    catalog: CatalogDir = None,
) -> None:
    """显示某行业的一张合并表单（字段来源、材料清单、告知承诺书）。"""
    data = _load(catalog)
    answers = dict(_parse_answer(a) for a in answer or [])
    try:
        merged = merge_form(industry, answers, data)
    except UnknownIndustry as exc:
        console.print(f"[red]{escape(str(exc))}；可选：{escape('、'.join(data.industries))}[/red]")
        raise typer.Exit(2) from None
    console.print(f"[bold]{escape(merged.industry.name)}（{escape(merged.industry.code)}）一业一证 合并申请表[/bold]")
    console.print("涉及许可：" + escape("、".join(p.name for p in merged.permits)))
    console.print("涉及部门：" + escape("、".join(d.name for d in merged.departments)))
    table = Table(title=f"表单字段（{len(merged.fields)} 项）")
    for header in ("分组", "字段", "键", "类型", "必填", "需要此字段的许可"):
        table.add_column(header)
    for f in merged.fields:
        used_by = "、".join(data.permits[c].name for c in f.permits) or "（条件问答）"
        cells = (f.section_name, f.label, f.key, f.spec.type.value, "是" if f.required else "否", used_by)
        table.add_row(*(escape(c) for c in cells))
    console.print(table)
    materials = Table(title=f"申请材料（{len(merged.materials)} 项）")
    for header in ("材料", "核心要件", "提交方式"):
        materials.add_column(header)
    for m in merged.materials:
        when = "随申请提交" if m.required_now else (f"承诺{m.due_days}日内后补" if m.due_days else "告知承诺免于提交")
        materials.add_row(escape(m.name), "是" if m.core else "否", when)
    console.print(materials)
    console.print(escape(merged.commitment_notice))


def _parse_answer(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep:
        raise typer.BadParameter(f"应为 键=值：{text}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value
