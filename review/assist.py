"""Assisted review (辅助审批): the system's suggested opinion for one department, from the pre-review findings."""

from __future__ import annotations

from collections.abc import Iterable

from onelicense.forms.merge import MergedForm
from onelicense.forms.prereview import Finding
from onelicense.forms.validation import PendingMaterial


def suggested_opinion(
    form: MergedForm,
    department_code: str,
    findings: Iterable[Finding],
    pending: Iterable[PendingMaterial] = (),
) -> str:
    """A draft opinion the reviewer can accept or rewrite: what the automatic checks found for its permits."""
    permits = form.permits_of(department_code)
    names = "、".join(p.name for p in permits)
    own = [f for f in findings if f.department_code == department_code]
    own_materials = {m.code for p in permits for m in p.materials}
    later = [m for m in pending if m.code in own_materials]
    lines = []
    if not own:
        lines.append(f"系统预审：{names}申报信息完整，关键字段符合许可条件，建议同意。")
    else:
        lines.append(f"系统预审：{names}有以下事项需人工核实：")
        lines.extend(f"  - [{f.severity.label}] {f.permit_name}：{f.message}" for f in own)
    if later:
        text = "、".join(m.name + (f"（{m.due_days}日内补交）" if m.due_days else "（告知承诺）") for m in later)
        lines.append(f"按告知承诺办理，待补材料：{text}。")
    return "\n".join(lines)
