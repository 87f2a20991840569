"""Validate a submission against its merged form with a pydantic model built from the form's fields.

Every error names the field key, its Chinese label and the reason in Chinese; unknown fields are rejected;
text is kept exactly as typed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, create_model
from pydantic_core import PydanticCustomError

from onelicense.forms.errors import FieldError, ValidationFailed
from onelicense.forms.fieldtypes import CONTROL_CHARACTERS, Invalid, parse_value
from onelicense.forms.merge import MergedForm
from onelicense.forms.model import Catalog, FieldSpec, Industry

MATERIAL_PREFIX = "materials."
COMMITMENT_KEY = "commitment_accepted"
MAX_MATERIAL_REF = 500
_models: dict[tuple[Any, ...], type[BaseModel]] = {}


@dataclass(frozen=True)
class PendingMaterial:
    code: str
    name: str
    due_days: int | None  # None: trusted under 全信任 / 非核心要件信任, no deadline


@dataclass(frozen=True)
class Submission:
    """A validated application: clean answers, the materials handed in, and those pending under commitment."""

    form: MergedForm
    answers: dict[str, Any]
    materials: dict[str, str]
    pending_materials: tuple[PendingMaterial, ...]


def form_model(form: MergedForm) -> type[BaseModel]:
    """The pydantic model of a merged form (cached per industry and permit selection)."""
    key = (id(form.catalog), form.industry.code, tuple(p.code for p in form.permits))
    model = _models.get(key)
    if model is None:
        definitions: dict[str, Any] = {}
        for merged in form.fields:
            validator = _validator(form.industry, form.catalog.fields[merged.key], merged.required)
            annotated = Annotated[Any, BeforeValidator(validator)]
            definitions[merged.key] = (annotated, ... if merged.required else None)
        model = create_model(
            f"Form_{form.industry.code}",
            __config__=ConfigDict(extra="forbid", protected_namespaces=()),
            **definitions,
        )
        _models[key] = model
    return model


def _validator(industry: Industry, spec: FieldSpec, required: bool) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        if value is None or (isinstance(value, str) and value == "" and spec.type != "text"):
            if required:
                raise PydanticCustomError("required", "必填项未填写")
            return None
        try:
            return parse_answer(industry, spec, value)
        except Invalid as exc:
            raise PydanticCustomError("invalid", str(exc)) from None

    return validate


def parse_answer(industry: Industry, spec: FieldSpec, value: Any) -> Any:
    """Clean `value` for the dictionary field `spec` as `industry` asks it, or raise Invalid with a Chinese reason:
    an enum the industry narrows refuses the dictionary's other choices, saying they do not fit the industry."""
    asked = industry.field_spec(spec)
    try:
        return parse_value(asked, value)
    except Invalid:
        if asked is not spec and isinstance(value, str) and value in (spec.choices or ()):
            fitting = "、".join(asked.choices or ())
            raise Invalid(f"“{value}”不适用于本行业（{industry.name}），应为以下选项之一：{fitting}") from None
        raise


def parse_conditions(
    industry: Industry, answers: Mapping[str, Any], catalog: Catalog
) -> tuple[dict[str, Any], list[FieldError]]:
    """The answers to the industry's scope questions (经营范围问答) as clean values, and those that are not valid.

    They decide which permits, hence which fields, the merged form has: a bad one must be reported alone, before
    merging, or it would also produce misleading "unknown field" errors for the fields it deselected."""
    values: dict[str, Any] = {}
    problems = []
    for key in industry.condition_keys:
        value = answers.get(key)
        if value is None:
            continue
        spec = catalog.fields[key]
        try:
            values[key] = parse_answer(industry, spec, value)
        except Invalid as exc:
            problems.append(FieldError(key, spec.label, str(exc)))
    return values, problems


def validate_submission(
    form: MergedForm,
    answers: Mapping[str, Any] | Any,
    materials: Mapping[str, Any] | Any = None,
    *,
    commitment_accepted: bool = True,
) -> Submission:
    """Check answers, materials and the signed commitment; raise ValidationFailed listing every problem."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    if not isinstance(answers, Mapping):
        errors.append(FieldError("answers", "表单内容", "应为键值对象"))
    else:
        clean, field_errors = _check_answers(form, answers)
        errors.extend(field_errors)
        errors.extend(_check_conditions(form, clean))
    handed_in, pending, material_errors = _check_materials(form, materials)
    errors.extend(material_errors)
    if commitment_accepted is not True:
        errors.append(FieldError(COMMITMENT_KEY, "告知承诺书", "须阅读并签署告知承诺书"))
    if errors:
        raise ValidationFailed(errors)
    return Submission(form=form, answers=clean, materials=handed_in, pending_materials=pending)


def _check_answers(form: MergedForm, answers: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    try:
        model = form_model(form).model_validate(dict(answers))
    except ValidationError as exc:
        return {}, [_field_error(form, err) for err in exc.errors()]
    return {k: v for k, v in model.model_dump().items() if v is not None}, []


def _field_error(form: MergedForm, err: Mapping[str, Any]) -> FieldError:
    key = str(err["loc"][0]) if err["loc"] else "answers"
    merged = form.field(key)
    if err["type"] == "extra_forbidden":
        return FieldError(key, key, "未知字段：本行业的合并表单中没有此项")
    if err["type"] == "missing":
        return FieldError(key, merged.label if merged else key, "必填项未填写")
    return FieldError(key, merged.label if merged else key, err["msg"])


def _check_conditions(form: MergedForm, clean: Mapping[str, Any]) -> list[FieldError]:
    """The answers to condition questions must be the ones the form was merged for."""
    errors = []
    for key, expected in form.answers_to_conditions.items():
        merged = form.field(key)
        if merged is not None and key in clean and clean[key] != expected:
            errors.append(FieldError(key, merged.label, "与生成表单时的回答不一致，请重新生成表单"))
    return errors


def _check_materials(
    form: MergedForm, materials: Any
) -> tuple[dict[str, str], tuple[PendingMaterial, ...], list[FieldError]]:
    if materials is None:
        materials = {}
    if not isinstance(materials, Mapping):
        return {}, (), [FieldError("materials", "申请材料", "应为“材料编码: 文件引用”的键值对象")]
    errors: list[FieldError] = []
    known = {m.code: m for m in form.materials}
    handed_in: dict[str, str] = {}
    for code, ref in materials.items():
        key = f"{MATERIAL_PREFIX}{code}"
        if code not in known:
            errors.append(FieldError(key, str(code), "未知材料：本次申请不需要此材料"))
        elif not isinstance(ref, str) or not ref.strip():
            errors.append(FieldError(key, known[code].name, "应为非空的文件引用"))
        elif len(ref) > MAX_MATERIAL_REF:
            errors.append(FieldError(key, known[code].name, f"文件引用不能超过{MAX_MATERIAL_REF}个字符"))
        elif CONTROL_CHARACTERS.search(ref):
            errors.append(FieldError(key, known[code].name, "文件引用含有不可见的控制字符"))
        else:
            handed_in[code] = ref
    pending = []
    for material in form.materials:
        if material.code in handed_in:
            continue
        if material.required_now:
            reason = "核心材料未提交" if material.core else "材料未提交（该许可不适用告知承诺）"
            errors.append(FieldError(f"{MATERIAL_PREFIX}{material.code}", material.name, reason))
        else:
            pending.append(PendingMaterial(material.code, material.name, material.due_days))
    return handed_in, tuple(pending), errors
