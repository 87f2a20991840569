"""The one loader of the catalog, the working-day calendar and the templates that the settings name.

Pure code (`forms`, `review`, `licenses`) takes these as arguments; the services and the entry points get them
here, so a deployment's own catalog folder (ONELICENSE_CATALOG_DIR) reaches every rule and every page."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from forms.catalog import get_catalog
from forms.merge import MergedForm, merge_form
from forms.model import Catalog
from onelicense.settings import get_settings
from review.calendar import get_calendar
from review.sla import WorkingCalendar


def catalog() -> Catalog:
    """The catalog in use (loaded and validated once per process and folder)."""
    return get_catalog(get_settings().catalog_dir)


def calendar() -> WorkingCalendar:
    """The working-day calendar kept beside the catalog in use."""
    return get_calendar(get_settings().catalog_dir)


def templates_dir() -> Path | None:
    """The templates folder in use (None: the one shipped with the package)."""
    return get_settings().templates_dir


def merged_form(industry_code: str, answers: Mapping[str, Any] | None = None) -> MergedForm:
    """`forms.merge.merge_form` on the catalog and templates in use."""
    return merge_form(industry_code, answers, catalog(), templates_dir())


def department_name(code: str) -> str:
    department = catalog().departments.get(code)
    return department.name if department else code


def industry_name(code: str) -> str:
    industry = catalog().industries.get(code)
    return industry.name if industry else code


def permit_names(codes: list[str] | tuple[str, ...]) -> list[str]:
    permits = catalog().permits
    return [permits[c].name if c in permits else c for c in codes]


def item_label(key: str) -> str:
    """A field's label or a material's name (what a supplement request names), else the key itself."""
    entries = catalog()
    if key in entries.fields:
        return entries.fields[key].label
    if key in entries.materials:
        return entries.materials[key].name
    return key
