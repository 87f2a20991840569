"""Random on-site checks (双随机、一公开) of licenses issued on commitments: a supervisor draws, per department, a
quota of the permits granted on a commitment (全信任 / 非核心要件信任 / 要件后补) that are still in force. The draw
is seeded, and the seed, the quotas, the population and the selection are recorded and audited, so anyone can
recompute it (`replay`) and see that nobody picked the businesses by hand. Every draw is kept and listed, page by
page; drawing again on the same Beijing day (a redraw) needs a reason, recorded and shown with the draw, so
redrawing until the selection suits someone cannot pass unseen."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from onelicense import clock
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.licenses.status import LicenseStatus
from onelicense.review.roles import Actor, Role
from onelicense.review.sampling import draw, population_digest
from onelicense.services import catalog as catalogs
from onelicense.store import audit, inputs
from onelicense.store.db import transaction
from onelicense.store.tables.license import License, LicensePermit
from onelicense.store.tables.lifecycle import InspectionDraw, Obligation
from onelicense.store.tables.user import User

DRAWERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class Drawn:
    permit_number: str
    permit_name: str
    holder_name: str
    license_number: str


@dataclass(frozen=True)
class DrawPage:
    """One page of the draws an actor may see, newest first."""

    draws: list[InspectionDraw]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def population(session: Session) -> dict[str, list[str]]:
    """Per department, the numbers of its permits in force that were granted on a commitment."""
    rows = session.exec(
        select(LicensePermit.department_code, LicensePermit.number)
        .join(Obligation, col(Obligation.permit_number) == col(LicensePermit.number))
        .join(License, col(License.id) == col(LicensePermit.license_id))
        .where(
            col(LicensePermit.status) == LicenseStatus.VALID,
            col(License.status) == LicenseStatus.VALID,
        )
        .distinct()
    ).all()
    found: dict[str, list[str]] = {}
    for department, number in rows:
        found.setdefault(department, []).append(number)
    return {dept: sorted(numbers) for dept, numbers in found.items()}


def draw_inspections(
    session: Session,
    actor: Actor,
    quotas: Mapping[str, int],
    *,
    seed: str | None = None,
    reason: str | None = None,
) -> InspectionDraw:
    """Draw and record. `quotas`: department code → how many (0–1000); `seed`: given (to announce it beforehand) or
    made here at random; `reason`: why the day is drawn again, required for every draw after the day's first."""
    if actor.role not in DRAWERS:
        raise Forbidden("只有督办人员或管理员可以抽取双随机检查对象")
    departments = catalogs.catalog().departments
    clean: dict[str, int] = {}
    for code, count in dict(quotas).items():
        if code not in departments:
            raise InvalidRequest(f"未知部门：{code}（quotas）")
        if not isinstance(count, int) or not 0 <= count <= 1000:
            raise InvalidRequest(f"{departments[code].name}的抽查数量应为 0–1000 的整数（quotas）")
        if count:
            clean[code] = count
    if not clean:
        raise InvalidRequest("请至少为一个部门填写抽查数量（quotas）")
    seed = inputs.text(seed, "随机种子", required=False, max_length=64) or secrets.token_hex(8)
    note = inputs.text(reason, "重抽原因", required=False, max_length=500) or None
    now = clock.utcnow()
    day = clock.china_date(now)
    try:
        with transaction(session):
            earlier = session.exec(
                select(InspectionDraw)
                .where(InspectionDraw.drawn_on == day)
                .order_by(col(InspectionDraw.day_sequence).desc())
            ).first()
            if earlier is not None and note is None:
                raise InvalidRequest(
                    f"今日（{day.isoformat()}）已抽取 {earlier.day_sequence} 次，最近一次在 {clock.china_time(earlier.drawn_at)}："
                    "再次抽取须填写重抽原因（reason），原因将与抽取结果一并记录和显示"
                )
            members = {dept: numbers for dept, numbers in population(session).items() if dept in clean}
            record = InspectionDraw(
                seed=seed,
                drawn_at=now,
                drawn_on=day,
                day_sequence=earlier.day_sequence + 1 if earlier is not None else 1,
                reason=note,
                drawn_by=actor.label,
                quotas=clean,
                population=members,
                population_digest=population_digest(members),
                selected=draw(members, clean, seed),
            )
            session.add(record)
            session.flush()  # a draw of the same day at the same moment fails here, on (drawn_on, day_sequence)
            audit.record(session, actor, "inspection.draw", "inspection_draw", record.id, None,
                         {"seed": seed, "quotas": clean, "population_digest": record.population_digest,
                          "selected": record.selected, "drawn_on": day.isoformat(),
                          "day_sequence": record.day_sequence, "reason": note})  # fmt: skip
    except IntegrityError:
        raise Conflict("同一时间另有一次抽取已记录，请刷新页面查看；再次抽取须填写重抽原因") from None
    return record


def replay(record: InspectionDraw) -> dict[str, list[str]]:
    """The selection recomputed from what the draw recorded: equal to `record.selected` unless it was tampered with."""
    if population_digest(record.population) != record.population_digest:
        raise InvalidRequest("抽取记录的对象范围与其摘要不符")
    return draw(record.population, record.quotas, record.seed)


def list_draws(session: Session, actor: Actor, *, page: int = 1, page_size: int = 20) -> DrawPage:
    """Every draw, newest first, one page at a time: supervisors and admins see all of them; a department's
    reviewers see the draws that include it."""
    department = _department_filter(actor)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise InvalidRequest("页码必须是正整数")
    page_size = inputs.page_size(page_size)
    newest_first = (col(InspectionDraw.drawn_on).desc(), col(InspectionDraw.day_sequence).desc())
    start = (page - 1) * page_size
    if department is None:
        total = session.exec(select(func.count()).select_from(InspectionDraw)).one()
        rows = session.exec(select(InspectionDraw).order_by(*newest_first).offset(start).limit(page_size)).all()
        return DrawPage(list(rows), total, page, page_size)
    # quotas is JSON: the department is picked out here, over two narrow columns, the same way on both dialects
    ids = [
        draw_id
        for draw_id, quotas in session.exec(select(InspectionDraw.id, InspectionDraw.quotas).order_by(*newest_first))
        if department in quotas
    ]
    wanted = ids[start : start + page_size]
    found = {r.id: r for r in session.exec(select(InspectionDraw).where(col(InspectionDraw.id).in_(wanted)))}
    return DrawPage([found[i] for i in wanted], len(ids), page, page_size)


def department_scope(actor: Actor) -> str | None:
    """The department whose part of a draw the actor sees (None: every department's); Forbidden for others."""
    return _department_filter(actor)


def _department_filter(actor: Actor) -> str | None:
    """None: the actor sees every draw; a department code: only the draws that include it."""
    if actor.role in DRAWERS:
        return None
    if actor.role is Role.REVIEWER and actor.department_code:
        return actor.department_code
    raise Forbidden("无权查看双随机抽查记录")


def drawn(session: Session, record: InspectionDraw, department: str | None = None) -> dict[str, list[Drawn]]:
    """The selection with names, per department (or one department's part)."""
    result: dict[str, list[Drawn]] = {}
    for dept, numbers in record.selected.items():
        if department is not None and dept != department:
            continue
        rows = session.exec(
            select(LicensePermit, License)
            .join(License, col(License.id) == col(LicensePermit.license_id))
            .where(col(LicensePermit.number).in_(numbers))
            .order_by(col(LicensePermit.number))
        ).all()
        result[dept] = [Drawn(p.number, p.permit_name, lic.holder_name, lic.number) for p, lic in rows]
    return result


ROLE_NAMES = {Role.SUPERVISOR: "督办人员", Role.ADMIN: "管理员", Role.REVIEWER: "审批人员", Role.SYSTEM: "系统"}


def drawer_name(session: Session, record: InspectionDraw) -> str:
    """Who drew, as a person reads it: the account's name and role (the record keeps the actor's label)."""
    role, _, rest = record.drawn_by.partition(":")
    user = session.get(User, rest.partition("@")[0]) if rest else None
    role_name = ROLE_NAMES.get(Role(role), role) if role in Role._value2member_map_ else role
    return f"{user.name}（{role_name}）" if user is not None else record.drawn_by


def get_draw(session: Session, actor: Actor, draw_id: str) -> InspectionDraw:
    department = _department_filter(actor)
    record = session.get(InspectionDraw, draw_id)
    if record is None or (department is not None and department not in record.quotas):
        raise NotFound("抽查记录不存在")
    return record
