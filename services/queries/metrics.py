"""What /metrics reports of the stored state, read at each scrape (a few GROUP BYs): the outbox per kind (due,
waiting for a retry, dead, the age of the oldest due), open reviews per department and colour (红黄绿灯), obligations,
applications and licenses per status, notices nobody could be reached by per channel. Plain data: the web layer
turns it into the Prometheus format. Nothing personal: counts by code only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from onelicense.clock import utcnow
from onelicense.review.roles import Actor, require_role
from onelicense.services.queries.supervision import department_lights, status_counts
from onelicense.store.access import OVERSEERS
from onelicense.store.tables.application import OutboxMessage
from onelicense.store.tables.license import License
from onelicense.store.tables.lifecycle import NotificationReceipt, Obligation


@dataclass(frozen=True)
class Gauge:
    name: str  # without the onelicense_ prefix
    help: str
    labels: tuple[str, ...]
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


def gauges(session: Session, actor: Actor, today: date) -> list[Gauge]:
    """Every gauge, for an overseer (admins; the scrape authenticates as one)."""
    require_role(actor, OVERSEERS, "查看运行指标")
    return [*_outbox(session), _reviews(session, today), _obligations(session), _applications(session),
            _licenses(session), _undelivered(session)]  # fmt: skip


@dataclass(frozen=True)
class Backlog:
    """The outbox per kind at `now`: (count, oldest next_attempt_at) due, count waiting for a retry, count dead."""

    now: datetime
    due: dict[str, tuple[int, datetime]]
    waiting: dict[str, int]
    dead: dict[str, int]


def outbox_backlog(session: Session) -> Backlog:
    """One read of the outbox's open work by kind: the gauges below and the readiness check use it."""
    now = utcnow()
    open_ = (col(OutboxMessage.done_at).is_(None), col(OutboxMessage.dead_at).is_(None))
    kind = col(OutboxMessage.kind)
    due = select(OutboxMessage.kind, func.count(), func.min(OutboxMessage.next_attempt_at)).where(
        *open_, col(OutboxMessage.next_attempt_at) <= now
    )
    waiting = select(OutboxMessage.kind, func.count()).where(*open_, col(OutboxMessage.next_attempt_at) > now)
    dead = select(OutboxMessage.kind, func.count()).where(
        col(OutboxMessage.done_at).is_(None), col(OutboxMessage.dead_at).is_not(None)
    )
    return Backlog(
        now,
        {k: (n, oldest) for k, n, oldest in session.exec(due.group_by(kind))},
        dict(session.exec(waiting.group_by(kind)).all()),
        dict(session.exec(dead.group_by(kind)).all()),
    )


def _outbox(session: Session) -> list[Gauge]:
    backlog = outbox_backlog(session)
    now = backlog.now
    return [
        Gauge("outbox_due", "后台工作：已到期待处理", ("kind",), [((k,), n) for k, (n, _) in backlog.due.items()]),
        Gauge("outbox_oldest_due_seconds", "后台工作：最早到期者已等待的秒数", ("kind",),
              [((k,), max(0.0, (now - oldest).total_seconds())) for k, (_, oldest) in backlog.due.items()]),
        Gauge("outbox_retry_waiting", "后台工作：失败后等待重试", ("kind",), [((k,), n) for k, n in backlog.waiting.items()]),
        Gauge("outbox_dead", "后台工作：死信（待管理员处理）", ("kind",), [((k,), n) for k, n in backlog.dead.items()]),
    ]  # fmt: skip


def _reviews(session: Session, today: date) -> Gauge:
    gauge = Gauge("reviews_open", "在办的部门审查：按部门与红黄绿灯", ("department", "level"))
    for lights in department_lights(session, today):
        for level in ("green", "yellow", "red", "past_statutory"):
            gauge.samples.append(((lights.department_code, level), getattr(lights, level)))
    return gauge


def _obligations(session: Session) -> Gauge:
    rows = session.exec(select(Obligation.status, func.count()).group_by(col(Obligation.status))).all()
    return Gauge("obligations", "承诺事项：按状态", ("status",), [((_code(s),), n) for s, n in rows])


def _applications(session: Session) -> Gauge:
    return Gauge("applications", "申请：按状态", ("status",), [((s.value,), n) for s, n in status_counts(session)])


def _licenses(session: Session) -> Gauge:
    rows = session.exec(select(License.status, func.count()).group_by(col(License.status))).all()
    return Gauge("licenses", "许可证：按存储状态（01 有效 02 暂扣 03 撤销 04 注销 05 吊销）", ("status",),
                 [((_code(s),), n) for s, n in rows])  # fmt: skip


def _undelivered(session: Session) -> Gauge:
    sent = select(col(NotificationReceipt.notification_id)).where(col(NotificationReceipt.result) == "sent")
    statement = (
        select(NotificationReceipt.channel, func.count(func.distinct(NotificationReceipt.notification_id)))
        .where(col(NotificationReceipt.result) == "no_address", col(NotificationReceipt.notification_id).not_in(sent))
        .group_by(col(NotificationReceipt.channel))
    )
    return Gauge("notifications_undelivered", "无法送达的通知：按渠道", ("channel",),
                 [((c,), n) for c, n in session.exec(statement)])  # fmt: skip


def _code(status: object) -> str:
    """A status as stored: an enum member's value, or the text itself."""
    return str(getattr(status, "value", status))
