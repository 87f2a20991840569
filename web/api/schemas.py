"""Request and response schemas of the JSON API (pydantic), documented in Chinese for the OpenAPI page.

Requests forbid unknown fields and cap every size, so bad input is refused with a 422 naming the field before
any work starts. Business validation of the form itself stays in `forms` (called by the services: submit, amend,
change). Limits that are rules of the domain are read from it (`review.transitions.OPINION_MAX_CHARS`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from onelicense.forms.fieldtypes import hidden_character_class, hidden_characters
from onelicense.review.transitions import OPINION_MAX_CHARS, ApplicationStatus, Decision, Outcome, ReviewStatus
from onelicense.services import catalog as catalogs
from onelicense.store.inputs import storable_problem

MAX_DOCUMENT_CHARS = 200_000  # answers or materials of one application, as JSON
MAX_KEYS = 500
MAX_DEPTH = 20
MAX_REQUESTED_ITEMS = 100

CODE_PATTERN = r"^[A-Z][A-Z0-9_]*$"  # catalog codes: industries, departments, permits
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"  # field keys and material codes
# free text people type (opinions, reasons, notes): no control or format character (bidi overrides and isolates,
# zero-width characters) but line breaks and tabs, as store.inputs.text refuses them; the pattern states the
# Basic Multilingual Plane part, the few such characters beyond it are refused all the same (docs/api.md)
_HIDDEN = hidden_character_class()
PLAIN_TEXT = f"^[^{_HIDDEN}]*$"
# ... with at least one character that is not a space, by the reading of JSON Schema (ECMA \s), of the validator
# and of Python's str.strip at once (the spaces only Python counts are hidden characters already)
PLAIN_TEXT_NOT_BLANK = f"^[^{_HIDDEN}]*[^{_HIDDEN}\\s][^{_HIDDEN}]*$"


def _storable(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse what JSON or the databases cannot hold faithfully: NUL, lone surrogates, NaN, oversized documents."""
    for string in _strings(value):
        _clean_text(string)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ValueError("包含 JSON 无法表示的数值（NaN 或无穷大）") from None
    if len(text) > MAX_DOCUMENT_CHARS:
        raise ValueError(f"内容过大（最多 {MAX_DOCUMENT_CHARS} 个字符）")
    return value


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included; refuses nesting deeper than MAX_DEPTH."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"嵌套层级过深（最多 {MAX_DEPTH} 层）")
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key, child in item.items():
                yield str(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _clean_text(value: str) -> str:
    if problem := storable_problem(value):
        raise ValueError(problem)
    return value


def _plain_text(value: str) -> str:
    _clean_text(value)
    if hidden := hidden_characters(value):
        raise ValueError(f"含有不可见的控制字符（如双向文字控制符、零宽字符）：{'、'.join(hidden[:5])}")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("不能为空")
    return value


Document = Annotated[dict[str, Any], Field(max_length=MAX_KEYS), AfterValidator(_storable)]
# material code → file reference (None in an amendment removes the material)
Materials = Annotated[dict[str, str], Field(max_length=MAX_KEYS), AfterValidator(_storable)]
MaterialsPatch = Annotated[dict[str, str | None], Field(max_length=MAX_KEYS), AfterValidator(_storable)]
# the patterns are published for clients (json_schema_extra); the validators check the same with a Chinese reason
Text = Annotated[str, Field(json_schema_extra={"pattern": PLAIN_TEXT}), AfterValidator(_plain_text)]
NotBlankText = Annotated[
    str,
    Field(json_schema_extra={"pattern": PLAIN_TEXT_NOT_BLANK}),
    AfterValidator(_plain_text),
    AfterValidator(_not_blank),
]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE_PATTERN)]
ItemKey = Annotated[str, Field(min_length=1, max_length=64, pattern=KEY_PATTERN)]


def _whole_number(value: object) -> object:
    """JSON has one number type: 316303.0 is the integer 316303 (as the schema's "integer" says); a string, a
    boolean or a fraction is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("应为整数")
    return value


Version = Annotated[
    int,
    Field(ge=1, le=2**31 - 1, description="乐观锁版本号：与当前版本不一致时返回 409"),
    BeforeValidator(_whole_number),
]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------------------


class FieldErrorOut(BaseModel):
    key: str = Field(description="字段键（材料为 materials.<编码>，请求格式错误为其位置）")
    label: str = Field(description="字段中文名称")
    reason: str = Field(description="原因")
    message: str = Field(description="完整提示")


class FindingOut(BaseModel):
    permit_code: str
    permit_name: str
    department_code: str
    department_name: str
    severity: str = Field(description="blocking 阻断 | advisory 提示")
    severity_label: str
    message: str
    rule: str


class ErrorBody(BaseModel):
    detail: str = Field(description="错误说明（中文）")
    errors: list[FieldErrorOut] = Field(default_factory=list, description="逐字段的错误")
    findings: list[FindingOut] = Field(default_factory=list, description="预审发现的问题")


# --- paged lists ----------------------------------------------------------------------------------------


class Page(BaseModel):
    """What every list answers beside its items (web.api.paging)."""

    total: int = Field(description="符合条件的总条数")
    page: int = Field(description="本页页码（从 1 开始）")
    pages: int = Field(description="总页数（没有记录时为 1）")


# --- applicant side -------------------------------------------------------------------------------------


class SubmitRequest(Request):
    industry_code: Code = Field(description="行业代码，见 GET /api/industries")
    answers: Document = Field(description="合并表单的填写内容：字段键 → 值")
    materials: Materials = Field(default_factory=dict, description="申请材料：材料编码 → 文件引用")
    commitment_accepted: StrictBool = Field(description="是否已阅读并签署告知承诺书")
    idempotency_key: Annotated[Text, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="幂等键：重试同一提交时返回第一次创建的申请（HTTP 200）"
    )


class DepartmentBranch(BaseModel):
    department_code: str
    department_name: str
    review_id: str


class SubmitResult(BaseModel):
    application_id: str
    reference: str = Field(description="申请编号")
    replayed: bool = Field(description="true：幂等重放，返回的是此前创建的申请")
    findings: list[FindingOut] = Field(description="预审提示（不阻断受理）")
    departments: list[DepartmentBranch] = Field(description="已分发的审批部门")


class AmendRequest(Request):
    answers: Document = Field(default_factory=dict, description="补正的字段：字段键 → 新值（null 表示删除）")
    materials: MaterialsPatch = Field(
        default_factory=dict, description="补正的材料：材料编码 → 文件引用（null 表示删除）"
    )
    expected_version: Version | None = None


class ItemOut(BaseModel):
    key: str = Field(description="字段键或材料编码")
    label: str
    kind: str = Field(description="field 字段 | material 材料")


class DepartmentProgress(BaseModel):
    department_code: str
    department_name: str
    permits: list[str] = Field(description="本部门审查的许可事项名称")
    status: ReviewStatus
    status_label: str
    decided: bool
    decision: Decision | None = None
    decision_label: str | None = None
    opinion: str | None = Field(default=None, description="审查意见（作出决定后可见）")
    requested_items: list[ItemOut] = Field(default_factory=list, description="要求补正的字段或材料")
    round: int = Field(description="审查轮次：补正后重新审查为第 2 轮起")
    decided_at: datetime | None = None
    due_on: date | None = Field(default=None, description="承诺办结日（按工作日计）")
    due_on_provisional: bool = Field(
        default=False, description="按常规工作日推算、待节假日安排公布后校正（期限计入的年度尚无节假日安排）"
    )


class ApplicationSummary(BaseModel):
    id: str
    reference: str
    industry_code: str
    industry_name: str
    holder_name: str
    status: ApplicationStatus
    status_label: str
    status_reason: str | None = Field(
        default=None, description="终止办理的原因（变更或延续申请因许可证注销、撤销、吊销而「已终止办理」时）"
    )
    version: int
    created_at: datetime
    updated_at: datetime


def _scope_keys(schema: dict[str, Any]) -> None:
    """The answers' keys are the catalog's scope questions (each industry asks some of them: the route refuses
    the others), read from the catalog when the OpenAPI document is built."""
    catalog = catalogs.catalog()
    keys = sorted({key for industry in catalog.industries.values() for key in industry.condition_keys})
    schema["propertyNames"] = {"enum": keys}


class ScopeRequest(Request):
    answers: dict[str, bool | int | float | str] = Field(
        default_factory=dict,
        max_length=100,
        description="经营范围问答：问答字段键 → 回答（见 GET /api/industries 的 condition_keys）；未回答的条件视为不办理",
        json_schema_extra=_scope_keys,
    )


class LicenseStatusOut(BaseModel):
    code: str = Field(description="电子证照状态代码：01 有效、02 暂扣、03 撤销、04 注销、05 失效、07 吊销")
    label: str


class LicensePermitOut(BaseModel):
    code: str
    name: str
    number: str = Field(description="分项许可编号")
    department: str
    issued_on: date
    valid_until: date | None = Field(description="有效期至；空为长期")
    status: LicenseStatusOut = Field(
        description="实际状态：分项许可本身的状态与许可证整体状态中较严格者（与扫码核验页一致）"
    )
    status_note: str | None = Field(description="状态来自许可证整体时的说明，如“随许可证注销”")


class LicenseOut(BaseModel):
    number: str
    identifier: str = Field(description="证照标识（GB/T 36904）：1.2.156.3005.2.证照类型代码.颁发机构代码.流水号.版本号.校验位")
    edition: int = Field(description="版次")
    status: LicenseStatusOut = Field(description="综合状态（扫码核验页顶部所示）")
    license_status: LicenseStatusOut = Field(description="许可证整体的状态（暂扣、注销、撤销、吊销等整证操作）")
    permits: list[LicensePermitOut]


class ApplicationDetail(ApplicationSummary):
    uscc: str
    permits: list[str] = Field(description="申请的许可事项名称")
    answers: dict[str, Any] = Field(
        description="申报内容：申请人和管理员看到全部；审批人员只看到本部门许可事项所需的字段"
    )
    materials: dict[str, Any] = Field(
        description="申请材料：申请人和管理员看到全部；审批人员只看到本部门许可事项所需的材料"
    )
    departments: list[DepartmentProgress] = Field(description="各部门办理进度")
    opinion_ready: bool = Field(description="综合审批意见是否已生成")
    license_number: str | None = Field(default=None, description="行业综合许可证编号（发证后）")
    verify_url: str | None = Field(default=None, description="扫码核验网址（发证后，即许可证二维码的内容）")
    license_pdf: str | None = Field(default=None, description="许可证 PDF 的下载路径（发证后）")
    license: LicenseOut | None = Field(default=None, description="许可证及各分项许可的实时状态（发证后）")


class ApplicationPage(Page):
    items: list[ApplicationSummary]


class OpinionOut(BaseModel):
    application_id: str
    reference: str
    outcome: Outcome
    outcome_label: str
    summary: str
    opinion: dict[str, Any] = Field(description="综合审批意见（结构化）")
    html: str | None = Field(default=None, description="综合审批意见文书（HTML）")


# --- reviewer side --------------------------------------------------------------------------------------


class QueueItemOut(BaseModel):
    review_id: str
    application_id: str
    reference: str
    industry_code: str
    industry_name: str
    holder_name: str
    department_code: str
    permits: list[str]
    status: ReviewStatus
    status_label: str
    round: int
    assignee: str | None
    opened_at: datetime
    claimed_at: datetime | None
    age_hours: float = Field(description="进入队列已多少小时")
    sla_level: str = Field(description="红黄绿灯督办：green | yellow | red | past_statutory")
    sla_label: str = Field(description="督办等级（中文）")
    sla_remaining_days: int = Field(description="距承诺时限剩余工作日（负数为已超期）")
    due_on: date | None = Field(default=None, description="承诺办结日（按工作日计）")
    due_on_provisional: bool = Field(
        default=False, description="按常规工作日推算、待节假日安排公布后校正（期限计入的年度尚无节假日安排）"
    )
    version: int


class QueuePage(Page):
    items: list[QueueItemOut]


class DecisionOut(BaseModel):
    round: int
    decision: Decision
    decision_label: str
    opinion: str | None
    requested_items: list[str]
    actor: str
    at: datetime


class ReviewDetail(QueueItemOut):
    key_fields: dict[str, Any] = Field(description="本部门需要的关键字段（结构化数据）")
    suggested_opinion: str | None = Field(description="辅助审批：系统建议的审查意见")
    decision: Decision | None
    decision_label: str | None
    opinion: str | None
    requested_items: list[ItemOut]
    requestable_items: list[ItemOut] = Field(description="本部门可要求补正的字段和材料")
    history: list[DecisionOut] = Field(description="历次审查决定")
    allowed_actions: list[Literal["claim", "release", "decide"]] = Field(
        description="当前用户此刻可执行的操作：claim 受理 | release 退回队列 | decide 作出审查决定"
    )


class VersionRequest(Request):
    expected_version: Version | None = None


class DecideRequest(Request):
    decision: Decision = Field(description="approve 同意 | reject 不同意 | supplement 需补正")
    opinion: Annotated[Text, Field(max_length=OPINION_MAX_CHARS)] | None = Field(
        default=None, description="审查意见（不同意、需补正时必填；同意时可不填）"
    )
    requested_items: list[ItemKey] = Field(
        default_factory=list,
        max_length=MAX_REQUESTED_ITEMS,
        description="需补正的字段键或材料编码（仅 supplement 时填写，须属于本部门的许可事项）",
    )
    expected_version: Version | None = None


# --- admin ----------------------------------------------------------------------------------------------


class ReasonRequest(Request):
    reason: Annotated[NotBlankText, Field(min_length=1, max_length=500)] = Field(description="原因（写入审计日志）")


class DeadLetterOut(BaseModel):
    message_id: str
    kind: str = Field(description="department_push 推送至部门系统 | aggregate 汇总并发证")
    kind_label: str
    application_id: str
    reference: str = Field(description="申请编号")
    department_code: str | None
    attempts: int
    last_error: str | None = Field(description="最后一次失败的原因")
    dead_at: datetime


class DeadLetterPage(Page):
    items: list[DeadLetterOut]


# --- catalog --------------------------------------------------------------------------------------------


class DepartmentOut(BaseModel):
    code: str
    name: str


class IndustryOut(BaseModel):
    code: str
    name: str
    description: str | None
    permit_count: int = Field(description="可能涉及的许可事项数")
    condition_keys: list[str] = Field(description="决定许可事项的经营范围问答字段")


class PermitOut(BaseModel):
    code: str
    name: str
    department_code: str
    department_name: str
    mandatory: bool
    commitment: str | None = Field(description="告知承诺类别")
    promised_days: int


class FormFieldOut(BaseModel):
    key: str
    label: str
    type: str
    section: str
    section_name: str
    required: bool
    choices: list[str] | None = None
    min: float | None = None
    max: float | None = None
    max_length: int
    help: str | None = None
    permits: list[str] = Field(description="需要此字段的许可事项")
    departments: list[str] = Field(description="需要此字段的部门")
    condition_for: list[str] = Field(description="此字段决定是否办理的许可事项")


class FormMaterialOut(BaseModel):
    code: str
    name: str
    core: bool
    required_now: bool = Field(description="是否须随申请提交（否则按告知承诺后补）")
    due_days: int | None
    permits: list[str]


class MergedFormOut(BaseModel):
    industry: IndustryOut
    conditions: dict[str, Any] = Field(description="生成表单所用的经营范围问答")
    permits: list[PermitOut]
    departments: list[DepartmentOut]
    fields: list[FormFieldOut]
    materials: list[FormMaterialOut]
    commitment_notice: str = Field(description="告知承诺书")


# --- obligations (承诺事项) ------------------------------------------------------------------------------


class ObligationOut(BaseModel):
    id: str
    license_id: str
    permit_code: str
    permit_name: str
    permit_number: str = Field(description="分项许可编号")
    department_code: str
    department_name: str
    kind: str = Field(description="supply 要件后补 | inspection 事后核查")
    kind_label: str
    commitment: str = Field(description="全信任 | 非核心要件信任 | 要件后补")
    materials: list[ItemOut] = Field(description="承诺后补或待核查的材料")
    due_on: date = Field(description="履约（或核查）期限，按工作日计")
    status: str
    status_label: str
    rectify_due_on: date | None = Field(description="限期整改的期限")
    publicity_until: date | None = Field(description="公示期最后一天")
    note: str | None = Field(description="最近一次的意见、问题或记录")
    statement: str | None = Field(default=None, description="持证人在公示期内的陈述申辩")
    statement_answer: str | None = Field(default=None, description="部门对陈述申辩的答复")
    repair_requested_on: date | None = Field(default=None, description="申请信用修复的日期")
    repair_due_on: date | None = Field(default=None, description="部门审核信用修复申请的期限（工作日）")
    provisional_dates: list[str] = Field(
        default_factory=list,
        description="其中按常规工作日推算、待节假日安排公布后校正的日期字段（due_on、rectify_due_on、publicity_until）",
    )
    version: int


class ObligationPage(Page):
    items: list[ObligationOut]


class FulfilmentRequest(Request):
    materials: Materials = Field(description="材料编码 → 已上传文件的引用（upload:<id>）")
    expected_version: Version | None = None


class VerifyRequest(Request):
    accept: bool = Field(description="true 核验通过 | false 核验不通过（须填写原因）")
    reason: Annotated[Text, Field(max_length=1000)] = ""
    expected_version: Version | None = None


class InspectionRequest(Request):
    passed: bool = Field(description="true 核查合格 | false 不合格（责令限期整改）")
    note: Annotated[Text, Field(max_length=1000)] = ""
    rectify_days: Annotated[int, Field(ge=1, le=180)] | None = Field(default=None, description="整改期限（工作日）")
    expected_version: Version | None = None


Note = Annotated[NotBlankText, Field(min_length=1, max_length=1000)]


class RectificationRequest(Request):
    reason: Note = Field(description="整改要求")
    days: Annotated[int, Field(ge=1, le=180)] | None = Field(default=None, description="整改期限（工作日）")
    expected_version: Version | None = None


class NoteRequest(Request):
    note: Note = Field(description="情况、理由或依据（写入记录）")
    expected_version: Version | None = None


class CreditOut(BaseModel):
    uscc: str
    standing: str = Field(description="守信 | 失信（至…） | 无记录")
    blocked_until: date | None
    reliable: bool


class StatementRequest(Request):
    statement: Annotated[NotBlankText, Field(max_length=2000, description="陈述申辩")]
    expected_version: Version | None = None


class AnswerRequest(Request):
    answer: Annotated[NotBlankText, Field(max_length=2000, description="对陈述申辩的答复")]
    expected_version: Version | None = None


class RepairRequest(Request):
    statement: Annotated[NotBlankText, Field(max_length=2000, description="信用修复申请说明")]
    evidence: Materials = Field(description="证明材料：名称 → 文件引用（upload:<id>），至少一份")
    expected_version: Version | None = None


class DrawnOut(BaseModel):
    department_code: str
    permit_number: str
    permit_name: str
    holder_name: str
    license_number: str


class DrawOut(BaseModel):
    id: str
    drawn_at: datetime
    drawn_on: date
    day_sequence: int = Field(description="当日第几次抽取（大于 1 为重抽）")
    reason: str | None = Field(description="重抽原因")
    drawn_by: str = Field(description="抽取人")
    seed: str
    quotas: dict[str, int] = Field(description="部门代码 → 抽取数量")
    population_digest: str = Field(description="抽取对象范围的摘要，可据以复算")
    reproducible: bool = Field(description="按种子复算结果一致")
    selected: list[DrawnOut] = Field(description="抽中的许可（审批人员只看到本部门的）")


class DrawPageOut(Page):
    items: list[DrawOut]


class NotificationOut(BaseModel):
    id: str
    event: str
    subject: str
    body: str
    created_at: datetime
    read: bool


class NotificationPage(Page):
    items: list[NotificationOut]
    unread: int = Field(description="未读通知数")


# --- the holder's license (变更, 延续, 注销) ----------------------------------------------------------------


class ChangeRequest(Request):
    answers: Document = Field(description="变更的字段（字段键 → 新值），可含经营范围问答（增加许可事项）")
    materials: Materials = Field(default_factory=dict, description="新增许可所需的材料：材料编码 → 文件引用")
    reason: Annotated[Text, Field(max_length=500)] = ""


class RenewalRequest(Request):
    permit_codes: list[Code] = Field(
        default_factory=list, max_length=50, description="要延续的许可；留空则为 90 天内届满的全部有效许可"
    )
    answers: Document = Field(default_factory=dict, description="延续时更新的字段（通常为空：沿用现有信息）")
    materials: Materials = Field(default_factory=dict)


class LicenseRequestOut(BaseModel):
    license_number: str
    application_id: str | None = Field(description="部门审查的变更/延续申请；登记事项变更即时办结时为空")
    changed_fields: list[str]
    added_permits: list[str]
    removed_permits: list[str]
    departments: list[str] = Field(description="重新审查的部门")
    edition: int = Field(description="许可证当前版次")


# --- supervision ----------------------------------------------------------------------------------------


class DepartmentLightsOut(BaseModel):
    """One department's open reviews by colour (在办件红黄绿灯)."""

    department_code: str
    department_name: str
    green: int
    yellow: int
    red: int
    past_statutory: int = Field(description="超过法定时限")
    total: int


class SupervisedCaseOut(BaseModel):
    """An open review at yellow or worse (督办件)."""

    review_id: str
    application_id: str
    reference: str = Field(description="申请编号")
    industry_code: str
    department_code: str
    level: Literal["yellow", "red", "past_statutory"]
    level_label: str
    due_on: date | None = Field(description="承诺办结日")
    opened_at: datetime = Field(description="受理时间（ISO 8601，含时区）")


class StatusCountOut(BaseModel):
    status: str
    label: str
    count: int


class SupervisionBoardOut(BaseModel):
    """The supervision board (督办看板) as of `today` (China's date)."""

    today: date
    departments: list[DepartmentLightsOut]
    cases_total: int = Field(description="督办件总数（cases 最多列出 500 件）")
    cases: list[SupervisedCaseOut]
    statuses: list[StatusCountOut] = Field(description="各状态的申请数（含 0）")
