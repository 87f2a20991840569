"""The one merged form (一表申请): the union of an industry's permit forms, each fact asked once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onelicense.forms.catalog import get_catalog
from onelicense.forms.errors import UnknownIndustry
from onelicense.forms.model import Catalog, Commitment, Department, FieldSpec, Industry, Permit
from onelicense.templating import environment

CONDITION_SECTION = "经营范围问答"


@dataclass(frozen=True)
class MergedField:
    """A field of the merged form with its provenance: the permits and departments that need it. `spec` is the
    field as the industry asks it (an enum narrowed to the industry's `choices`), which the API, the portal and
    validation all read."""

    spec: FieldSpec
    section_name: str
    permits: tuple[str, ...]
    departments: tuple[str, ...]
    condition_for: tuple[str, ...] = ()  # permits whose `when` reads this field

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def required(self) -> bool:
        return self.spec.required or bool(self.condition_for)


@dataclass(frozen=True)
class MergedMaterial:
    code: str
    name: str
    core: bool  # core for at least one permit
    permits: tuple[str, ...]
    required_now: bool  # must be handed in with the application (not deferred under a commitment)
    due_days: int | None = None  # for materials deferred under 要件后补
    has_sample: bool = False  # a 示范文本 may be downloaded beside the upload

    @property
    def deferred(self) -> bool:
        """Handed in after the license, within `due_days` working days (要件后补)."""
        return not self.required_now and self.due_days is not None

    @property
    def waived(self) -> bool:
        """Not handed in at all: the applicant's commitment stands for it (全信任, 非核心要件信任), no deadline."""
        return not self.required_now and self.due_days is None


@dataclass(frozen=True)
class CommitmentItem:
    permit_code: str
    permit_name: str
    department_name: str
    category: Commitment
    deferred_materials: tuple[str, ...]
    due_days: int | None


@dataclass(frozen=True)
class MergedForm:
    industry: Industry
    answers_to_conditions: Mapping[str, Any]
    permits: tuple[Permit, ...]
    departments: tuple[Department, ...]
    fields: tuple[MergedField, ...]
    materials: tuple[MergedMaterial, ...]
    commitments: tuple[CommitmentItem, ...]
    commitment_notice: str
    catalog: Catalog = field(repr=False, compare=False)

    def field(self, key: str) -> MergedField | None:
        return next((f for f in self.fields if f.key == key), None)

    @property
    def field_keys(self) -> list[str]:
        return [f.key for f in self.fields]

    def permits_of(self, department_code: str) -> list[Permit]:
        return [p for p in self.permits if p.department == department_code]


def select_permits(industry: Industry, answers: Mapping[str, Any], catalog: Catalog) -> list[Permit]:
    """The industry's permits whose condition holds for the answers (an unanswered condition does not hold)."""
    return [
        catalog.permits[item.permit]
        for item in industry.permits
        if item.when is None or item.when.evaluate(answers) is True
    ]


def merge_form(
    industry_code: str,
    answers_to_conditions: Mapping[str, Any] | None = None,
    catalog: Catalog | None = None,
    templates_dir: Path | None = None,
) -> MergedForm:
    """Build the merged form of an industry for the given answers to its condition questions.

    `catalog` and `templates_dir` default to the ones shipped with the package."""
    catalog = catalog or get_catalog()
    industry = catalog.industries.get(industry_code)
    if industry is None:
        raise UnknownIndustry(industry_code)
    # only the scope questions decide the form: other answers passed along are not part of what it was made for
    answers = {k: v for k, v in (answers_to_conditions or {}).items() if k in industry.condition_keys}
    permits = select_permits(industry, answers, catalog)
    dept_codes = list(dict.fromkeys(p.department for p in permits))
    return MergedForm(
        industry=industry,
        answers_to_conditions=answers,
        permits=tuple(permits),
        departments=tuple(catalog.departments[c] for c in dept_codes),
        fields=tuple(_merged_fields(industry, permits, catalog)),
        materials=tuple(_merged_materials(permits, catalog)),
        commitments=tuple(_commitments(permits, catalog)),
        commitment_notice=render_commitment_notice(industry, permits, catalog, templates_dir),
        catalog=catalog,
    )


def _merged_fields(industry: Industry, permits: list[Permit], catalog: Catalog) -> list[MergedField]:
    needed_by: dict[str, list[Permit]] = {}
    for permit in permits:
        for key in permit.fields:
            needed_by.setdefault(key, []).append(permit)
    conditions: dict[str, list[str]] = {}
    for item in industry.permits:
        if item.when is not None:
            for key in item.when.names:
                conditions.setdefault(key, []).append(item.permit)
    section_order = {code: i for i, code in enumerate(catalog.sections)}
    dictionary_order = {key: i for i, key in enumerate(catalog.fields)}
    keys = list(dict.fromkeys([*industry.condition_keys, *needed_by]))
    keys.sort(key=lambda k: (k not in conditions, section_order[catalog.fields[k].section], dictionary_order[k]))
    return [
        MergedField(
            spec=industry.field_spec(catalog.fields[key]),  # an enum offers only the choices fitting the industry
            section_name=catalog.sections[catalog.fields[key].section].name,
            permits=tuple(p.code for p in needed_by.get(key, [])),
            departments=tuple(dict.fromkeys(p.department for p in needed_by.get(key, []))),
            condition_for=tuple(conditions.get(key, [])),
        )
        for key in keys
    ]


def _required_now(permit: Permit, core: bool) -> bool:
    """Whether a material must come with the application, by the permit's commitment category (告知承诺)."""
    match permit.commitment:
        case Commitment.FULL_TRUST:
            return False
        case Commitment.NON_CORE_TRUST | Commitment.DEFERRED:
            return core
        case _:
            return True


def _merged_materials(permits: list[Permit], catalog: Catalog) -> list[MergedMaterial]:
    merged: dict[str, dict[str, Any]] = {}
    for permit in permits:
        for item in permit.materials:
            entry = merged.setdefault(item.code, {"core": False, "permits": [], "now": False, "due": None})
            entry["core"] |= item.core
            entry["permits"].append(permit.code)
            now = _required_now(permit, item.core)
            entry["now"] |= now
            if not now and permit.commitment == Commitment.DEFERRED:
                due = permit.supplement_days
                entry["due"] = due if entry["due"] is None else min(entry["due"], due)
    return [
        MergedMaterial(
            code=code,
            name=catalog.materials[code].name,
            core=e["core"],
            permits=tuple(e["permits"]),
            required_now=e["now"],
            due_days=None if e["now"] else e["due"],
            has_sample=catalog.materials[code].sample is not None,
        )
        for code, e in merged.items()
    ]


def _commitments(permits: list[Permit], catalog: Catalog) -> list[CommitmentItem]:
    result = []
    for permit in permits:
        if permit.commitment is None:
            continue
        deferred = tuple(catalog.materials[m.code].name for m in permit.materials if not _required_now(permit, m.core))
        result.append(
            CommitmentItem(
                permit_code=permit.code,
                permit_name=permit.name,
                department_name=catalog.departments[permit.department].name,
                category=permit.commitment,
                deferred_materials=deferred,
                due_days=permit.supplement_days,
            )
        )
    return result


def render_commitment_notice(
    industry: Industry, permits: list[Permit], catalog: Catalog, templates_dir: Path | None = None
) -> str:
    """告知承诺书: one notice listing every commitment the applicant signs for the selected permits."""
    template = environment(templates_dir).get_template("commitment_notice.txt.j2")
    return template.render(
        industry=industry,
        permits=permits,
        commitments=_commitments(permits, catalog),
        departments=catalog.departments,
    )


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys whose answers differ between two versions of a form (added or removed keys included), sorted."""
    return tuple(sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)))
