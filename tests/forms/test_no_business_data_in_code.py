"""The catalog is data: no permit, industry or department name appears in the Python sources."""

from __future__ import annotations

from pathlib import Path

from onelicense.forms.catalog import get_catalog

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("forms", "flows", "licenses", "store", "services", "web", "review", "onelicense", "cli", "demo")


def _sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for d in SOURCE_DIRS for p in (REPO_ROOT / d).rglob("*.py") if p.is_file()}


def test_no_permit_industry_or_department_name_in_python_sources():
    catalog = get_catalog()
    names = [p.name for p in catalog.permits.values()]
    names += [i.name for i in catalog.industries.values()]
    names += [d.name for d in catalog.departments.values()]
    offenders = [(str(path.relative_to(REPO_ROOT)), n) for path, text in _sources().items() for n in names if n in text]
    assert offenders == []
