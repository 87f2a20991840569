"""An industry narrows an enum of its merged form to the choices that fit it (a 游泳馆 is no 美容店): the loader checks
the narrowing, the merged form offers only those choices, and validation refuses the others naming key and label."""

from __future__ import annotations

import pytest

from onelicense.forms.catalog import get_catalog, load_catalog
from onelicense.forms.errors import CatalogError, ValidationFailed
from onelicense.forms.merge import merge_form
from onelicense.forms.stats import industry_figures
from onelicense.forms.validation import parse_conditions, validate_submission
from tests.forms.conftest import write_catalog
from tests.forms.test_validation import MATERIALS, _valid

VENUE = "public_venue_category"


def _diner(data):
    return data["industries.yaml"]["industries"][0]


def _problems(tmp_path, data) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(write_catalog(tmp_path / "bad", data))
    return [str(p) for p in info.value.problems]


def test_an_industry_narrows_an_enum_of_its_form(tmp_path, catalog_data):
    _diner(catalog_data)["choices"] = {"food_kind": ["热食"]}
    catalog = load_catalog(write_catalog(tmp_path / "catalog", catalog_data))
    form = merge_form("DINER", {"has_pool": True}, catalog)
    narrowed = form.field("food_kind")
    assert narrowed is not None and narrowed.spec.choices == ("热食",)
    assert catalog.fields["food_kind"].choices == ("热食", "冷食")  # the dictionary keeps every choice
    assert validate_submission(form, _valid(food_kind="热食"), MATERIALS).answers["food_kind"] == "热食"


def test_a_choice_outside_the_industrys_is_refused_naming_field_and_industry(tmp_path, catalog_data):
    _diner(catalog_data)["choices"] = {"food_kind": ["热食"]}
    catalog = load_catalog(write_catalog(tmp_path / "catalog", catalog_data))
    form = merge_form("DINER", {"has_pool": True}, catalog)
    with pytest.raises(ValidationFailed) as info:
        validate_submission(form, _valid(food_kind="冷食"), MATERIALS)
    [error] = info.value.errors
    assert (error.key, error.label) == ("food_kind", "食品类别")
    assert str(error) == "食品类别（food_kind）：“冷食”不适用于本行业（测试餐馆），应为以下选项之一：热食"
    with pytest.raises(ValidationFailed) as info:  # a value no industry has keeps the dictionary's reason
        validate_submission(form, _valid(food_kind="生食"), MATERIALS)
    assert info.value.errors[0].reason == "应为以下选项之一：热食"


def test_a_narrowed_scope_question_is_parsed_and_counted_as_the_industry_asks_it(tmp_path, catalog_data):
    catalog_data["fields.yaml"]["fields"].append(
        {"key": "pool_kind", "label": "泳池类型", "type": "enum", "section": "ask", "choices": ["室内", "室外"]}
    )
    _diner(catalog_data)["permits"][2]["when"] = "pool_kind == '室外'"
    _diner(catalog_data)["choices"] = {"pool_kind": ["室内"]}
    catalog = load_catalog(write_catalog(tmp_path / "catalog", catalog_data))
    industry = catalog.industries["DINER"]
    assert parse_conditions(industry, {"pool_kind": "室内"}, catalog) == ({"pool_kind": "室内"}, [])
    _, [problem] = parse_conditions(industry, {"pool_kind": "室外"}, catalog)
    assert (problem.key, problem.label) == ("pool_kind", "泳池类型") and "不适用于本行业" in problem.reason
    # the figures' worst case tries only the industry's choices: 室外 (which would add the pool permit) is not one
    figures = industry_figures(industry, catalog)
    assert figures.answers == {"pool_kind": "室内"} and "POOL_HEALTH" not in figures.permit_codes


@pytest.mark.parametrize(
    ("choices", "problem"),
    [
        ({"no_such_field": ["x"]}, "choices.no_such_field: 未知字段 'no_such_field'"),
        ({"floor_area": ["100"]}, "choices.floor_area: 只有枚举字段可以收窄选项"),
        ({"food_kind": []}, "choices.food_kind: 至少保留一个选项"),
        ({"food_kind": ["生食"]}, "choices.food_kind: '生食' 不是字段词典中“食品类别”的选项"),
        ({"food_kind": ["热食", "热食"]}, "choices.food_kind: 选项 '热食' 重复列出"),
        ({"venue_kind": ["商场"]}, "choices.venue_kind: 本行业的合并表单中没有此字段"),
    ],
)
def test_a_bad_narrowing_is_named(tmp_path, catalog_data, choices, problem):
    catalog_data["fields.yaml"]["fields"].append(
        {"key": "venue_kind", "label": "场所类别", "type": "enum", "section": "site", "choices": ["商场", "书店"]}
    )
    _diner(catalog_data)["choices"] = choices
    assert _problems(tmp_path, catalog_data) == [f"industries.yaml [DINER]: {problem}"]


# ---------------------------------------------------------------- the shipped catalog (finding H2 of issue 17)


def _venue_choices(industry_code: str) -> tuple[str, ...]:
    catalog = get_catalog()
    industry = catalog.industries[industry_code]
    answers = {k: True for k in industry.condition_keys if catalog.fields[k].type == "boolean"}
    field = merge_form(industry_code, answers, catalog).field(VENUE)
    assert field is not None and field.spec.choices is not None
    return field.spec.choices


def test_every_industry_with_a_public_venue_asks_only_the_categories_that_fit_it():
    catalog = get_catalog()
    venues = [
        code
        for code, industry in catalog.industries.items()
        if any(VENUE in catalog.permits[item.permit].fields for item in industry.permits)
    ]
    assert venues, "the shipped catalog has industries asking the public venue category"
    every = catalog.fields[VENUE].choices
    for code in venues:
        assert set(_venue_choices(code)) < set(every or ()), f"{code} offers every venue category"


@pytest.mark.parametrize(
    ("industry_code", "expected"),
    [
        ("HOTEL", ("宾馆旅店",)),
        ("SWIMMING_POOL", ("游泳场所",)),
        ("GYM", ("游泳场所", "其他公共场所")),
        ("KTV", ("歌舞厅",)),
        ("CINEMA", ("影剧院",)),
        ("BEAUTY_SALON", ("美容店", "理发店")),
    ],
)
def test_the_shipped_venue_categories_per_industry(industry_code, expected):
    assert _venue_choices(industry_code) == expected
