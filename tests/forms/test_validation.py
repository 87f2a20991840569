"""Submitted forms are checked field by field; every error names the key, the Chinese label and the reason."""

from __future__ import annotations

import pytest

from onelicense.forms.errors import ValidationFailed
from onelicense.forms.identifiers import id_number_problem, uscc_check_char, uscc_problem
from onelicense.forms.merge import merge_form
from onelicense.forms.prereview import blocking, prereview
from onelicense.forms.validation import validate_submission

USCC = "91500000" + "MA5U7A8X" + "1"
USCC = USCC[:17] + uscc_check_char(USCC[:17])


def _valid(**overrides):
    answers = {
        "has_pool": True,
        "holder_name": "重庆𠀾𠁆餐饮有限公司🍜",
        "uscc": USCC,
        "contact_phone": "13812345678",
        "floor_area": "120.5",
        "seat_count": 40,
        "food_kind": "热食",
        "lifeguard_count": 2,
    }
    answers.update(overrides)
    return answers


MATERIALS = {"license_copy": "upload/1.pdf", "floor_plan": "upload/2.pdf"}


def _errors(form, answers, materials=MATERIALS, **kw):
    with pytest.raises(ValidationFailed) as info:
        validate_submission(form, answers, materials, **kw)
    return {e.key: e for e in info.value.errors}


@pytest.fixture
def form(small_catalog):
    return merge_form("DINER", {"has_pool": True}, small_catalog)


def test_valid_submission_passes_and_keeps_text_exactly(form):
    result = validate_submission(form, _valid(), MATERIALS)
    assert result.answers["holder_name"] == "重庆𠀾𠁆餐饮有限公司🍜"
    assert result.answers["floor_area"] == 120.5
    assert "opening_date" not in result.answers  # optional and not given
    assert [p.code for p in result.pending_materials] == ["health_cert"]
    assert result.pending_materials[0].due_days == 60


def test_missing_required_field(form):
    answers = _valid()
    del answers["uscc"]
    errors = _errors(form, answers)
    assert list(errors) == ["uscc"]
    assert str(errors["uscc"]) == "统一社会信用代码（uscc）：必填项未填写"


def test_wrong_types_are_named(form):
    errors = _errors(form, _valid(seat_count="forty", holder_name=12, has_pool="maybe", floor_area=True))
    assert errors["seat_count"].reason == "应为整数"
    assert errors["holder_name"].reason == "应为文本"
    assert errors["has_pool"].reason == "应为“是”或“否”"
    assert errors["floor_area"].reason == "应为数字"
    assert errors["seat_count"].label == "座位数"


def test_out_of_range_numbers(form):
    errors = _errors(form, _valid(seat_count=5001, floor_area=0.5, lifeguard_count=-1))
    assert errors["seat_count"].reason == "不能大于5000"
    assert errors["floor_area"].reason == "不能小于1"
    assert errors["lifeguard_count"].reason == "不能小于0"


def test_bad_uscc_check_digit(form):
    last = USCC[-1]
    wrong = USCC[:17] + ("0" if last != "0" else "1")
    errors = _errors(form, _valid(uscc=wrong))
    assert errors["uscc"].reason == "校验码错误（GB 32100-2015）"
    assert "应为18位" in _errors(form, _valid(uscc=USCC[:17]))["uscc"].reason
    assert "不允许的字符" in _errors(form, _valid(uscc=USCC[:16] + "I" + USCC[17]))["uscc"].reason


def test_known_uscc_and_id_numbers_check_out():
    # published example codes with their check characters
    assert uscc_problem("91110000600037341L") is None
    assert uscc_problem("91110000600037341M") == "校验码错误（GB 32100-2015）"
    assert id_number_problem("11010519491231002X") is None
    assert id_number_problem("110105194912310021") == "校验码错误（GB 11643）"


def test_unknown_fields_are_rejected(form):
    errors = _errors(form, _valid(favourite_colour="蓝"))
    assert list(errors) == ["favourite_colour"]
    assert "未知字段" in errors["favourite_colour"].reason


def test_oversized_text_is_rejected(form):
    errors = _errors(form, _valid(holder_name="店" * 51))
    assert errors["holder_name"].reason == "长度不能超过50个字符（当前51个）"


def test_bad_phone_date_enum(form):
    errors = _errors(form, _valid(contact_phone="12345", opening_date="2026-02-30", food_kind="生食"))
    assert "不是有效的电话号码" in errors["contact_phone"].reason
    assert errors["opening_date"].reason == "不是有效的日期"
    assert errors["food_kind"].reason == "应为以下选项之一：热食、冷食"
    assert validate_submission(form, _valid(contact_phone="023-63891234"), MATERIALS)


def test_condition_answer_must_match_the_form(form):
    errors = _errors(form, _valid(has_pool=False))
    assert "has_pool" in errors and "不一致" in errors["has_pool"].reason


def test_missing_core_material_and_unknown_material(form):
    errors = _errors(form, _valid(), {"floor_plan": "a.pdf", "tax_record": "b.pdf"})
    assert errors["materials.license_copy"].reason == "核心材料未提交"
    assert errors["materials.license_copy"].label == "营业执照"
    assert "未知材料" in errors["materials.tax_record"].reason


def test_commitment_must_be_signed(form):
    errors = _errors(form, _valid(), commitment_accepted=False)
    assert list(errors) == ["commitment_accepted"]


def test_answers_must_be_an_object(form):
    errors = _errors(form, ["not", "a", "dict"])
    assert errors["answers"].reason == "应为键值对象"


def test_prereview_findings_name_permit_department_and_severity(form):
    findings = prereview(form, _valid(lifeguard_count=0, floor_area=20))
    assert {(f.permit_code, f.department_code, f.severity.value) for f in findings} == {
        ("POOL_HEALTH", "HEALTH", "blocking"),
        ("FIRE_CHECK", "FIRE", "advisory"),
    }
    assert [f.message for f in blocking(findings)] == ["泳池须配备救生员"]
    assert prereview(form, _valid()) == []
    unanswered = _valid()
    del unanswered["lifeguard_count"]
    assert all(f.permit_code != "POOL_HEALTH" for f in prereview(form, unanswered))
