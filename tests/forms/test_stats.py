"""The reform's figures are computed from the data."""

from __future__ import annotations

from forms.catalog import get_catalog
from forms.stats import Comparison, catalog_figures, composite_promised_days, industry_figures


def test_small_catalog_figures_follow_from_the_data(small_catalog):
    row = industry_figures(small_catalog.industries["DINER"], small_catalog)
    # FOOD 6 + FIRE_CHECK 4 + POOL_HEALTH 4 fields the old way; 9 distinct incl. the has_pool question
    assert row.fields == Comparison(14, 9)
    assert row.materials == Comparison(6, 3)
    assert row.steps == Comparison(15, 5)
    assert row.windows == Comparison(3, 1)
    # statutory 20+10+20 in sequence; promised: FOOD (5) follows FIRE_CHECK (3) = 8, POOL_HEALTH 10 in parallel
    assert row.days == Comparison(50, 10)
    assert round(row.days.reduction, 4) == 0.8


def test_chain_of_follows_adds_up(small_catalog):
    permits = [small_catalog.permits[c] for c in ("FOOD", "FIRE_CHECK")]
    assert composite_promised_days(permits) == 8
    assert composite_promised_days([small_catalog.permits["FOOD"]]) == 5  # the chain's head is not selected


def test_shipped_catalog_totals_are_the_sum_of_the_industries():
    figures = catalog_figures(get_catalog())
    assert figures.industries == len(figures.per_industry) >= 13
    assert figures.fields.separate == sum(r.fields.separate for r in figures.per_industry)
    assert figures.days.merged == sum(r.days.merged for r in figures.per_industry)
    for row in figures.per_industry:
        assert row.fields.separate >= row.fields.merged > 0
        assert row.days.separate >= row.days.merged > 0
        assert 0 <= row.fields.reduction < 1
    assert figures.fields.reduction > 0.5
