"""Aggregation (汇总): every department's decision folded into the composite approval opinion (综合审批意见),
recorded with the outcome it implies. The rules are pure (`review.aggregate`); this is where the stored rows
and the catalog's names become their inputs."""

from __future__ import annotations

from sqlmodel import Session

from onelicense.review.aggregate import ApplicationFacts, PermitFact, composite_opinion, render_composite_opinion
from onelicense.review.roles import SYSTEM_ACTOR, Actor
from onelicense.review.transitions import ApplicationStatus
from onelicense.services import applications, licenses, outbox_work, reviews
from onelicense.services import catalog as catalogs
from onelicense.store.tables.application import Application


def application_facts(application: Application) -> ApplicationFacts:
    """The application as the pure aggregation rules see it, names taken from the catalog in use."""
    catalog = catalogs.catalog()
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


def conclude(
    session: Session, application_id: str, message_id: str | None = None
) -> tuple[ApplicationStatus, str | None]:
    """汇总 → 综合审批意见 → 发证 on approval (the rule "approved → issue" lives here), and the outbox message
    that asked for it marked done. Safe to run twice: recording is idempotent and issuing exactly-once. Returns
    the application's status and the license number when one is issued."""
    status = aggregate(session, application_id).status
    number = None
    if status in (ApplicationStatus.APPROVED, ApplicationStatus.ISSUED):
        number = licenses.issue_license(session, SYSTEM_ACTOR, application_id).number
        status = ApplicationStatus.ISSUED
    if message_id is not None:
        outbox_work.done(session, message_id)  # committed by the caller's session scope, with the work
    return status, number


def aggregate(session: Session, application_id: str, *, actor: Actor = SYSTEM_ACTOR) -> Application:
    """Compose and record the composite opinion of an application awaiting aggregation (待汇总). An application
    whose outcome is recorded already, or that is not ready, is returned as it is: a redelivered message is
    harmless."""
    application = applications.get_application(session, actor, application_id)
    if application.status is not ApplicationStatus.AWAITING_AGGREGATION:
        return application
    opinion = composite_opinion(application_facts(application), reviews.review_facts(session, actor, application_id))
    document = {**opinion.to_dict(), "html": render_composite_opinion(opinion, catalogs.templates_dir())}
    return applications.record_aggregation(session, actor, application_id, document, opinion.outcome)
