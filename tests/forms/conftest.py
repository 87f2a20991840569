"""A small catalog written to a temporary folder, so loader tests can break one thing at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

BASE: dict[str, Any] = {
    "catalog.yaml": {"procedure_steps": ["申请", "受理", "审查", "决定", "领证"]},
    "departments.yaml": {
        "departments": [
            {"code": "MKT", "name": "测试市场监管局"},
            {"code": "FIRE", "name": "测试消防救援支队"},
            {"code": "HEALTH", "name": "测试卫生健康委"},
        ]
    },
    "fields.yaml": {
        "sections": [
            {"code": "holder", "name": "主体"},
            {"code": "site", "name": "场所"},
            {"code": "ask", "name": "问答"},
        ],
        "fields": [
            {"key": "holder_name", "label": "经营者名称", "type": "text", "section": "holder", "max_length": 50},
            {"key": "uscc", "label": "统一社会信用代码", "type": "uscc", "section": "holder"},
            {"key": "contact_phone", "label": "联系电话", "type": "phone", "section": "holder"},
            {"key": "opening_date", "label": "开业日期", "type": "date", "section": "holder", "required": False},
            {"key": "floor_area", "label": "营业面积", "type": "decimal", "section": "site", "min": 1, "max": 10000},
            {"key": "seat_count", "label": "座位数", "type": "integer", "section": "site", "min": 0, "max": 5000},
            {"key": "food_kind", "label": "食品类别", "type": "enum", "section": "site", "choices": ["热食", "冷食"]},
            {"key": "lifeguard_count", "label": "救生员人数", "type": "integer", "section": "site", "min": 0},
            {"key": "has_pool", "label": "是否有泳池", "type": "boolean", "section": "ask"},
        ],
    },
    "materials.yaml": {
        "materials": [
            {"code": "license_copy", "name": "营业执照"},
            {"code": "floor_plan", "name": "平面图"},
            {"code": "health_cert", "name": "健康证明"},
        ]
    },
    "permits.yaml": {
        "permits": [
            {
                "code": "FOOD",
                "name": "测试食品经营许可",
                "department": "MKT",
                "statutory_days": 20,
                "promised_days": 5,
                "validity_years": 5,
                "commitment": "非核心要件信任",
                "fields": ["holder_name", "uscc", "contact_phone", "floor_area", "seat_count", "food_kind"],
                "materials": [{"code": "license_copy", "core": True}, {"code": "health_cert", "core": False}],
                "follows": ["FIRE_CHECK"],
            },
            {
                "code": "FIRE_CHECK",
                "name": "测试消防检查",
                "department": "FIRE",
                "statutory_days": 10,
                "promised_days": 3,
                "fields": ["holder_name", "uscc", "floor_area", "opening_date"],
                "materials": [{"code": "license_copy", "core": True}, {"code": "floor_plan", "core": True}],
                "rules": [{"check": "floor_area >= 30", "severity": "advisory", "message": "面积较小"}],
            },
            {
                "code": "POOL_HEALTH",
                "name": "测试泳池卫生许可",
                "department": "HEALTH",
                "statutory_days": 20,
                "promised_days": 10,
                "validity_years": 4,
                "commitment": "要件后补",
                "supplement_days": 60,
                "fields": ["holder_name", "uscc", "contact_phone", "lifeguard_count"],
                "materials": [{"code": "license_copy", "core": True}, {"code": "health_cert", "core": False}],
                "rules": [{"check": "lifeguard_count >= 1", "severity": "blocking", "message": "泳池须配备救生员"}],
            },
        ]
    },
    "industries.yaml": {
        "industries": [
            {
                "code": "DINER",
                "name": "测试餐馆",
                "permits": [
                    {"permit": "FOOD"},
                    {"permit": "FIRE_CHECK"},
                    {"permit": "POOL_HEALTH", "when": "has_pool == true"},
                ],
            }
        ]
    },
}


def write_catalog(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in data.items():
        (folder / name).write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


@pytest.fixture
def catalog_data() -> dict[str, Any]:
    """A fresh deep copy of the small catalog, to break in one place."""
    return copy.deepcopy(BASE)


@pytest.fixture
def small_catalog(tmp_path):
    from onelicense.forms.catalog import load_catalog

    return load_catalog(write_catalog(tmp_path / "catalog", copy.deepcopy(BASE)))
