"""Figures of the reform, computed from the catalog data: fields, materials, steps and time, old way vs merged.

Per industry the figures use its full scope (every conditional permit included), so they are the most an
applicant of that industry could have to do the old way.
"""

from __future__ import annotations

from dataclasses import dataclass

from forms.catalog import get_catalog
from forms.model import Catalog, Industry, Permit


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
    permits: int
    departments: int
    fields: Comparison
    materials: Comparison
    steps: Comparison
    windows: Comparison
    days: Comparison  # sequential statutory limits vs composite promised limit


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


def industry_figures(industry: Industry, catalog: Catalog) -> IndustryFigures:
    permits = [catalog.permits[item.permit] for item in industry.permits]
    full_form_fields = {key for p in permits for key in p.fields} | set(industry.condition_keys)
    full_materials = {m.code for p in permits for m in p.materials}
    departments = {p.department for p in permits}
    steps = len(catalog.procedure_steps)
    return IndustryFigures(
        code=industry.code,
        name=industry.name,
        permits=len(permits),
        departments=len(departments),
        fields=Comparison(sum(len(p.fields) for p in permits), len(full_form_fields)),
        materials=Comparison(sum(len(p.materials) for p in permits), len(full_materials)),
        steps=Comparison(len(permits) * steps, steps),
        windows=Comparison(len(departments), 1),
        days=Comparison(sum(p.statutory_days for p in permits), composite_promised_days(permits)),
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
