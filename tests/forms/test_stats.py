"""The reform's figures are computed from the data."""

from __future__ import annotations

from onelicense.forms.catalog import get_catalog
from onelicense.forms.stats import Comparison, catalog_figures, composite_promised_days, industry_figures
from tests.forms.conftest import write_catalog


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


def _shop_catalog(tmp_path, catalog_data, when_food: str, when_pool: str):
    from onelicense.forms.catalog import load_catalog

    catalog_data["industries.yaml"]["industries"].append(
        {
            "code": "SHOP",
            "name": "测试门店",
            "permits": [
                {"permit": "FIRE_CHECK"},
                {"permit": "FOOD", "when": when_food},
                {"permit": "POOL_HEALTH", "when": when_pool},
            ],
        }
    )
    return load_catalog(write_catalog(tmp_path / "catalog", catalog_data))


def test_mutually_exclusive_permits_are_not_counted_together(tmp_path, catalog_data):
    catalog = _shop_catalog(tmp_path, catalog_data, "floor_area > 50", "floor_area <= 50")
    row = industry_figures(catalog.industries["SHOP"], catalog)
    # FOOD (6 fields) over 50 m² beats POOL_HEALTH (4 fields) at 50 m² or less; never both
    assert row.permit_codes == ("FIRE_CHECK", "FOOD")
    assert row.answers["floor_area"] > 50
    assert row.fields == Comparison(4 + 6, 7)  # FIRE_CHECK 4 + FOOD 6; 7 distinct (floor_area asked once)
    assert row.permits == 2
    assert row.windows == Comparison(2, 1)
    assert row.days == Comparison(30, 8)
    assert row.exhaustive


def test_a_condition_outside_the_fields_range_never_counts(tmp_path, catalog_data):
    # floor_area's max is 10000: a permit needing more cannot occur
    catalog = _shop_catalog(tmp_path, catalog_data, "floor_area > 10000", "has_pool")
    row = industry_figures(catalog.industries["SHOP"], catalog)
    assert row.permit_codes == ("FIRE_CHECK", "POOL_HEALTH")
    assert row.answers["has_pool"] is True


def test_too_many_combinations_fix_booleans_to_true(tmp_path, catalog_data, monkeypatch):
    import onelicense.forms.stats

    catalog = _shop_catalog(tmp_path, catalog_data, "floor_area > 50 and has_pool", "floor_area <= 50")
    monkeypatch.setattr(onelicense.forms.stats, "MAX_COMBINATIONS", 1)
    row = industry_figures(catalog.industries["SHOP"], catalog)
    assert not row.exhaustive
    assert row.answers["has_pool"] is True
    assert row.permit_codes == ("FIRE_CHECK", "FOOD")


def test_shipped_restaurant_never_counts_both_food_permits():
    catalog = get_catalog()
    row = industry_figures(catalog.industries["RESTAURANT"], catalog)
    assert not {"FOOD_BUSINESS", "SMALL_CATERING_REGISTRATION"} <= set(row.permit_codes)
    assert len(set(row.permit_codes) & {"FOOD_BUSINESS", "SMALL_CATERING_REGISTRATION"}) == 1
    assert row.permits == len(row.permit_codes) < len(catalog.industries["RESTAURANT"].permits)
    assert row.exhaustive
    store = industry_figures(catalog.industries["CONVENIENCE_STORE"], catalog)
    assert not {"FOOD_BUSINESS", "FOOD_PREPACKAGED_FILING"} <= set(store.permit_codes)
