"""Typed errors of the forms domain; each carries what a user needs to fix the problem.

All derive from the one root in `onelicense.errors`, which says how each kind is answered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from onelicense.errors import Broken, InvalidRequest, NotFound


class CatalogError(Broken):
    """The catalog data is invalid. `problems` lists every problem found, each naming file and entry."""

    def __init__(self, problems: list[CatalogProblem]):
        self.problems = problems
        super().__init__("行业目录数据有误：\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class CatalogProblem:
    file: str
    entry: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file} [{self.entry}]: {self.problem}"


class ExpressionError(Broken, ValueError):
    """A `when` / `check` expression uses something the safe expression language does not allow (a ValueError
    too, so the catalog's pydantic models report it as a problem of the entry)."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one submitted field: key, its Chinese label, and the reason in Chinese."""

    key: str
    label: str
    reason: str

    def __str__(self) -> str:
        return f"{self.label}（{self.key}）：{self.reason}"

    @property
    def for_person(self) -> str:
        """The problem as a page tells the applicant: the label and the reason, no key (the API keeps the key)."""
        return f"{self.label}：{self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label, "reason": self.reason, "message": str(self)}


class UnknownIndustry(NotFound):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"未知行业：{code}")

    def error_dicts(self) -> list[dict[str, Any]]:
        return [FieldError("industry_code", "行业", self.message).as_dict()]


class ValidationFailed(InvalidRequest):
    """A submitted form does not match its merged form; `errors` names every bad field."""

    def __init__(self, errors: list[FieldError], prefix: str = "表单校验未通过"):
        self.errors = errors
        self.prefix = prefix
        super().__init__(f"{prefix}：" + "；".join(str(e) for e in errors))

    @property
    def for_person(self) -> str:
        """The message without field keys, for a page."""
        return f"{self.prefix}：" + "；".join(e.for_person for e in self.errors)

    def error_dicts(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]


class SubmissionRefused(InvalidRequest):
    """Pre-review (预审) found blocking problems: nothing was stored. `findings` are the 预审 results as dicts."""

    def __init__(self, findings: Sequence[Mapping[str, Any]]):
        super().__init__("申请未通过预审：" + "；".join(str(f.get("message")) for f in findings), findings=findings)
