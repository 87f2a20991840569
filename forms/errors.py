"""Typed errors of the forms domain; each carries what a user needs to fix the problem."""

from __future__ import annotations

from dataclasses import dataclass


class CatalogError(Exception):
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


class ExpressionError(ValueError):
    """A `when` / `check` expression uses something the safe expression language does not allow."""


class UnknownIndustry(KeyError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"未知行业：{code}")

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class FieldError:
    """One problem with one submitted field: key, its Chinese label, and the reason in Chinese."""

    key: str
    label: str
    reason: str

    def __str__(self) -> str:
        return f"{self.label}（{self.key}）：{self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label, "reason": self.reason, "message": str(self)}


class ValidationFailed(ValueError):
    """A submitted form does not match its merged form; `errors` names every bad field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("表单校验未通过：" + "；".join(str(e) for e in errors))
