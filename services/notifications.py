"""Notifications to license holders (通知): one row per event in the holder's portal inbox, and one outbox message
per further channel (webhook — an SMS gateway or 短信平台 —, email over SMTP with STARTTLS), delivered by the
dispatcher with the outbox's leases, retries with backoff and dead letters: nothing is lost while a channel is
down, and a message is sent once it is back.

A notification's id is its dedupe key, so an event announced twice (a sweep run again) is stored once. The Chinese
text is rendered from `templates/notifications/<event>.txt.j2` (first line: the subject) once, when the notice is
made, and stored verbatim (rows a sweep inserts set-based get theirs when dispatched, in the same sweep): a notice is
served with fixed content, later facts make new notices. Addresses (phone, email) are looked up at sending time: no
personal data in the outbox, the logs or a flow's parameters."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import or_, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from onelicense import clock
from onelicense.clock import utcnow
from onelicense.errors import NotFound, Unavailable
from onelicense.forms.identifiers import mobile_problem
from onelicense.review.roles import Actor
from onelicense.services import catalog as catalogs
from onelicense.settings import get_settings
from onelicense.store import bulk, outbox, paging
from onelicense.store.db import transaction
from onelicense.store.tables.application import Application, DepartmentReview, OutboxMessage
from onelicense.store.tables.license import License, LicensePermit
from onelicense.store.tables.lifecycle import CreditRecord, Notification, NotificationReceipt, Obligation
from onelicense.store.tables.user import User
from onelicense.templating import environment

log = logging.getLogger("onelicense.notifications")

NOTIFY = outbox.NOTIFY
SMS_PREFIX = "【一业一证】"
CHANNELS = ("webhook", "email")

EVENTS: dict[str, str] = {
    "accepted": "申请已提交",
    "supplement_requested": "请补正材料",
    "decided": "审批结果",
    "issued": "许可证已签发",
    "obligation_reminder": "承诺履约提醒",
    "obligation_overdue": "承诺逾期未履行",
    "fulfilment_accepted": "履约材料核验通过",
    "fulfilment_rejected": "履约材料核验不通过",
    "inspection_passed": "事后核查合格",
    "rectification": "责令限期整改",
    "rectification_lapsed": "整改期满未整改",
    "investigation": "立案调查并公示",
    "listed": "列入失信名单",
    "restored": "信用修复",
    "permit_withdrawn": "许可被撤销",
    "license_changed": "许可状态变更",
    "license_ended": "许可证已终止",
    "renewal_due": "许可即将到期",
    "permit_expired": "许可已失效",
    "reissued": "许可证已换发新版",
    "deadline_moved": "期限已按节假日安排校正",
    "statement_answered": "陈述申辩已答复",
    "repair_declined": "信用修复申请未通过",
}


class ChannelFailed(Unavailable):
    """A channel did not take the message: the outbox tries again later."""


def notify(
    session: Session,
    event: str,
    key: str,
    *,
    user_id: str | None,
    application_id: str | None,
    obligation_id: str | None = None,
    permit_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Announce `event` to the holder (no commit: written with the caller's change). `key` makes it unique."""
    assert event in EVENTS, event
    notification_id = f"{event}:{key}"[:96]
    row = {
        "id": notification_id,
        "event": event,
        "user_id": user_id,
        "application_id": application_id,
        "obligation_id": obligation_id,
        "permit_id": permit_id,
        "detail": detail,
        "created_at": utcnow(),
    }
    session.flush()  # the facts this change made are what the notice states
    made = Notification(
        id=notification_id,
        event=event,
        user_id=user_id,
        application_id=application_id,
        obligation_id=obligation_id,
        permit_id=permit_id,
        detail=detail,
    )
    subject, body = _text(session, made)
    bulk.insert_missing(session, Notification, [{**row, "subject": subject, "body": body}])


def dispatch_pending(session: Session, limit: int = 500) -> int:
    """Write the outbox messages of the configured channels for notifications not yet dispatched (the sweep and
    `notify` write rows only). Commits; returns how many notifications were dispatched."""
    channels = [c for c in get_settings().notify_channels if c in CHANNELS]
    with transaction(session):
        pending = session.exec(
            select(Notification)
            .where(col(Notification.dispatched_at).is_(None))
            .order_by(col(Notification.created_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        now = utcnow()
        _fix_texts(session, pending)
        for notification in pending:
            if notification.application_id and notification.user_id:
                for channel in channels:
                    outbox.enqueue(
                        session,
                        NOTIFY,
                        notification.application_id,
                        payload={"notification_id": notification.id, "channel": channel},
                    )
        if pending:
            session.execute(
                update(Notification)
                .where(col(Notification.id).in_([n.id for n in pending]))
                .values(dispatched_at=now)
                .execution_options(synchronize_session=False)
            )
    return len(pending)


# ------------------------------------------------------------------------------------------------ the text


@dataclass(frozen=True)
class Rendered:
    id: str
    event: str
    subject: str
    body: str
    created_at: datetime
    read: bool


def render(session: Session, notification: Notification) -> Rendered:
    """The notification's Chinese subject and text as served: stored when it was made; a row without (a sweep's,
    or one made before migration 0013) gets its text now, kept from then on (the caller commits)."""
    if notification.body is None:
        _fix_texts(session, [notification])
    return Rendered(
        notification.id,
        notification.event,
        notification.subject or "",
        notification.body or "",
        notification.created_at,
        notification.read_at is not None,
    )


def _text(session: Session, notification: Notification) -> tuple[str, str]:
    """(subject, body) from the event's template and the rows the notification refers to, as they stand now."""
    context = _context(session, notification)
    text = environment(catalogs.templates_dir()).get_template(f"notifications/{notification.event}.txt.j2")
    subject, _, body = text.render(**context).strip().partition("\n")
    return subject.strip(), body.strip()


def _fix_texts(session: Session, rows: Sequence[Notification]) -> None:
    """Render and store the text of the rows that have none yet (no commit), only where none was stored meanwhile."""
    for notification in rows:
        if notification.body is not None:
            continue
        subject, body = _text(session, notification)
        session.execute(
            update(Notification)
            .where(col(Notification.id) == notification.id, col(Notification.body).is_(None))
            .values(subject=subject, body=body)
            .execution_options(synchronize_session=False)
        )
        set_committed_value(notification, "subject", subject)  # what the row holds now: no second UPDATE
        set_committed_value(notification, "body", body)


def _context(session: Session, notification: Notification) -> dict[str, Any]:
    catalog = catalogs.catalog()
    application = session.get(Application, notification.application_id) if notification.application_id else None
    obligation = session.get(Obligation, notification.obligation_id) if notification.obligation_id else None
    permit = session.get(LicensePermit, notification.permit_id) if notification.permit_id else None
    license_ = None
    if obligation is not None:
        license_ = session.get(License, obligation.license_id)
    elif permit is not None:
        license_ = session.get(License, permit.license_id)
    elif application is not None:
        license_ = session.exec(select(License).where(License.application_id == application.id)).first()
    permit_code = obligation.permit_code if obligation else permit.permit_code if permit else None
    materials = [
        catalog.materials[m].name if m in catalog.materials else m for m in (obligation.materials if obligation else [])
    ]
    record = (
        session.exec(select(CreditRecord).where(CreditRecord.obligation_id == obligation.id)).first()
        if obligation is not None
        else None
    )
    return {
        "title": EVENTS[notification.event],
        "holder_name": license_.holder_name if license_ else application.holder_name if application else "",
        "reference": application.reference if application else "",
        "license_number": license_.number if license_ else "",
        "permit_name": catalog.permits[permit_code].name if permit_code in catalog.permits else permit_code or "",
        "permit_number": permit.number if permit else obligation.permit_number if obligation else "",
        "valid_until": permit.valid_until if permit else None,
        "obligation": obligation,
        "materials": materials,
        "detail": notification.detail or "",
        "listed_until": record.blocked_until if record else None,
        "repair_opens_on": record.listed_on + timedelta(days=get_settings().credit_repair_min_days) if record else None,
        "portal_url": get_settings().public_base_url.rstrip("/") + "/portal",
        "today": clock.today(),
        "provisional": catalogs.calendar(session).provisional,
    }


# ------------------------------------------------------------------------------------------------ the inbox


def inbox(session: Session, actor: Actor, limit: int = 50, offset: int = 0) -> tuple[list[Rendered], int]:
    """The holder's notifications, newest first, and how many are unread."""
    rows = session.exec(
        _own(actor).order_by(col(Notification.created_at).desc(), col(Notification.id)).offset(offset).limit(limit)
    ).all()
    unread = session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == actor.user_id, col(Notification.read_at).is_(None))
    ).one()
    with transaction(session):  # a row shown for the first time keeps the text shown
        shown = [render(session, n) for n in rows]
    return shown, int(unread)


def count_inbox(session: Session, actor: Actor) -> int:
    """How many notifications `inbox` pages through."""
    return paging.count_rows(session, _own(actor))


def _own(actor: Actor) -> SelectOfScalar[Notification]:
    return select(Notification).where(Notification.user_id == actor.user_id)


def mark_read(session: Session, actor: Actor, notification_id: str) -> None:
    with transaction(session):
        notification = session.get(Notification, notification_id)
        if notification is None or notification.user_id != actor.user_id:
            raise NotFound("通知不存在")
        if notification.read_at is None:
            notification.read_at = utcnow()
            session.add(notification)


# ------------------------------------------------------------------------------------------------ sending


def deliver(session: Session, message: OutboxMessage) -> None:
    """Send one notification by one channel, with a receipt of the attempt (NotificationReceipt); raises
    ChannelFailed (retry later, the failure's receipt kept) when the channel does not take it. With no address on
    that channel the receipt says so (`no_address`): the notice shows as undelivered to the department and the
    supervisor, it never passes as sent.

    Addresses, looked up now: for SMS the account's phone once confirmed by a code (or set by an administrator),
    else the application's 联系电话 — the applicant agreed in the signed 告知承诺书 to be notified there; for email
    the application's 电子邮箱."""
    notification = session.get(Notification, str(message.payload.get("notification_id")))
    if notification is None:
        raise NotFound("通知不存在")
    channel = str(message.payload.get("channel"))
    if channel not in CHANNELS:
        raise NotFound(f"未知的通知渠道：{channel}")
    rendered = render(session, notification)
    address, source = _address(session, notification, channel)
    if address is None:
        _receipt(session, notification, channel, "no_address", None)
        return
    try:
        if channel == "webhook":
            _post_webhook(str(get_settings().notify_webhook_url), address, rendered, notification.id)
        else:
            _send_email(address, rendered, notification.id)
    except ChannelFailed as exc:
        _receipt(session, notification, channel, "failed", source, str(exc))
        session.commit()  # the attempt is on record even though the message is tried again
        raise
    _receipt(session, notification, channel, "sent", source)


def _address(session: Session, notification: Notification, channel: str) -> tuple[str | None, str | None]:
    """(address, where it came from) for `channel`, or (None, None) when the channel is not set up or nobody can
    be reached on it."""
    settings = get_settings()
    application = session.get(Application, notification.application_id) if notification.application_id else None
    answers = dict(application.answers or {}) if application else {}
    if channel == "webhook":
        if not settings.notify_webhook_url:
            return None, None
        user = session.get(User, notification.user_id) if notification.user_id else None
        if user is not None and user.phone and user.phone_verified_at is not None:
            return user.phone, "account"
        contact = str(answers.get("contact_phone") or "").strip()  # a landline takes no SMS
        return (contact, "application") if contact and mobile_problem(contact) is None else (None, None)
    address = str(answers.get("email") or "").strip()
    if not settings.smtp_host or not address:
        return None, None
    return address, "application"


def _receipt(
    session: Session, notification: Notification, channel: str, result: str, source: str | None, detail: str = ""
) -> None:
    session.add(
        NotificationReceipt(
            notification_id=notification.id, channel=channel, result=result, address_source=source,
            detail=detail or None,
        )
    )  # fmt: skip


def _undelivered_ids() -> SelectOfScalar[str]:
    """The ids of notices with a `no_address` receipt and none `sent` (a subquery, on aliases of the receipts so
    that it never correlates with an outer query on them)."""
    tried, sent = aliased(NotificationReceipt), aliased(NotificationReceipt)
    delivered = select(col(sent.notification_id)).where(col(sent.result) == "sent")
    return select(col(tried.notification_id)).where(
        col(tried.result) == "no_address", col(tried.notification_id).not_in(delivered)
    )


def undelivered_obligations(session: Session, department_code: str) -> set[str]:
    """The department's obligations with a notice nobody could be reached by: the desk marks them."""
    statement = (
        select(Notification.obligation_id)
        .join(Obligation, col(Obligation.id) == col(Notification.obligation_id))
        .where(col(Obligation.department_code) == department_code, col(Notification.id).in_(_undelivered_ids()))
    )
    return {str(o) for o in session.exec(statement) if o}


@dataclass(frozen=True)
class UndeliveredNotice:
    """A notice about the department's work that nobody could be reached by: the desk lists it."""

    reference: str  # the application's 申请编号
    holder_name: str
    subject: str
    created_at: datetime


def undelivered_for_department(session: Session, department_code: str, limit: int = 50) -> list[UndeliveredNotice]:
    """Notices nobody could be reached by about an application the department reviews or an obligation it owns,
    newest first: the department can then reach the holder another way."""
    reviewed = select(DepartmentReview.application_id).where(col(DepartmentReview.department_code) == department_code)
    owned = select(Obligation.id).where(col(Obligation.department_code) == department_code)
    statement = (
        select(Notification, Application)
        .join(Application, col(Application.id) == col(Notification.application_id))
        .where(
            col(Notification.id).in_(_undelivered_ids()),
            or_(col(Notification.application_id).in_(reviewed), col(Notification.obligation_id).in_(owned)),
        )
        .order_by(col(Notification.created_at).desc())
        .limit(limit)
    )
    return [
        UndeliveredNotice(application.reference, application.holder_name, notice.subject or notice.event,
                          notice.created_at)
        for notice, application in session.exec(statement)
    ]  # fmt: skip


@dataclass(frozen=True)
class Undelivered:
    """Notices no channel delivered because nobody could be reached (no phone, no email): per channel."""

    channel: str
    count: int
    notification_ids: tuple[str, ...]  # at most 20


def undelivered(session: Session) -> list[Undelivered]:
    """Notices no channel could deliver for want of an address, per channel, for the supervisor's board."""
    statement = (
        select(col(NotificationReceipt.channel), col(NotificationReceipt.notification_id))
        .where(
            col(NotificationReceipt.result) == "no_address",
            col(NotificationReceipt.notification_id).in_(_undelivered_ids()),
        )
        .distinct()
        .order_by(col(NotificationReceipt.channel), col(NotificationReceipt.notification_id))
    )
    found: dict[str, list[str]] = {}
    for channel, notification_id in session.exec(statement):
        found.setdefault(channel, []).append(notification_id)
    return [Undelivered(c, len(ids), tuple(ids[:20])) for c, ids in sorted(found.items())]


def _post_webhook(url: str, phone: str, rendered: Rendered, key: str) -> None:
    try:
        response = httpx.post(
            url,
            # the text leads with the sender's fixed signature and the subject, never with what a user typed
            json={
                "to": phone,
                "subject": rendered.subject,
                "text": f"{SMS_PREFIX}{rendered.subject}：{rendered.body}",
                "id": key,
            },
            headers={"Idempotency-Key": key},
            timeout=get_settings().department_push_timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise ChannelFailed(f"webhook: {type(exc).__name__}") from exc
    if response.status_code >= 300:
        raise ChannelFailed(f"webhook: HTTP {response.status_code}")


def _send_email(address: str, rendered: Rendered, key: str) -> None:
    settings = get_settings()
    assert settings.smtp_host is not None
    email = EmailMessage()
    email["From"] = settings.smtp_sender
    email["To"] = address
    email["Subject"] = rendered.subject
    email["Message-ID"] = f"<{key.replace(':', '.')}@onelicense>"  # lets a mail system drop a repeat
    email.set_content(rendered.body)
    context = ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=context)
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelFailed(f"email: {type(exc).__name__}") from exc
