"""Pre-review (预审): the catalog's per-permit rules run against a validated form, producing findings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from onelicense.forms.merge import MergedForm
from onelicense.forms.model import Severity


@dataclass(frozen=True)
class Finding:
    permit_code: str
    permit_name: str
    department_code: str
    department_name: str
    severity: Severity
    message: str
    rule: str

    def as_dict(self) -> dict[str, str]:
        return {
            "permit_code": self.permit_code,
            "permit_name": self.permit_name,
            "department_code": self.department_code,
            "department_name": self.department_name,
            "severity": self.severity.value,
            "severity_label": self.severity.label,
            "message": self.message,
            "rule": self.rule,
        }


def prereview(form: MergedForm, answers: Mapping[str, Any]) -> list[Finding]:
    """Every rule of the selected permits that does not hold. Rules over unanswered fields are skipped."""
    findings = []
    for permit in form.permits:
        department = form.catalog.departments[permit.department]
        for rule in permit.rules:
            if rule.check.evaluate(answers) is False:
                findings.append(
                    Finding(
                        permit_code=permit.code,
                        permit_name=permit.name,
                        department_code=department.code,
                        department_name=department.name,
                        severity=rule.severity,
                        message=rule.message,
                        rule=rule.check.source,
                    )
                )
    return findings


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.BLOCKING]
