"""The one loader of the catalog, the working-day calendar and the templates that the settings name.

Pure code (`forms`, `review`, `licenses`) takes these as arguments; the services and the entry points get them
here, so a deployment's own catalog folder (ONELICENSE_CATALOG_DIR) reaches every rule and every page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from onelicense.forms.catalog import get_catalog
from onelicense.forms.merge import MergedForm, merge_form
from onelicense.forms.model import Catalog
from onelicense.review.sla import SlaDates, SlaState, WorkingCalendar, sla_dates, sla_state
from onelicense.services.calendar import working_calendar
from onelicense.settings import get_settings
from onelicense.store.tables.application import DepartmentReview


def catalog() -> Catalog:
    """The catalog in use (loaded and validated once per process and folder)."""
    return get_catalog(get_settings().catalog_dir)


def calendar(session: Session | None = None) -> WorkingCalendar:
    """The working-day calendar every deadline is counted on: the holiday arrangements in the database `session`
    is on (None: the configured database), see services.calendar."""
    return working_calendar(session)


def templates_dir() -> Path | None:
    """The templates folder in use (None: the one shipped with the package)."""
    return get_settings().templates_dir


def merged_form(industry_code: str, answers: Mapping[str, Any] | None = None) -> MergedForm:
    """`forms.merge.merge_form` on the catalog and templates in use, made once per industry and answers to its
    scope questions (a MergedForm is frozen: every submit of the same scope can share one)."""
    entries, templates = catalog(), templates_dir()
    industry = entries.industries.get(industry_code)
    if industry is None:
        return merge_form(industry_code, answers, entries, templates)  # raises UnknownIndustry
    asked = set(industry.condition_keys)
    # in the answers' order, as merge_form keeps them
    conditions = tuple((k, v) for k, v in (answers or {}).items() if k in asked)
    try:
        key = (id(entries), templates, industry_code, conditions)
        cached = _merged_forms.get(key)
    except TypeError:  # an answer that cannot be a key (a list): made each time
        return merge_form(industry_code, answers, entries, templates)
    if cached is not None and cached.catalog is entries:
        return cached
    if len(_merged_forms) >= _MERGED_FORMS_KEPT:
        _merged_forms.clear()
    form = _merged_forms[key] = merge_form(industry_code, answers, entries, templates)
    return form


_MERGED_FORMS_KEPT = 512  # industries × the combinations of their scope answers seen: a few dozen in practice
_merged_forms: dict[tuple[Any, ...], MergedForm] = {}


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


def review_limits(permit_codes: Sequence[str]) -> tuple[int, int | None]:
    """(promised, statutory) working days of a department's review: the longest of its permits'."""
    permits = [catalog().permits[c] for c in permit_codes if c in catalog().permits]
    promised = max((p.promised_days for p in permits), default=1)
    statutory = max((p.statutory_days for p in permits), default=None)
    return promised, statutory


def review_dates(
    permit_codes: Sequence[str], opened_at: datetime, working: WorkingCalendar | None = None
) -> SlaDates:
    """The days a review opened at `opened_at` turns yellow, is due, turns red, passes the statutory limit."""
    promised, statutory = review_limits(permit_codes)
    return sla_dates(opened_at, promised, working or calendar(), statutory_days=statutory)


def review_date_columns(
    permit_codes: Sequence[str], opened_at: datetime, working: WorkingCalendar | None = None
) -> dict[str, Any]:
    """`review_dates` as the DepartmentReview columns that store them."""
    dates = review_dates(permit_codes, opened_at, working)
    return {
        "yellow_on": dates.yellow_on,
        "due_on": dates.due_on,
        "red_on": dates.red_on,
        "past_statutory_on": dates.past_statutory_on,
    }


def review_sla(review: DepartmentReview, now: datetime, working: WorkingCalendar | None = None) -> SlaState:
    """红黄绿灯 of a review: its working days against its permits' promised and statutory limits (the current
    round's clock starts when the review was (re)opened, so time spent supplementing does not count)."""
    promised, statutory = review_limits(review.permit_codes)
    return sla_state(review.opened_at, now, promised, working or calendar(), statutory_days=statutory)
