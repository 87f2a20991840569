"""Dead letters (死信): outbox work that retrying cannot finish (a permanent error, or too many attempts), listed
for admins with the reason, who may retry it (after fixing the cause) or discard it with a reason. Audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from onelicense.errors import Conflict, Forbidden
from onelicense.review.roles import Actor, Role
from onelicense.store import audit, inputs, outbox
from onelicense.store.db import transaction
from onelicense.store.tables.application import Application, OutboxMessage

_KIND_LABELS = {
    outbox.DEPARTMENT_PUSH: "推送至部门系统",
    outbox.AGGREGATE: "汇总审批意见并发证",
    outbox.RENDER_PDF: "生成许可证文件",
    outbox.NOTIFY: "发送通知",
}


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    kind: str
    kind_label: str
    application_id: str
    reference: str
    department_code: str | None
    attempts: int
    last_error: str | None
    dead_at: datetime


def list_dead(session: Session, actor: Actor, limit: int = 100, offset: int = 0) -> list[DeadLetter]:
    _require_admin(actor)
    letters = []
    for message in outbox.dead_messages(session, inputs.page_size(limit), inputs.offset(offset)):
        application = session.get(Application, message.application_id)
        assert message.dead_at is not None
        letters.append(
            DeadLetter(
                message.id,
                message.kind,
                _KIND_LABELS.get(message.kind, message.kind),
                message.application_id,
                application.reference if application else "",
                message.department_code,
                message.attempts,
                message.last_error,
                message.dead_at,
            )
        )
    return letters


def count_dead(session: Session, actor: Actor) -> int:
    """How many dead letters `list_dead` pages through."""
    _require_admin(actor)
    return outbox.count_dead(session)


def retry(session: Session, actor: Actor, message_id: str, *, reason: str) -> None:
    """Put a dead letter back on the dispatcher's list, due at once."""
    _require_admin(actor)
    reason = inputs.text(reason, "原因", max_length=500)
    with transaction(session):
        message = _dead(session, message_id)
        before = audit.snapshot(message, "attempts", "last_error", "dead_at")
        outbox.revive(session, message_id)
        audit.record(session, actor, "outbox.retry", "outbox_message", message_id, before, {"reason": reason})


def discard(session: Session, actor: Actor, message_id: str, *, reason: str) -> None:
    """Give up on a dead letter for good (the work is done some other way, or not at all), with the reason."""
    _require_admin(actor)
    reason = inputs.text(reason, "原因", max_length=500)
    with transaction(session):
        message = _dead(session, message_id)
        before = audit.snapshot(message, "attempts", "last_error", "dead_at")
        message.done_at = message.dead_at
        session.add(message)
        audit.record(session, actor, "outbox.discard", "outbox_message", message_id, before, {"reason": reason})


def _dead(session: Session, message_id: str) -> OutboxMessage:
    message = outbox.get(session, message_id)
    if message.dead_at is None or message.done_at is not None:
        raise Conflict("该消息不在死信列表中")
    return message


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden("只有管理员可以处理死信")
