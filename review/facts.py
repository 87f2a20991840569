"""The application as the pure aggregation rules see it: a stored application plus the catalog's names."""

from __future__ import annotations

from typing import Any

from forms.catalog import get_catalog
from review.aggregate import ApplicationFacts, PermitFact


def application_facts(application: Any) -> ApplicationFacts:
    """The application as the pure aggregation rules see it, names taken from the catalog."""
    catalog = get_catalog()
    labels = {key: spec.label for key, spec in catalog.fields.items()}
    labels.update({code: m.name for code, m in catalog.materials.items()})
    return ApplicationFacts(
        application_id=application.id,
        reference=application.reference,
        industry_code=application.industry_code,
        industry_name=catalog.industries[application.industry_code].name,
        holder_name=application.holder_name,
        uscc=application.uscc,
        permits=tuple(
            PermitFact(
                code=code,
                name=catalog.permits[code].name,
                department_code=catalog.permits[code].department,
                mandatory=catalog.permits[code].mandatory,
            )
            for code in application.permit_codes
        ),
        department_names={code: d.name for code, d in catalog.departments.items()},
        item_labels=labels,
    )
