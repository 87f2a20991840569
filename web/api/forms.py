"""The catalog for applicants (public, no token needed): industries, departments, and the merged form of an
industry for the answers to its condition questions (经营范围问答), passed as query parameters (GET) or, typed, in a
JSON body (POST: what a client generated from the OpenAPI document can send)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from onelicense.forms.errors import FieldError, UnknownIndustry, ValidationFailed
from onelicense.forms.fieldtypes import Invalid
from onelicense.forms.model import Industry
from onelicense.forms.validation import parse_answer, parse_conditions
from onelicense.services import catalog as catalogs
from onelicense.web.api import schemas, views
from onelicense.web.api.deps import CurrentActor
from onelicense.web.api.responses import errors

router = APIRouter(tags=["行业目录与合并表单"])


@router.get("/industries", summary="行业列表", description="一业一证覆盖的行业，以及决定许可事项的问答字段。")
def list_industries() -> list[schemas.IndustryOut]:
    return [views.industry(code) for code in catalogs.catalog().industries]


@router.get("/departments", summary="审批部门列表")
def list_departments() -> list[schemas.DepartmentOut]:
    return [schemas.DepartmentOut(code=d.code, name=d.name) for d in catalogs.catalog().departments.values()]


@router.get(
    "/industries/{industry_code}/form",
    openapi_extra={"x-open-query": True},  # the scope answers, validated below against the industry's questions
    summary="合并表单",
    description=(
        "行业的一张合并表单：字段（含中文名、类型、来源许可事项与部门）、材料清单与告知承诺书。"
        "经营范围问答作为查询参数传入，例如 ?has_restaurant=true&floor_area=120；未回答的条件视为不办理。"
    ),
    responses=errors(404, 422),
)
def merged_form(industry_code: str, request: Request) -> schemas.MergedFormOut:
    catalog = catalogs.catalog()
    industry = catalog.industries.get(industry_code)
    if industry is None:
        raise UnknownIndustry(industry_code)
    conditions = _conditions(industry, request.query_params.multi_items())
    return views.merged_form(catalogs.merged_form(industry_code, conditions))


@router.post(
    "/industries/{industry_code}/form",
    summary="合并表单（经营范围问答在请求体中）",
    description=(
        "与 GET 相同的合并表单，经营范围问答以 JSON 请求体传入（类型明确，便于生成的客户端调用）："
        '{"answers": {"has_restaurant": true, "floor_area": 120}}。不属于本行业的问答字段或无效的回答返回 422。'
        "带请求体的调用须携带访问令牌（任一角色）。"
    ),
    responses=errors(401, 404, 422),
)
def merged_form_for(industry_code: str, body: schemas.ScopeRequest, actor: CurrentActor) -> schemas.MergedFormOut:
    catalog = catalogs.catalog()
    industry = catalog.industries.get(industry_code)
    if industry is None:
        raise UnknownIndustry(industry_code)
    keys = industry.condition_keys
    problems = [
        FieldError(key, key, f"不是本行业的经营范围问答（可用：{'、'.join(keys) or '无'}）")
        for key in body.answers
        if key not in keys
    ]
    conditions, invalid = parse_conditions(industry, body.answers, catalog)
    if problems or invalid:
        raise ValidationFailed([*problems, *invalid])
    return views.merged_form(catalogs.merged_form(industry_code, conditions))


def _conditions(industry: Industry, params: list[tuple[str, str]]) -> dict[str, Any]:
    """Query parameters parsed by the catalog's field types as the industry asks them; only its condition
    questions."""
    catalog = catalogs.catalog()
    keys = industry.condition_keys
    answers: dict[str, Any] = {}
    problems: list[FieldError] = []
    for key, raw in params:
        if key not in keys:
            problems.append(FieldError(key, key, f"不是本行业的经营范围问答（可用：{'、'.join(keys) or '无'}）"))
            continue
        spec = catalog.fields[key]
        try:
            answers[key] = parse_answer(industry, spec, raw)
        except Invalid as exc:
            problems.append(FieldError(key, spec.label, str(exc)))
    if problems:
        raise ValidationFailed(problems)
    return answers
