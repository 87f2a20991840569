"""Catalog entries as typed, immutable models: what the YAML files in forms/catalog/ contain."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from onelicense.forms.errors import ExpressionError
from onelicense.forms.expressions import Expression, parse_expression

UpperCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)]
LowerKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _as_expression(value: object) -> Expression:
    if isinstance(value, Expression):
        return value
    if not isinstance(value, str):
        raise ExpressionError(f"表达式应为文本：{value!r}")
    return parse_expression(value)


Expr = Annotated[Expression, BeforeValidator(_as_expression)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class FieldType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    ENUM = "enum"
    BOOLEAN = "boolean"
    PHONE = "phone"
    USCC = "uscc"  # 统一社会信用代码
    ADDRESS = "address"
    ID_NUMBER = "id_number"  # 居民身份证号码
    EMAIL = "email"


class Commitment(StrEnum):
    """告知承诺 categories: what may be approved on the applicant's written commitment."""

    FULL_TRUST = "全信任"
    NON_CORE_TRUST = "非核心要件信任"
    DEFERRED = "要件后补"


class Severity(StrEnum):
    BLOCKING = "blocking"
    ADVISORY = "advisory"

    @property
    def label(self) -> str:
        return {"blocking": "阻断", "advisory": "提示"}[self.value]


class Department(_Entry):
    code: UpperCode
    name: Name


class Section(_Entry):
    code: LowerKey
    name: Name


class FieldSpec(_Entry):
    key: LowerKey
    label: Name
    type: FieldType
    section: LowerKey
    required: bool = True
    max_length: int | None = Field(default=None, gt=0, le=10000)
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    help: str | None = None
    change_review: bool = True  # False: a registration fact (登记事项), changed without a department's review

    @property
    def length_cap(self) -> int:
        defaults = {FieldType.ADDRESS: 300, FieldType.TEXT: 200}
        return self.max_length or defaults.get(self.type, 100)


class Material(_Entry):
    code: LowerKey
    name: Name
    # 示范文本: a template (templates/samples/<sample>) rendered as a PDF the applicant may download beside the upload
    sample: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.html\.j2$", max_length=100)] | None = None


class PermitMaterial(_Entry):
    code: LowerKey
    core: bool


class Rule(_Entry):
    check: Expr
    severity: Severity
    message: Name


class AutoRule(_Entry):
    """One condition of instant approval (秒批): every rule must hold, over answered fields only."""

    check: Expr
    message: Name


def _auto_approve_shape(value: object) -> object:
    if isinstance(value, list):  # the rules alone: for which industry were they written?
        raise ValueError("秒批规则须写明适用的行业，格式为 {industries: [行业编码], rules: [...]}")
    return value


class AutoApproval(_Entry):
    """秒批 rules and the industries they were written for: the rules decide for an application of one of those
    industries only, whatever its answers (a rule set for beauty shops must not grant a hotel)."""

    industries: tuple[UpperCode, ...] = ()  # required, checked by the loader with a message naming the permit
    rules: tuple[AutoRule, ...] = ()

    def covers(self, industry_code: str) -> bool:
        return industry_code in self.industries


class Permit(_Entry):
    code: UpperCode
    name: Name
    department: UpperCode
    statutory_days: int = Field(gt=0, le=365)
    promised_days: int = Field(gt=0, le=365)
    validity_years: int | None = Field(default=None, gt=0, le=50)
    mandatory: bool = True
    commitment: Commitment | None = None
    supplement_days: int | None = Field(default=None, gt=0, le=365)
    fields: tuple[LowerKey, ...]
    materials: tuple[PermitMaterial, ...] = ()
    follows: tuple[UpperCode, ...] = ()
    rules: tuple[Rule, ...] = ()
    # 秒批: decided by the system at once, for the listed industries, when every rule holds (全信任 only: 先予许可、事后核查)
    auto_approve: Annotated[AutoApproval | None, BeforeValidator(_auto_approve_shape)] = None


class IndustryPermit(_Entry):
    permit: UpperCode
    when: Expr | None = None


class Industry(_Entry):
    code: UpperCode
    name: Name
    description: str | None = None
    permits: tuple[IndustryPermit, ...]
    # enum fields whose choices this industry narrows (a swimming pool is no beauty shop): key → the choices that fit
    choices: dict[LowerKey, tuple[str, ...]] = {}

    def field_spec(self, spec: FieldSpec) -> FieldSpec:
        """The field as this industry asks it: an enum narrowed to the industry's choices, in the dictionary's order."""
        narrowed = self.choices.get(spec.key)
        if narrowed is None or spec.choices is None:
            return spec
        return spec.model_copy(update={"choices": tuple(c for c in spec.choices if c in narrowed)})

    @property
    def condition_keys(self) -> list[str]:
        """Field keys the industry's conditions ask about, in first-use order."""
        keys: list[str] = []
        for item in self.permits:
            if item.when is not None:
                keys.extend(k for k in sorted(item.when.names) if k not in keys)
        return keys


class Catalog(_Entry):
    procedure_steps: tuple[str, ...]
    departments: dict[str, Department]
    sections: dict[str, Section]
    fields: dict[str, FieldSpec]
    materials: dict[str, Material]
    permits: dict[str, Permit]
    industries: dict[str, Industry]
