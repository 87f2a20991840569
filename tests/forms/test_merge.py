"""The merged form asks each fact once, says who needs it, and follows the condition answers."""

from __future__ import annotations

import pytest

from onelicense.forms.errors import UnknownIndustry
from onelicense.forms.extract import department_payload
from onelicense.forms.merge import merge_form


def test_shared_fields_are_asked_once_with_their_provenance(small_catalog):
    form = merge_form("DINER", {"has_pool": True}, small_catalog)
    keys = form.field_keys
    assert len(keys) == len(set(keys))
    holder = form.field("holder_name")
    assert holder.permits == ("FOOD", "FIRE_CHECK", "POOL_HEALTH")
    assert holder.departments == ("MKT", "FIRE", "HEALTH")
    assert form.field("seat_count").permits == ("FOOD",)
    assert form.field("has_pool").condition_for == ("POOL_HEALTH",)
    assert form.field("has_pool").required


def test_condition_questions_come_first_then_sections_in_catalog_order(small_catalog):
    form = merge_form("DINER", {"has_pool": False}, small_catalog)
    assert form.field_keys[0] == "has_pool"
    sections = [f.spec.section for f in form.fields[1:]]
    assert sections == sorted(sections, key=["holder", "site", "ask"].index)


def test_conditional_permit_only_when_its_condition_holds(small_catalog):
    without = merge_form("DINER", {"has_pool": False}, small_catalog)
    unanswered = merge_form("DINER", {}, small_catalog)
    with_pool = merge_form("DINER", {"has_pool": True}, small_catalog)
    assert [p.code for p in without.permits] == ["FOOD", "FIRE_CHECK"]
    assert [p.code for p in unanswered.permits] == ["FOOD", "FIRE_CHECK"]
    assert [p.code for p in with_pool.permits] == ["FOOD", "FIRE_CHECK", "POOL_HEALTH"]
    assert "lifeguard_count" not in without.field_keys
    assert "lifeguard_count" in with_pool.field_keys
    assert [d.code for d in with_pool.departments] == ["MKT", "FIRE", "HEALTH"]


def test_materials_are_deduplicated_and_keep_the_strongest_requirement(small_catalog):
    form = merge_form("DINER", {"has_pool": True}, small_catalog)
    materials = {m.code: m for m in form.materials}
    assert list(materials) == ["license_copy", "health_cert", "floor_plan"]
    assert materials["license_copy"].permits == ("FOOD", "FIRE_CHECK", "POOL_HEALTH")
    assert materials["license_copy"].core and materials["license_copy"].required_now
    # non-core under 非核心要件信任 (FOOD) and deferred under 要件后补 (POOL_HEALTH): due in 60 days
    assert not materials["health_cert"].required_now
    assert materials["health_cert"].due_days == 60
    assert materials["floor_plan"].required_now  # FIRE_CHECK has no commitment category


def test_commitment_notice_lists_every_permit_and_commitment(small_catalog):
    form = merge_form("DINER", {"has_pool": True}, small_catalog)
    notice = form.commitment_notice
    assert notice.startswith("测试餐馆行业综合许可 告知承诺书")
    for name in ("测试食品经营许可", "测试消防检查", "测试泳池卫生许可"):
        assert name in notice
    assert "非核心要件信任" in notice and "要件后补" in notice
    # the signed commitment states the deadline the obligation uses: working days from issuance, not calendar days
    assert "自发证之日起 60 个工作日内" in notice and "补交：健康证明" in notice
    assert "60 日内" not in notice
    # the consent the notices rely on to reach the application's 联系电话 (services.notifications)
    assert "同意审批机关通过本次申请所填联系电话、电子邮箱发送" in notice
    without = merge_form("DINER", {"has_pool": False}, small_catalog).commitment_notice
    assert "测试泳池卫生许可" not in without


def test_unknown_industry_is_a_clear_error(small_catalog):
    with pytest.raises(UnknownIndustry, match="未知行业：NOPE"):
        merge_form("NOPE", {}, small_catalog)


def test_department_payload_holds_only_that_departments_fields_and_materials(small_catalog):
    form = merge_form("DINER", {"has_pool": True}, small_catalog)
    answers = {"holder_name": "甲", "uscc": "x", "contact_phone": "1", "floor_area": 50, "lifeguard_count": 2}
    payload = department_payload(form, answers, {"license_copy": "f1.pdf"}, "HEALTH")
    assert [p["code"] for p in payload["permits"]] == ["POOL_HEALTH"]
    assert [f["key"] for f in payload["fields"]] == ["holder_name", "uscc", "contact_phone", "lifeguard_count"]
    assert payload["fields"][3] == {"key": "lifeguard_count", "label": "救生员人数", "value": 2}
    assert [(m["code"], m["pending"]) for m in payload["materials"]] == [("license_copy", False), ("health_cert", True)]
    with pytest.raises(KeyError):
        department_payload(form, answers, {}, "NOT_INVOLVED")
