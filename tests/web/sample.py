"""Valid application data for any industry of the shipped catalog, built from its merged form.

Values are plain and plausible (counts of 20, areas of 200 m²) so the catalog's blocking pre-review rules hold;
tests change one thing at a time from here."""

from __future__ import annotations

import itertools
from typing import Any

from onelicense.forms.identifiers import uscc_check_char
from onelicense.forms.merge import MergedForm, merge_form
from onelicense.forms.model import FieldSpec, FieldType

USCC_BODY = "91500000MA5U7K2X3"
SMALL_INDUSTRY = "ELDERLY_CARE"  # two departments (WSJK, XFJY) when no condition holds


def sample_value(spec: FieldSpec) -> Any:
    match spec.type:
        case FieldType.TEXT | FieldType.ADDRESS:
            return f"测试{spec.label}"[: spec.length_cap]
        case FieldType.INTEGER:
            return int(min(spec.max if spec.max is not None else 20, max(spec.min or 0, 20)))
        case FieldType.DECIMAL:
            return float(min(spec.max if spec.max is not None else 200, max(spec.min or 0, 200)))
        case FieldType.DATE:
            return "2025-01-01"
        case FieldType.ENUM:
            return (spec.choices or ("",))[0]
        case FieldType.BOOLEAN:
            return False
        case FieldType.PHONE:
            return "13800138000"
        case FieldType.USCC:
            return USCC_BODY + uscc_check_char(USCC_BODY)
        case FieldType.ID_NUMBER:
            return "11010519491231002X"
        case FieldType.EMAIL:
            return "contact@example.cn"
    raise AssertionError(spec.type)


def sample_form(industry_code: str = SMALL_INDUSTRY, **conditions: Any) -> MergedForm:
    from onelicense.forms.catalog import get_catalog

    industry = get_catalog().industries[industry_code]
    answers = {key: False for key in industry.condition_keys if get_catalog().fields[key].type is FieldType.BOOLEAN}
    answers.update(conditions)
    return merge_form(industry_code, answers)


_premises = itertools.count(1)
USCC = USCC_BODY + uscc_check_char(USCC_BODY)  # the business every test applicant account acts for
LEGAL_REP_PHONE = "13900000001"  # its legal representative's mobile in the registry's stand-in
# the registry's record of it: the name and representative the sample answers give, so a submission reads the same
REGISTERED = {
    "uscc": USCC,
    "name": "测试经营者名称",
    "legal_representative": "测试法定代表人（负责人、经营者）",
    "legal_rep_phone": LEGAL_REP_PHONE,
    "status": "存续",
}


def submission_body(industry_code: str = SMALL_INDUSTRY, **conditions: Any) -> dict[str, Any]:
    """A JSON body for POST /api/applications that the service accepts: each body for premises of their own (one
    holder may have one active application per industry and premises)."""
    form = sample_form(industry_code, **conditions)
    answers = {f.key: form.answers_to_conditions.get(f.key, sample_value(f.spec)) for f in form.fields}
    if "business_address" in answers:
        answers["business_address"] = f"{answers['business_address']}{next(_premises)}号"
    return {
        "industry_code": industry_code,
        "answers": answers,
        "materials": {m.code: f"file://{m.code}.pdf" for m in form.materials},
        "commitment_accepted": True,
    }
