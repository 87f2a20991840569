"""Service results → response schemas, with the Chinese names looked up in the catalog in use.

Shared by the API routes and the `onelicense queue` CLI so both show the same thing. No decisions are taken
here, only reading and labelling: what an actor may see was decided by the service that returned the rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import Session

from onelicense.clock import utcnow
from onelicense.forms.merge import MergedForm
from onelicense.forms.model import Catalog
from onelicense.licenses.qr import verify_url
from onelicense.licenses.status import LicenseStatus
from onelicense.review.transitions import Outcome
from onelicense.services import catalog as catalogs
from onelicense.services import inspections, licenses, reviews
from onelicense.services.applications import ApplicationProgress, Submitted
from onelicense.services.notifications import Rendered
from onelicense.services.reviews import QueueItem
from onelicense.settings import get_settings
from onelicense.store.license_queries import LicenseNow
from onelicense.store.tables.application import Application, DecisionRecord, DepartmentReview
from onelicense.store.tables.lifecycle import InspectionDraw, Obligation
from onelicense.web.api import schemas

department_name = catalogs.department_name
industry_name = catalogs.industry_name
permit_names = catalogs.permit_names


def item_label(key: str) -> schemas.ItemOut:
    """A requested item (补正事项): a field key or a material code, with its Chinese name."""
    catalog = catalogs.catalog()
    kind = "material" if key in catalog.materials and key not in catalog.fields else "field"
    return schemas.ItemOut(key=key, label=catalogs.item_label(key), kind=kind)


def requestable_items(permit_codes: Sequence[str]) -> list[schemas.ItemOut]:
    """The fields and materials of these permits: what their department may ask the applicant to supplement."""
    return [
        schemas.ItemOut(key=k, label=label, kind=kind) for k, label, kind in reviews.requestable_items(permit_codes)
    ]


def submit_result(submitted: Submitted) -> schemas.SubmitResult:
    return schemas.SubmitResult(
        application_id=submitted.application.id,
        reference=submitted.application.reference,
        replayed=submitted.replayed,
        findings=[f.as_dict() for f in submitted.findings],
        departments=[
            schemas.DepartmentBranch(
                department_code=r.department_code,
                department_name=department_name(r.department_code),
                review_id=r.id,
            )
            for r in submitted.reviews
        ],
    )


def application_summary(application: Application) -> schemas.ApplicationSummary:
    return schemas.ApplicationSummary(
        id=application.id,
        reference=application.reference,
        industry_code=application.industry_code,
        industry_name=industry_name(application.industry_code),
        holder_name=application.holder_name,
        status=application.status,
        status_label=application.status.label,
        status_reason=application.status_reason,
        version=application.version,
        created_at=application.created_at,
        updated_at=application.updated_at,
    )


def department_progress(review: DepartmentReview) -> schemas.DepartmentProgress:
    decided = not review.status.is_open and review.decision is not None
    return schemas.DepartmentProgress(
        department_code=review.department_code,
        department_name=department_name(review.department_code),
        permits=permit_names(review.permit_codes),
        status=review.status,
        status_label=review.status.label,
        decided=decided,
        decision=review.decision if decided else None,
        decision_label=review.decision.label if decided and review.decision else None,
        opinion=review.opinion if decided else None,
        requested_items=[item_label(k) for k in review.requested_items] if decided else [],
        round=review.round,
        decided_at=review.decided_at if decided else None,
        # a deadline only while the department still has to decide (not once decided, nor for a closed review)
        due_on=review.due_on if review.status.is_open else None,
        due_on_provisional=review.status.is_open and catalogs.calendar().provisional(review.due_on),
    )


def application_detail(progress: ApplicationProgress) -> schemas.ApplicationDetail:
    """The application as the service let its actor read it (a reviewer's copy holds only its department's
    fields and materials: see services.applications.get_application)."""
    application = progress.application
    return schemas.ApplicationDetail(
        **application_summary(application).model_dump(),
        uscc=application.uscc,
        permits=permit_names(application.permit_codes),
        answers=dict(application.answers),
        materials=dict(application.materials),
        departments=[department_progress(r) for r in progress.reviews],
        opinion_ready=application.composite_opinion is not None,
        license_number=progress.license.number if progress.license else None,
        verify_url=verify_url(get_settings().public_base_url, progress.license.token) if progress.license else None,
        license_pdf=f"/api/applications/{application.id}/license.pdf" if progress.license else None,
        license=license_out(progress.license_now) if progress.license_now else None,
    )


def _status(status: LicenseStatus) -> schemas.LicenseStatusOut:
    return schemas.LicenseStatusOut(code=status.value, label=status.label)


def license_out(now: LicenseNow) -> schemas.LicenseOut:
    """A license's live status as the verify page shows it: each permit's effective status (licenses.status)."""
    return schemas.LicenseOut(
        number=now.license.number,
        identifier=licenses.identifier_of(now.license),
        edition=now.license.edition,
        status=_status(now.composite.status),
        license_status=_status(now.license.status),
        permits=[
            schemas.LicensePermitOut(
                code=p.permit.permit_code,
                name=p.permit.permit_name,
                number=p.permit.number,
                department=p.permit.department_name,
                issued_on=p.permit.issued_on,
                valid_until=p.permit.valid_until,
                status=_status(p.status),
                status_note=p.effective.note,
            )
            for p in now.permits
        ],
    )


def queue_item(review: DepartmentReview, application: Application, now: datetime | None = None) -> schemas.QueueItemOut:
    now = now or utcnow()
    sla = catalogs.review_sla(review, now)
    return schemas.QueueItemOut(
        review_id=review.id,
        application_id=application.id,
        reference=application.reference,
        industry_code=application.industry_code,
        industry_name=industry_name(application.industry_code),
        holder_name=application.holder_name,
        department_code=review.department_code,
        permits=permit_names(review.permit_codes),
        status=review.status,
        status_label=review.status.label,
        round=review.round,
        assignee=review.assignee,
        opened_at=review.opened_at,
        claimed_at=review.claimed_at,
        age_hours=round((now - review.opened_at).total_seconds() / 3600, 2),
        sla_level=sla.level.value,
        sla_label=sla.level.label,
        sla_remaining_days=sla.remaining_days,
        due_on=review.due_on,
        due_on_provisional=catalogs.calendar().provisional(review.due_on),
        version=review.version,
    )


def queue(items: Iterable[QueueItem]) -> list[schemas.QueueItemOut]:
    now = utcnow()
    return [queue_item(item.review, item.application, now) for item in items]


def decision(record: DecisionRecord) -> schemas.DecisionOut:
    return schemas.DecisionOut(
        round=record.round,
        decision=record.decision,
        decision_label=record.decision.label,
        opinion=record.opinion,
        requested_items=list(record.requested_items),
        actor=record.actor,
        at=record.at,
    )


def review_detail(
    review: DepartmentReview,
    application: Application,
    history: Iterable[DecisionRecord],
    allowed_actions: Sequence[str],
) -> schemas.ReviewDetail:
    return schemas.ReviewDetail(
        **queue_item(review, application).model_dump(),
        key_fields=review.key_fields,
        suggested_opinion=review.suggested_opinion,
        decision=review.decision,
        decision_label=review.decision.label if review.decision else None,
        opinion=review.opinion,
        requested_items=[item_label(k) for k in review.requested_items],
        requestable_items=requestable_items(review.permit_codes),
        history=[decision(r) for r in history],
        allowed_actions=list(allowed_actions),
    )


def opinion(application: Application) -> schemas.OpinionOut:
    stored = dict(application.composite_opinion or {})
    html = stored.pop("html", None)
    outcome = Outcome(stored["outcome"])
    return schemas.OpinionOut(
        application_id=application.id,
        reference=application.reference,
        outcome=outcome,
        outcome_label=outcome.label,
        summary=stored.get("summary", ""),
        opinion=stored,
        html=html,
    )


# --- catalog --------------------------------------------------------------------------------------------


def industry(code: str, catalog: Catalog | None = None) -> schemas.IndustryOut:
    entry = (catalog or catalogs.catalog()).industries[code]
    return schemas.IndustryOut(
        code=entry.code,
        name=entry.name,
        description=entry.description,
        permit_count=len(entry.permits),
        condition_keys=entry.condition_keys,
    )


def merged_form(form: MergedForm) -> schemas.MergedFormOut:
    catalog = form.catalog
    return schemas.MergedFormOut(
        industry=industry(form.industry.code, catalog),
        conditions=dict(form.answers_to_conditions),
        permits=[
            schemas.PermitOut(
                code=p.code,
                name=p.name,
                department_code=p.department,
                department_name=catalog.departments[p.department].name,
                mandatory=p.mandatory,
                commitment=p.commitment.value if p.commitment else None,
                promised_days=p.promised_days,
            )
            for p in form.permits
        ],
        departments=[schemas.DepartmentOut(code=d.code, name=d.name) for d in form.departments],
        fields=[
            schemas.FormFieldOut(
                key=f.key,
                label=f.label,
                type=f.spec.type.value,
                section=f.spec.section,
                section_name=f.section_name,
                required=f.required,
                choices=list(f.spec.choices) if f.spec.choices else None,
                min=f.spec.min,
                max=f.spec.max,
                max_length=f.spec.length_cap,
                help=f.spec.help,
                permits=list(f.permits),
                departments=list(f.departments),
                condition_for=list(f.condition_for),
            )
            for f in form.fields
        ],
        materials=[
            schemas.FormMaterialOut(
                code=m.code,
                name=m.name,
                core=m.core,
                required_now=m.required_now,
                due_days=m.due_days,
                permits=list(m.permits),
            )
            for m in form.materials
        ],
        commitment_notice=form.commitment_notice,
    )


def obligation(row: Obligation) -> schemas.ObligationOut:
    catalog = catalogs.catalog()
    permit = catalog.permits.get(row.permit_code)
    return schemas.ObligationOut(
        id=row.id,
        license_id=row.license_id,
        permit_code=row.permit_code,
        permit_name=permit.name if permit else row.permit_code,
        permit_number=row.permit_number,
        department_code=row.department_code,
        department_name=department_name(row.department_code),
        kind=row.kind.value,
        kind_label=row.kind.label,
        commitment=row.commitment,
        materials=[schemas.ItemOut(key=m, label=catalogs.item_label(m), kind="material") for m in row.materials],
        due_on=row.due_on,
        status=row.status.value,
        status_label=row.status.label,
        rectify_due_on=row.rectify_due_on,
        publicity_until=row.publicity_until,
        note=row.note,
        statement=row.statement,
        statement_answer=row.statement_answer,
        repair_requested_on=row.repair_requested_on,
        repair_due_on=row.repair_due_on,
        provisional_dates=[
            name
            for name in ("due_on", "rectify_due_on", "publicity_until")
            if catalogs.calendar().provisional(getattr(row, name))
        ],
        version=row.version,
    )


def draw(session: Session, record: InspectionDraw, department: str | None) -> schemas.DrawOut:
    """A 双随机 draw as the actor may see it (a reviewer: its department's part of the selection)."""
    return schemas.DrawOut(
        id=record.id,
        drawn_at=record.drawn_at,
        drawn_on=record.drawn_on,
        day_sequence=record.day_sequence,
        reason=record.reason,
        drawn_by=inspections.drawer_name(session, record),
        seed=record.seed,
        quotas=dict(record.quotas),
        population_digest=record.population_digest,
        reproducible=inspections.replay(record) == record.selected,
        selected=[
            schemas.DrawnOut(
                department_code=code,
                permit_number=d.permit_number,
                permit_name=d.permit_name,
                holder_name=d.holder_name,
                license_number=d.license_number,
            )
            for code, items in inspections.drawn(session, record, department).items()
            for d in items
        ],
    )


def notification(rendered: Rendered) -> schemas.NotificationOut:
    return schemas.NotificationOut(
        id=rendered.id,
        event=rendered.event,
        subject=rendered.subject,
        body=rendered.body,
        created_at=rendered.created_at,
        read=rendered.read,
    )
