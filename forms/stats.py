"""Figures of the reform, computed from the catalog data: fields, materials, steps and time, old way vs merged.

Per industry the figures are those of its worst case that can actually occur: the answers to the industry's
condition questions (经营范围问答) that make the old way longest, i.e. that maximise the sum of the selected permits'
field counts. Mutually exclusive permits (one needed over an area threshold, another at or under it) are
therefore never counted together. See `worst_case` for how the answers are searched.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from onelicense.forms.catalog import get_catalog
from onelicense.forms.merge import select_permits
from onelicense.forms.model import Catalog, FieldSpec, FieldType, Industry, Permit

# Up to this many combinations of candidate answers are tried one by one; above it booleans are fixed to True.
MAX_COMBINATIONS = 20_000


@dataclass(frozen=True)
class Comparison:
    separate: int  # the old way: one application per permit
    merged: int  # one industry service

    @property
    def reduction(self) -> float:
        """Share cut by the merge (0.8792 means 87.92% fewer)."""
        return 0.0 if self.separate == 0 else 1 - self.merged / self.separate

    def __add__(self, other: Comparison) -> Comparison:
        return Comparison(self.separate + other.separate, self.merged + other.merged)


@dataclass(frozen=True)
class IndustryFigures:
    code: str
    name: str
    permits: int  # permits selected in the worst case
    departments: int
    fields: Comparison
    materials: Comparison
    steps: Comparison
    windows: Comparison
    days: Comparison  # sequential statutory limits vs composite promised limit
    permit_codes: tuple[str, ...] = ()  # the permits selected in the worst case, in catalog order
    answers: dict[str, Any] = field(default_factory=dict)  # the worst case's answers to the condition questions
    exhaustive: bool = True  # False when booleans were fixed to True to keep the search small


@dataclass(frozen=True)
class CatalogFigures:
    departments: int
    permits: int
    industries: int
    per_industry: tuple[IndustryFigures, ...]
    fields: Comparison
    materials: Comparison
    steps: Comparison
    windows: Comparison
    days: Comparison


@dataclass(frozen=True)
class WorstCase:
    answers: dict[str, Any]
    permits: tuple[Permit, ...]
    exhaustive: bool


def composite_promised_days(permits: list[Permit]) -> int:
    """The longest chain of promised limits along `follows`; permits off a chain run in parallel."""
    by_code = {p.code: p for p in permits}
    memo: dict[str, int] = {}

    def finish(code: str) -> int:
        if code not in memo:
            permit = by_code[code]
            before = [finish(t) for t in permit.follows if t in by_code]
            memo[code] = permit.promised_days + max(before, default=0)
        return memo[code]

    return max((finish(p.code) for p in permits), default=0)


def _number(node: ast.AST) -> float | None:
    """The value of a numeric literal (possibly negated), else None."""
    match node:
        case ast.Constant(value=bool()):
            return None
        case ast.Constant(value=int() | float() as v):
            return v
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            inner = _number(operand)
            return None if inner is None else -inner
    return None


def _thresholds(industry: Industry) -> dict[str, set[float]]:
    """Per field key, the numbers compared against it in the industry's `when` expressions."""
    found: dict[str, set[float]] = {}
    for item in industry.permits:
        if item.when is None:
            continue
        for node in ast.walk(item.when.tree):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            for op, a, b in zip(node.ops, operands, operands[1:], strict=False):
                for name, other in ((a, b), (b, a)):
                    if not isinstance(name, ast.Name):
                        continue
                    if isinstance(op, ast.In | ast.NotIn) and isinstance(other, ast.List | ast.Tuple):
                        values = [_number(e) for e in other.elts]
                    else:
                        values = [_number(other)]
                    found.setdefault(name.id, set()).update(v for v in values if v is not None)
    return found


def _candidates(spec: FieldSpec, thresholds: set[float]) -> list[Any]:
    """The answers worth trying for a condition field; empty when the field is left unanswered."""
    match spec.type:
        case FieldType.BOOLEAN:
            return [True, False]
        case FieldType.ENUM:
            return list(spec.choices or ())
        case FieldType.INTEGER | FieldType.DECIMAL:
            values: set[float] = set()
            for t in thresholds:
                if spec.type == FieldType.INTEGER:
                    values.update({math.floor(t) - 1, math.floor(t), math.ceil(t), math.ceil(t) + 1})
                else:
                    values.update({t - 1, t, t + 1})
            values.update(v for v in (spec.min, spec.max) if v is not None)
            in_range = (
                v for v in values if (spec.min is None or v >= spec.min) and (spec.max is None or v <= spec.max)
            )
            cast = int if spec.type == FieldType.INTEGER else float
            return sorted({cast(v) for v in in_range})
    return []  # text, dates and the like: no condition in the catalog can be decided on them here


def _old_way_cost(permits: list[Permit]) -> tuple[int, int, int, int]:
    """What makes a selection worse the old way: fields first, then materials, statutory days, permits."""
    return (
        sum(len(p.fields) for p in permits),
        sum(len(p.materials) for p in permits),
        sum(p.statutory_days for p in permits),
        len(permits),
    )


def worst_case(industry: Industry, catalog: Catalog) -> WorstCase:
    """The answers to the industry's condition questions that maximise the old-way field count.

    Candidate answers per condition field: booleans True/False; enums their choices; integers and decimals the
    values around each number compared against the field in the industry's `when` expressions (t-1, t, t+1) and
    the field's min/max, kept within min/max; other types stay unanswered. Every combination is tried when there
    are at most MAX_COMBINATIONS of them; otherwise booleans are fixed to True and the other fields enumerated
    (not exhaustive then). Ties go to more materials, then more statutory days, then more permits, then the first
    combination tried (True before False, choices and numbers in order).
    """
    thresholds = _thresholds(industry)
    options: dict[str, list[Any]] = {}
    for key in industry.condition_keys:
        values = _candidates(industry.field_spec(catalog.fields[key]), thresholds.get(key, set()))
        if values:
            options[key] = values
    exhaustive = math.prod(len(v) for v in options.values()) <= MAX_COMBINATIONS
    if not exhaustive:
        options = {k: ([True] if catalog.fields[k].type == FieldType.BOOLEAN else v) for k, v in options.items()}
    best: WorstCase | None = None
    best_cost: tuple[int, ...] = ()
    seen: set[tuple[str, ...]] = set()
    for answers in _combinations(options):
        permits = select_permits(industry, answers, catalog)
        selection = tuple(p.code for p in permits)
        if selection in seen:
            continue
        seen.add(selection)
        cost = _old_way_cost(permits)
        if best is None or cost > best_cost:
            best, best_cost = WorstCase(answers, tuple(permits), exhaustive), cost
    assert best is not None  # the product of no options is one empty combination
    return best


def _combinations(options: Mapping[str, list[Any]]) -> Iterator[dict[str, Any]]:
    keys = list(options)
    for values in itertools.product(*(options[k] for k in keys)):
        yield dict(zip(keys, values, strict=True))


def industry_figures(industry: Industry, catalog: Catalog) -> IndustryFigures:
    case = worst_case(industry, catalog)
    permits = list(case.permits)
    merged_fields = {key for p in permits for key in p.fields} | set(industry.condition_keys)
    merged_materials = {m.code for p in permits for m in p.materials}
    departments = {p.department for p in permits}
    steps = len(catalog.procedure_steps)
    return IndustryFigures(
        code=industry.code,
        name=industry.name,
        permits=len(permits),
        departments=len(departments),
        fields=Comparison(sum(len(p.fields) for p in permits), len(merged_fields)),
        materials=Comparison(sum(len(p.materials) for p in permits), len(merged_materials)),
        steps=Comparison(len(permits) * steps, steps),
        windows=Comparison(len(departments), 1),
        days=Comparison(sum(p.statutory_days for p in permits), composite_promised_days(permits)),
        permit_codes=tuple(p.code for p in permits),
        answers=dict(case.answers),
        exhaustive=case.exhaustive,
    )


def catalog_figures(catalog: Catalog | None = None) -> CatalogFigures:
    catalog = catalog or get_catalog()
    rows = tuple(industry_figures(i, catalog) for i in catalog.industries.values())
    zero = Comparison(0, 0)
    return CatalogFigures(
        departments=len(catalog.departments),
        permits=len(catalog.permits),
        industries=len(catalog.industries),
        per_industry=rows,
        fields=sum((r.fields for r in rows), zero),
        materials=sum((r.materials for r in rows), zero),
        steps=sum((r.steps for r in rows), zero),
        windows=sum((r.windows for r in rows), zero),
        days=sum((r.days for r in rows), zero),
    )
