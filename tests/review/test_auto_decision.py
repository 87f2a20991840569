"""秒批 (instant approval) decides only for the industries its rules were written for: answers that satisfy every
rule of a beauty shop's 公共场所卫生许可 grant nothing to a hotel, a pool, a KTV or a cinema (issue 17, finding H2).
The catalog test searches the answers the rules read for every permit with rules and every industry offering it."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from onelicense.forms.catalog import get_catalog
from onelicense.forms.model import Catalog, FieldSpec, FieldType, Industry, Permit
from onelicense.review.auto_decision import auto_decision

CATALOG = get_catalog()
# a small beauty shop without central air conditioning (as tests.builders.SMALL_SHOP, without its service imports)
SMALL_SHOP = {
    "public_venue_category": "美容店",
    "floor_area": 80,
    "employee_count": 6,
    "air_conditioning_type": "分体式空调",
}
WITH_RULES = [p for p in CATALOG.permits.values() if p.auto_approve is not None]


def _offering(permit: Permit) -> list[Industry]:
    return [i for i in CATALOG.industries.values() if any(item.permit == permit.code for item in i.permits)]


def _numbers(permit: Permit) -> set[float]:
    """The numbers the permit's rules compare with."""
    assert permit.auto_approve is not None
    return {
        float(node.value)
        for rule in permit.auto_approve.rules
        for node in ast.walk(rule.check.tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)
    }


def _candidates(spec: FieldSpec, numbers: set[float]) -> list[Any]:
    """The answers worth trying for a field a rule reads: every choice, both booleans, the numbers around each
    threshold and the field's bounds (within them), or unanswered."""
    match spec.type:
        case FieldType.ENUM:
            return [*(spec.choices or ()), None]
        case FieldType.BOOLEAN:
            return [True, False, None]
        case FieldType.INTEGER | FieldType.DECIMAL:
            values = {v + d for v in numbers for d in (-1, 0, 1)} | {v for v in (spec.min, spec.max) if v is not None}
            values = {v for v in values if (spec.min is None or v >= spec.min) and (spec.max is None or v <= spec.max)}
            cast = int if spec.type == FieldType.INTEGER else float
            return [*sorted({cast(v) for v in values}), None]
    return [None]


def _answers(permit: Permit, catalog: Catalog, industry: Industry | None = None) -> Iterator[dict[str, Any]]:
    """Every combination of candidate answers to the fields the permit's rules read; with `industry`, enums offer
    only the choices the industry's merged form offers (what validation lets through)."""
    assert permit.auto_approve is not None
    keys = sorted({name for rule in permit.auto_approve.rules for name in rule.check.names})
    specs = [catalog.fields[k] if industry is None else industry.field_spec(catalog.fields[k]) for k in keys]
    numbers = _numbers(permit)
    for values in itertools.product(*(_candidates(spec, numbers) for spec in specs)):
        yield {k: v for k, v in zip(keys, values, strict=True) if v is not None}


def _passing(permit: Permit, industry: Industry | None = None) -> list[dict[str, Any]]:
    """The answers under which every rule of the permit holds (whatever the industry)."""
    assert permit.auto_approve is not None
    rules = permit.auto_approve.rules
    return [a for a in _answers(permit, CATALOG, industry) if all(r.check.evaluate(a) is True for r in rules)]


def test_the_shipped_catalog_has_rules_bound_to_industries():
    assert WITH_RULES, "the shipped catalog declares instant-approval rules"
    for permit in WITH_RULES:
        assert permit.auto_approve is not None and permit.auto_approve.industries


@pytest.mark.parametrize("permit", WITH_RULES, ids=lambda p: p.code)
def test_no_instant_rule_lets_an_industry_it_was_not_written_for_pass(permit: Permit) -> None:
    """For every industry offering the permit, every answer combination that satisfies each rule is eligible
    exactly when the industry is one the rules name."""
    assert permit.auto_approve is not None
    passing = _passing(permit)  # from the field dictionary's full choices: validation bypassed, say by stored data
    assert passing, f"no answers satisfy the rules of {permit.code}: the search is too narrow"
    for industry in _offering(permit):
        written_for = industry.code in permit.auto_approve.industries
        verdicts = {auto_decision([permit], answers, industry_code=industry.code).eligible for answers in passing}
        assert verdicts == {written_for}, f"{permit.code} for {industry.code}"
        if not written_for:
            verdict = auto_decision([permit], passing[0], industry_code=industry.code)
            assert verdict.uncovered == (permit.code,) and verdict.results == ()


@pytest.mark.parametrize("permit", WITH_RULES, ids=lambda p: p.code)
def test_the_rules_pass_within_the_choices_of_the_industries_they_name_only(permit: Permit) -> None:
    """A second lock: within the choices an industry's form offers, the rules can pass for the industries they were
    written for (they are not dead) and for no other industry."""
    assert permit.auto_approve is not None
    for industry in _offering(permit):
        reachable = bool(_passing(permit, industry))
        assert reachable == (industry.code in permit.auto_approve.industries), f"{permit.code} for {industry.code}"


def test_a_small_beauty_shop_is_eligible_and_a_hotel_giving_the_same_answers_is_not():
    health = CATALOG.permits["PUBLIC_HEALTH"]
    assert health.auto_approve is not None
    shop = auto_decision([health], SMALL_SHOP, industry_code="BEAUTY_SALON")
    assert shop.eligible and not shop.failed and shop.uncovered == ()
    assert [r.rule for r in shop.results] == [rule.check.source for rule in health.auto_approve.rules]
    for industry_code in ("HOTEL", "SWIMMING_POOL", "KTV", "CINEMA", "GYM"):
        verdict = auto_decision([health], SMALL_SHOP, industry_code=industry_code)
        assert not verdict.eligible and verdict.uncovered == ("PUBLIC_HEALTH",), industry_code


def test_a_department_with_a_permit_without_rules_is_never_eligible():
    health, fire = CATALOG.permits["PUBLIC_HEALTH"], CATALOG.permits["FIRE_SAFETY_CHECK"]
    assert fire.auto_approve is None
    verdict = auto_decision([health, fire], SMALL_SHOP, industry_code="BEAUTY_SALON")
    assert not verdict.eligible and verdict.uncovered == ("FIRE_SAFETY_CHECK",)
    assert not auto_decision([], SMALL_SHOP, industry_code="BEAUTY_SALON").eligible
