"""The loader accepts the shipped catalog and rejects each kind of bad data with file, entry and problem."""

from __future__ import annotations

import shutil

import pytest
import yaml

from onelicense.forms.catalog import SHIPPED_CATALOG, get_catalog, load_catalog
from onelicense.forms.errors import CatalogError
from onelicense.forms.merge import merge_form
from tests.forms.conftest import write_catalog


def _problems(tmp_path, data) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(write_catalog(tmp_path / "bad", data))
    return [str(p) for p in info.value.problems]


def _permit(data, code):
    return next(p for p in data["permits.yaml"]["permits"] if p["code"] == code)


def test_shipped_catalog_meets_the_reform_floor():
    catalog = get_catalog()
    assert len(catalog.departments) == 9
    assert len(catalog.permits) >= 40
    assert len(catalog.industries) >= 13
    every_department = set(catalog.departments)
    spans_all = [
        code
        for code, industry in catalog.industries.items()
        if {catalog.permits[p.permit].department for p in industry.permits} == every_department
    ]
    assert spans_all, "at least one industry must be able to need all nine departments"


def test_an_industry_reaches_all_nine_departments_through_its_condition_answers():
    catalog = get_catalog()
    for industry in catalog.industries.values():
        answers = {key: True for key in industry.condition_keys if catalog.fields[key].type == "boolean"}
        form = merge_form(industry.code, answers, catalog)
        if len(form.departments) == len(catalog.departments):
            return
    pytest.fail("no industry spans all nine departments when its yes/no questions are answered yes")


def test_every_permit_is_offered_by_some_industry():
    catalog = get_catalog()
    offered = {p.permit for i in catalog.industries.values() for p in i.permits}
    assert set(catalog.permits) - offered == set()


def test_valid_small_catalog_loads(small_catalog):
    assert set(small_catalog.permits) == {"FOOD", "FIRE_CHECK", "POOL_HEALTH"}
    assert small_catalog.industries["DINER"].condition_keys == ["has_pool"]


def test_unknown_field_key_is_named(tmp_path, catalog_data):
    _permit(catalog_data, "FOOD")["fields"].append("no_such_field")
    assert _problems(tmp_path, catalog_data) == ["permits.yaml [FOOD]: 未知字段 'no_such_field'"]


def test_permit_of_unknown_department_is_named(tmp_path, catalog_data):
    _permit(catalog_data, "FIRE_CHECK")["department"] = "NOWHERE"
    assert _problems(tmp_path, catalog_data) == ["permits.yaml [FIRE_CHECK]: 未知部门 'NOWHERE'"]


def test_duplicate_codes_are_named(tmp_path, catalog_data):
    catalog_data["departments.yaml"]["departments"].append({"code": "MKT", "name": "又一个"})
    catalog_data["fields.yaml"]["fields"].append({"key": "uscc", "label": "重复", "type": "text", "section": "holder"})
    problems = _problems(tmp_path, catalog_data)
    assert "departments.yaml [MKT]: 重复的编码 'MKT'" in problems
    assert "fields.yaml [uscc]: 重复的编码 'uscc'" in problems


def test_follows_cycle_is_named(tmp_path, catalog_data):
    _permit(catalog_data, "FIRE_CHECK")["follows"] = ["POOL_HEALTH"]
    _permit(catalog_data, "POOL_HEALTH")["follows"] = ["FOOD"]
    problems = _problems(tmp_path, catalog_data)
    assert len(problems) == 1
    assert problems[0].startswith("permits.yaml [")
    assert "follows 存在循环" in problems[0]
    for code in ("FOOD", "FIRE_CHECK", "POOL_HEALTH"):
        assert code in problems[0]


def test_condition_on_unknown_field_is_named(tmp_path, catalog_data):
    catalog_data["industries.yaml"]["industries"][0]["permits"][2]["when"] = "has_sauna == true"
    assert _problems(tmp_path, catalog_data) == [
        "industries.yaml [DINER]: 条件 'has_sauna == true' 引用了未知字段 'has_sauna'"
    ]


def test_promised_limit_longer_than_statutory_is_named(tmp_path, catalog_data):
    _permit(catalog_data, "FOOD")["promised_days"] = 25
    assert _problems(tmp_path, catalog_data) == ["permits.yaml [FOOD]: 承诺时限 25 天长于法定时限 20 天"]


def test_rule_on_field_the_permit_does_not_collect_is_named(tmp_path, catalog_data):
    _permit(catalog_data, "FOOD")["rules"] = [{"check": "lifeguard_count > 0", "severity": "advisory", "message": "x"}]
    problems = _problems(tmp_path, catalog_data)
    assert problems == [
        "permits.yaml [FOOD]: 预审规则 'lifeguard_count > 0' 引用了本许可未收集的字段 'lifeguard_count'"
    ]


@pytest.mark.parametrize(
    "expression",
    ["__import__('os').system('true')", "floor_area.__class__", "[x for x in seat_count]", "open('f')", "lambda: 1"],
)
def test_unsafe_expressions_are_rejected_at_load(tmp_path, catalog_data, expression):
    catalog_data["industries.yaml"]["industries"][0]["permits"][2]["when"] = expression
    problems = _problems(tmp_path, catalog_data)
    assert len(problems) == 1
    assert problems[0].startswith("industries.yaml [DINER]: permits.2.when")


def test_several_problems_are_reported_together(tmp_path, catalog_data):
    _permit(catalog_data, "FOOD")["promised_days"] = 99
    _permit(catalog_data, "FIRE_CHECK")["department"] = "NOWHERE"
    assert len(_problems(tmp_path, catalog_data)) == 2


def test_missing_file_and_broken_yaml_are_named(tmp_path, catalog_data):
    folder = write_catalog(tmp_path / "bad", catalog_data)
    (folder / "materials.yaml").unlink()
    (folder / "industries.yaml").write_text("industries: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(folder)
    files = [p.file for p in info.value.problems]
    assert files == ["materials.yaml", "industries.yaml"]


def test_adding_an_industry_is_a_data_change_only(tmp_path):
    folder = tmp_path / "catalog"
    shutil.copytree(SHIPPED_CATALOG, folder)
    shipped = get_catalog()
    first, second = list(shipped.permits)[:2]
    industries = yaml.safe_load((folder / "industries.yaml").read_text(encoding="utf-8"))
    industries["industries"].append(
        {"code": "TEA_HOUSE_TEST", "name": "茶馆（测试新增）", "permits": [{"permit": first}, {"permit": second}]}
    )
    (folder / "industries.yaml").write_text(yaml.safe_dump(industries, allow_unicode=True), encoding="utf-8")
    catalog = load_catalog(folder)
    assert "TEA_HOUSE_TEST" not in shipped.industries
    form = merge_form("TEA_HOUSE_TEST", {}, catalog)
    assert [p.code for p in form.permits] == [first, second]
    expected = set(shipped.permits[first].fields) | set(shipped.permits[second].fields)
    assert set(form.field_keys) == expected
