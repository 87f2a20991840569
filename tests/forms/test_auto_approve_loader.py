"""秒批 rules are bound to the industries they were written for: the loader refuses rules without industries, or
naming an unknown industry or one that does not offer the permit, each problem naming the file and the permit."""

from __future__ import annotations

import pytest

from onelicense.forms.catalog import load_catalog
from onelicense.forms.errors import CatalogError
from tests.forms.conftest import write_catalog

RULES = [{"check": "floor_area <= 200", "message": "营业面积不超过200平方米"}]


def _fire_check(data, auto_approve):
    """FIRE_CHECK made a 全信任 permit with `auto_approve`; a second industry offers only POOL_HEALTH."""
    permit = next(p for p in data["permits.yaml"]["permits"] if p["code"] == "FIRE_CHECK")
    permit["commitment"] = "全信任"
    permit["auto_approve"] = auto_approve
    data["industries.yaml"]["industries"].append(
        {"code": "POOL", "name": "测试泳池", "permits": [{"permit": "POOL_HEALTH"}]}
    )
    return data


def _problems(tmp_path, data) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(write_catalog(tmp_path / "bad", data))
    return [str(p) for p in info.value.problems]


def test_rules_bound_to_an_industry_offering_the_permit_load(tmp_path, catalog_data):
    data = _fire_check(catalog_data, {"industries": ["DINER"], "rules": RULES})
    catalog = load_catalog(write_catalog(tmp_path / "catalog", data))
    auto = catalog.permits["FIRE_CHECK"].auto_approve
    assert auto is not None and auto.industries == ("DINER",) and auto.covers("DINER") and not auto.covers("POOL")
    assert [r.check.source for r in auto.rules] == ["floor_area <= 200"]


@pytest.mark.parametrize(
    ("auto_approve", "problem"),
    [
        pytest.param(
            {"rules": RULES},
            "auto_approve（秒批）须以 industries 列出规则所针对的行业，规则只对这些行业生效",
            id="no-industries",
        ),
        pytest.param(
            {"industries": [], "rules": RULES},
            "auto_approve（秒批）须以 industries 列出规则所针对的行业，规则只对这些行业生效",
            id="empty-industries",
        ),
        pytest.param(
            {"industries": ["NOWHERE"], "rules": RULES}, "auto_approve.industries: 未知行业 'NOWHERE'", id="unknown"
        ),
        pytest.param(
            {"industries": ["POOL"], "rules": RULES},
            "auto_approve.industries: 行业 'POOL' 不办理本许可（industries.yaml 中未列出 FIRE_CHECK）",
            id="industry-without-the-permit",
        ),
        pytest.param(
            {"industries": ["DINER", "DINER"], "rules": RULES},
            "auto_approve.industries: 行业 'DINER' 重复列出",
            id="duplicate",
        ),
        pytest.param({"industries": ["DINER"]}, "auto_approve（秒批）须以 rules 列出至少一条规则", id="no-rules"),
        pytest.param(
            {"industries": ["DINER"], "rules": [{"check": "seat_count < 10", "message": "x"}]},
            "秒批规则 'seat_count < 10' 引用了本许可未采集的字段 'seat_count'",
            id="rule-on-a-field-not-collected",
        ),
    ],
)
def test_rules_not_bound_to_fitting_industries_are_named(tmp_path, catalog_data, auto_approve, problem):
    assert _problems(tmp_path, _fire_check(catalog_data, auto_approve)) == [f"permits.yaml [FIRE_CHECK]: {problem}"]


def test_rules_written_as_a_bare_list_are_refused_asking_for_the_industries(tmp_path, catalog_data):
    problems = _problems(tmp_path, _fire_check(catalog_data, RULES))  # the permit is left out: its users are named too
    [problem] = [p for p in problems if p.startswith("permits.yaml [FIRE_CHECK]: auto_approve: ")]
    assert "秒批规则须写明适用的行业，格式为 {industries: [行业编码], rules: [...]}" in problem


def test_rules_on_a_permit_that_is_not_fully_trusted_are_refused(tmp_path, catalog_data):
    data = _fire_check(catalog_data, {"industries": ["DINER"], "rules": RULES})
    next(p for p in data["permits.yaml"]["permits"] if p["code"] == "FIRE_CHECK")["commitment"] = None
    assert _problems(tmp_path, data) == [
        "permits.yaml [FIRE_CHECK]: auto_approve（秒批）仅适用于承诺类别“全信任”的许可：先予许可、事后核查"
    ]
