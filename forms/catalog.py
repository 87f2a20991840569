"""Load and strictly validate the catalog folder; every problem names the file, the entry and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from onelicense.forms.errors import CatalogError, CatalogProblem
from onelicense.forms.model import (
    Catalog,
    Department,
    FieldSpec,
    FieldType,
    Industry,
    Material,
    Permit,
    Section,
)

FILES = (
    "catalog.yaml",
    "departments.yaml",
    "fields.yaml",
    "materials.yaml",
    "permits.yaml",
    "industries.yaml",
)
NUMERIC = {FieldType.INTEGER, FieldType.DECIMAL}
E = TypeVar("E", bound=BaseModel)


SHIPPED_CATALOG = Path(__file__).resolve().parent / "catalog"


@lru_cache(maxsize=8)
def _cached(folder: Path) -> Catalog:
    return load_catalog(folder)


def get_catalog(folder: Path | None = None) -> Catalog:
    """The catalog of `folder` (default: the shipped one), loaded once per process."""
    return _cached(_resolved(folder))


@lru_cache(maxsize=8)
def _resolved(folder: Path | None) -> Path:
    # resolving asks the file system for each part of the path: a request reads the catalog ~10 times
    return Path(folder or SHIPPED_CATALOG).resolve()


def load_catalog(folder: Path | str | None = None) -> Catalog:
    """Read the six YAML files of `folder`, validate them all, and raise one CatalogError listing every problem."""
    folder = Path(folder or SHIPPED_CATALOG)
    loader = _Loader(folder)
    return loader.load()


class _Loader:
    def __init__(self, folder: Path):
        self.folder = folder
        self.problems: list[CatalogProblem] = []

    def problem(self, file: str, entry: str, text: str) -> None:
        self.problems.append(CatalogProblem(file, entry, text))

    def load(self) -> Catalog:
        raw = {name: self._read(name) for name in FILES}
        if self.problems:
            raise CatalogError(self.problems)
        steps = raw["catalog.yaml"].get("procedure_steps")
        if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
            self.problem("catalog.yaml", "procedure_steps", "应为非空的步骤名称列表")
            steps = []
        departments = self._entries(raw, "departments.yaml", "departments", Department, "code")
        sections = self._entries(raw, "fields.yaml", "sections", Section, "code")
        fields = self._entries(raw, "fields.yaml", "fields", FieldSpec, "key")
        materials = self._entries(raw, "materials.yaml", "materials", Material, "code")
        permits = self._entries(raw, "permits.yaml", "permits", Permit, "code")
        industries = self._entries(raw, "industries.yaml", "industries", Industry, "code")
        self._check_fields(fields, sections)
        self._check_permits(permits, departments, fields, materials)
        self._check_follows(permits)
        self._check_industries(industries, permits, fields)
        self._check_auto_approve(permits, industries)
        if self.problems:
            raise CatalogError(self.problems)
        return Catalog(
            procedure_steps=tuple(steps),
            departments=departments,
            sections=sections,
            fields=fields,
            materials=materials,
            permits=permits,
            industries=industries,
        )

    def _read(self, name: str) -> dict[str, Any]:
        path = self.folder / name
        if not path.is_file():
            self.problem(name, "-", f"文件不存在：{path}")
            return {}
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            self.problem(name, "-", f"无法解析 YAML：{exc}")
            return {}
        if not isinstance(data, dict):
            self.problem(name, "-", "顶层应为映射（mapping）")
            return {}
        return data

    def _entries(self, raw: dict[str, Any], file: str, list_key: str, model: type[E], code_attr: str) -> dict[str, E]:
        items = raw[file].get(list_key)
        if not isinstance(items, list) or not items:
            self.problem(file, list_key, f"缺少非空列表 '{list_key}'")
            return {}
        result: dict[str, E] = {}
        for index, item in enumerate(items):
            label = str(item.get(code_attr, f"#{index + 1}")) if isinstance(item, dict) else f"#{index + 1}"
            try:
                entry = model.model_validate(item)
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"]) or "-"
                    self.problem(file, label, f"{where}: {err['msg']}")
                continue
            code = getattr(entry, code_attr)
            if code in result:
                self.problem(file, code, f"重复的编码 '{code}'")
                continue
            result[code] = entry
        return result

    def _check_fields(self, fields: dict[str, FieldSpec], sections: dict[str, Section]) -> None:
        for key, spec in fields.items():
            if spec.section not in sections:
                self.problem("fields.yaml", key, f"未知分组 '{spec.section}'")
            if spec.type == FieldType.ENUM and not spec.choices:
                self.problem("fields.yaml", key, "枚举字段缺少 choices")
            if spec.type != FieldType.ENUM and spec.choices:
                self.problem("fields.yaml", key, "只有枚举字段可以有 choices")
            if (spec.min is not None or spec.max is not None) and spec.type not in NUMERIC:
                self.problem("fields.yaml", key, "只有数值字段可以有 min/max")
            if spec.min is not None and spec.max is not None and spec.min > spec.max:
                self.problem("fields.yaml", key, f"min {spec.min} 大于 max {spec.max}")

    def _check_permits(
        self,
        permits: dict[str, Permit],
        departments: dict[str, Department],
        fields: dict[str, FieldSpec],
        materials: dict[str, Material],
    ) -> None:
        for code, permit in permits.items():
            if permit.department not in departments:
                self.problem("permits.yaml", code, f"未知部门 '{permit.department}'")
            if permit.promised_days > permit.statutory_days:
                self.problem(
                    "permits.yaml",
                    code,
                    f"承诺时限 {permit.promised_days} 天长于法定时限 {permit.statutory_days} 天",
                )
            for key in _duplicates(permit.fields):
                self.problem("permits.yaml", code, f"字段 '{key}' 重复列出")
            for key in permit.fields:
                if key not in fields:
                    self.problem("permits.yaml", code, f"未知字段 '{key}'")
            for item in permit.materials:
                if item.code not in materials:
                    self.problem("permits.yaml", code, f"未知材料 '{item.code}'")
            for key in _duplicates(m.code for m in permit.materials):
                self.problem("permits.yaml", code, f"材料 '{key}' 重复列出")
            for target in permit.follows:
                if target not in permits:
                    self.problem("permits.yaml", code, f"follows 引用了未知许可 '{target}'")
            if (permit.supplement_days is None) == (permit.commitment == "要件后补"):
                self.problem("permits.yaml", code, "supplement_days 必须且只能与承诺类别“要件后补”同时出现")
            for rule in permit.rules:
                for name in sorted(rule.check.names):
                    if name not in fields:
                        self.problem("permits.yaml", code, f"预审规则 '{rule.check.source}' 引用了未知字段 '{name}'")
                    elif name not in permit.fields:
                        self.problem(
                            "permits.yaml",
                            code,
                            f"预审规则 '{rule.check.source}' 引用了本许可未收集的字段 '{name}'",
                        )

    def _check_follows(self, permits: dict[str, Permit]) -> None:
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done

        def visit(code: str, path: list[str]) -> None:
            state[code] = 1
            for target in permits[code].follows:
                if target not in permits:
                    continue
                if state.get(target) == 1:
                    cycle = [*path[path.index(target) :], target] if target in path else [code, target]
                    self.problem("permits.yaml", code, "follows 存在循环：" + " → ".join(cycle))
                elif state.get(target) is None:
                    visit(target, [*path, target])
            state[code] = 2

        for code in permits:
            if code not in state:
                visit(code, [code])

    def _check_industries(
        self, industries: dict[str, Industry], permits: dict[str, Permit], fields: dict[str, FieldSpec]
    ) -> None:
        for code, industry in industries.items():
            for key in _duplicates(p.permit for p in industry.permits):
                self.problem("industries.yaml", code, f"许可 '{key}' 重复列出")
            for item in industry.permits:
                if item.permit not in permits:
                    self.problem("industries.yaml", code, f"未知许可 '{item.permit}'")
                if item.when is not None:
                    for name in sorted(item.when.names):
                        if name not in fields:
                            self.problem("industries.yaml", code, f"条件 '{item.when.source}' 引用了未知字段 '{name}'")
            self._check_choices(industry, permits, fields)

    def _check_choices(self, industry: Industry, permits: dict[str, Permit], fields: dict[str, FieldSpec]) -> None:
        """An industry narrows an enum of its own form to a non-empty subset of the dictionary's choices."""
        asked = set(industry.condition_keys)
        asked.update(k for item in industry.permits if item.permit in permits for k in permits[item.permit].fields)
        for key, narrowed in industry.choices.items():
            spec = fields.get(key)
            where = f"choices.{key}"
            if spec is None:
                self.problem("industries.yaml", industry.code, f"{where}: 未知字段 '{key}'")
                continue
            if spec.type != FieldType.ENUM:
                self.problem("industries.yaml", industry.code, f"{where}: 只有枚举字段可以收窄选项")
                continue
            if key not in asked:
                self.problem("industries.yaml", industry.code, f"{where}: 本行业的合并表单中没有此字段")
            if not narrowed:
                self.problem("industries.yaml", industry.code, f"{where}: 至少保留一个选项")
            for choice in narrowed:
                if choice not in (spec.choices or ()):
                    self.problem(
                        "industries.yaml", industry.code, f"{where}: '{choice}' 不是字段词典中“{spec.label}”的选项"
                    )
            for choice in _duplicates(narrowed):
                self.problem("industries.yaml", industry.code, f"{where}: 选项 '{choice}' 重复列出")

    def _check_auto_approve(self, permits: dict[str, Permit], industries: dict[str, Industry]) -> None:
        """秒批 rules name the industries they were written for: each must exist and offer the permit."""
        for code, permit in permits.items():
            auto = permit.auto_approve
            if auto is None:
                continue
            if permit.commitment != "全信任":
                self.problem(
                    "permits.yaml", code, "auto_approve（秒批）仅适用于承诺类别“全信任”的许可：先予许可、事后核查"
                )
            if not auto.industries:
                self.problem(
                    "permits.yaml",
                    code,
                    "auto_approve（秒批）须以 industries 列出规则所针对的行业，规则只对这些行业生效",
                )
            if not auto.rules:
                self.problem("permits.yaml", code, "auto_approve（秒批）须以 rules 列出至少一条规则")
            for industry_code in _duplicates(auto.industries):
                self.problem("permits.yaml", code, f"auto_approve.industries: 行业 '{industry_code}' 重复列出")
            for industry_code in auto.industries:
                industry = industries.get(industry_code)
                if industry is None:
                    self.problem("permits.yaml", code, f"auto_approve.industries: 未知行业 '{industry_code}'")
                elif all(item.permit != code for item in industry.permits):
                    self.problem(
                        "permits.yaml",
                        code,
                        f"auto_approve.industries: 行业 '{industry_code}' 不办理本许可（industries.yaml 中未列出 {code}）",
                    )
            for rule in auto.rules:
                for name in sorted(rule.check.names):
                    if name not in permit.fields:
                        self.problem(
                            "permits.yaml", code, f"秒批规则 '{rule.check.source}' 引用了本许可未采集的字段 '{name}'"
                        )


def _duplicates(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for v in values:
        if v in seen and v not in dups:
            dups.append(v)
        seen.add(v)
    return dups
