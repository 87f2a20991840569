"""Key-field extraction: the structured subset of an application that one department needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onelicense.forms.merge import MergedForm


def department_payload(
    form: MergedForm, answers: Mapping[str, Any], materials: Mapping[str, str], department_code: str
) -> dict[str, Any]:
    """The department's permits, only the fields those permits need, and only their materials."""
    permits = form.permits_of(department_code)
    if not permits:
        raise KeyError(f"部门 {department_code} 不参与本次申请")
    field_keys = list(dict.fromkeys(k for p in permits for k in p.fields))
    material_codes = list(dict.fromkeys(m.code for p in permits for m in p.materials))
    labels = {f.key: f.label for f in form.fields}
    return {
        "industry": {"code": form.industry.code, "name": form.industry.name},
        "department": {"code": department_code, "name": form.catalog.departments[department_code].name},
        "permits": [{"code": p.code, "name": p.name, "promised_days": p.promised_days} for p in permits],
        "fields": [{"key": k, "label": labels[k], "value": answers.get(k)} for k in field_keys],
        "materials": [
            {
                "code": code,
                "name": form.catalog.materials[code].name,
                "reference": materials.get(code),
                "pending": code not in materials,
            }
            for code in material_codes
        ],
    }
