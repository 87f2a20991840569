"""A complete, valid sample application for any industry: used by the demo and the benchmark.

Common facts come from demo/data/demo_applicant.yaml; every other field is derived from its type and
constraints, so a new industry in the catalog gets a valid sample without code changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from onelicense.forms.identifiers import id_number_check_char, uscc_check_char
from onelicense.forms.merge import MergedForm, merge_form
from onelicense.forms.model import Catalog, FieldSpec, FieldType
from onelicense.licenses.document import PermitEntry, numbered_permits
from onelicense.licenses.status import validity_end
from onelicense.services.catalog import catalog as current_catalog

APPLICANT_FILE = Path(__file__).with_name("data") / "demo_applicant.yaml"


@dataclass(frozen=True)
class SampleApplication:
    industry_code: str
    answers: dict[str, Any]
    materials: dict[str, str]
    form: MergedForm

    @property
    def conditions(self) -> dict[str, Any]:
        """The answers to the industry's scope questions (经营范围问答) that chose the permits."""
        return {k: self.answers[k] for k in self.form.industry.condition_keys if k in self.answers}


def widest_industry(catalog: Catalog | None = None) -> str:
    """The industry whose yes/no questions reach the most departments (all nine in the shipped catalog)."""
    catalog = catalog or current_catalog()

    def reach(code: str) -> int:
        return len(merge_form(code, _all_yes(catalog, code), catalog).departments)

    return max(catalog.industries, key=reach)


def widest_permits(number: str, issued_on: date, valid_until: date | None = None) -> tuple[PermitEntry, ...]:
    """Every permit of the industry with the most, numbered under license `number`: the longest permit table and
    the largest token (benchmarks and the certificate's limit tests). Each valid until `valid_until`, or by default
    for its own validity from `issued_on`."""
    catalog = current_catalog()
    industry = max(catalog.industries.values(), key=lambda i: len(i.permits))
    permits = []
    for item in industry.permits:
        spec = catalog.permits[item.permit]
        permits.append(
            PermitEntry(
                code=item.permit,
                name=spec.name,
                department_code=spec.department,
                department_name=catalog.departments[spec.department].name,
                number="",
                issued_on=issued_on,
                valid_until=valid_until or validity_end(issued_on, spec.validity_years),
            )
        )
    return numbered_permits(number, permits)


def _all_yes(catalog: Catalog, industry_code: str) -> dict[str, bool]:
    industry = catalog.industries[industry_code]
    return {k: True for k in industry.condition_keys if catalog.fields[k].type == FieldType.BOOLEAN}


def sample_application(
    industry_code: str | None = None, *, serial: int = 0, conditions: dict[str, Any] | None = None
) -> SampleApplication:
    """A valid application answering yes to every yes/no question, or `conditions` as given (unanswered yes/no
    questions then mean no); `serial` varies the holder and USCC."""
    catalog = current_catalog()
    code = industry_code or widest_industry(catalog)
    if conditions is None:
        conditions = _all_yes(catalog, code)
    else:
        conditions = {**{k: False for k in _all_yes(catalog, code)}, **conditions}
    known = yaml.safe_load(APPLICANT_FILE.read_text(encoding="utf-8")) or {}
    answers: dict[str, Any] = dict(conditions)
    # numeric conditions (e.g. floor area thresholds) depend on the answers themselves: merge until stable
    for _ in range(5):
        form = merge_form(code, answers, catalog)
        missing = [f for f in form.fields if f.key not in answers]
        if not missing:
            break
        for field in missing:
            if field.key in known and _fits(field.spec, known[field.key]):
                answers[field.key] = known[field.key]
            else:
                answers[field.key] = _value_for(field.spec, serial)
    answers = {f.key: answers[f.key] for f in form.fields}
    if serial and "holder_name" in answers:
        answers["holder_name"] = f"{answers['holder_name']}（{serial}号店）"
    materials = {m.code: f"材料库/{m.code}.pdf" for m in form.materials if m.required_now}
    return SampleApplication(code, answers, materials, form)


def _fits(spec: FieldSpec, value: Any) -> bool:
    """Whether a demo applicant's answer fits the field as the industry asks it (an enum may be narrowed)."""
    if spec.type == FieldType.ENUM:
        return value in (spec.choices or ())
    if spec.type in (FieldType.INTEGER, FieldType.DECIMAL):
        lo = spec.min if spec.min is not None else float("-inf")
        hi = spec.max if spec.max is not None else float("inf")
        return isinstance(value, int | float) and lo <= value <= hi
    return True


def _value_for(spec: FieldSpec, serial: int) -> Any:
    match spec.type:
        case FieldType.TEXT | FieldType.ADDRESS:
            return f"示例{spec.label}"[: spec.length_cap]
        case FieldType.INTEGER | FieldType.DECIMAL:
            lo = spec.min if spec.min is not None else 0
            hi = spec.max if spec.max is not None else lo + 100
            value = min(max(lo, 1), hi) if hi >= 1 else lo
            return int(value) if spec.type == FieldType.INTEGER else float(value)
        case FieldType.DATE:
            return "2026-12-01"
        case FieldType.ENUM:
            return (spec.choices or ("",))[0]
        case FieldType.BOOLEAN:
            return False
        case FieldType.PHONE:
            return "13983012345"
        case FieldType.USCC:
            first17 = f"91500107MA{serial:07d}"[:17]
            return first17 + uscc_check_char(first17)
        case FieldType.ID_NUMBER:
            first17 = "50010719800101123"
            return first17 + id_number_check_char(first17)
        case FieldType.EMAIL:
            return "applicant@example.cn"
    raise ValueError(spec.type)
